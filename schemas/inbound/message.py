"""Message Bundles (contract §2, Da Vinci Unsolicited Notifications): one event or none.

The first entry must be a MessageHeader. ``eventCoding`` from the Da Vinci
notification-event system, ``notification-admit``/``notification-discharge``, makes an
event of the Encounter its ``focus`` resolves to: an admission/discharge (by the event
code) when the Encounter's class is IMP/ACUTE/NONAC, an ED visit when it is EMER/OBSENC
(either code: an ED visit is not an admission); another class is ignored, and so is any
other event. A focus marked ``entered-in-error`` is a retraction of that Encounter (a
death discharge reversed). The Encounter gives patient, time, disposition and scope; the message's
Condition entries whose ``encounter`` is the focus count for the scope only (they are not
``condition`` events), and its Patient entry is context only (no ``death``). Identity:
``Bundle/<id>``, else ``identifier.value``, else a content hash; ``ref`` is the focus
Encounter. A message is one document: every entry must be well formed, and a problem
anywhere dead-letters the whole message, located from the Bundle (``Bundle.entry[1]…``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pipeline.events import Event
from schemas.codes import NOTIFICATION_EVENT
from schemas.inbound.context import Ctx, enter
from schemas.inbound.encounter import (
    EMERGENCY,
    INPATIENT,
    admitted,
    discharged,
    ed_visited,
    withdrawn,
)
from schemas.inbound.fields import ID_RE, TYPE_RE, Json, array, content_hash, fhir_id, obj, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome, cut
from schemas.inbound.refs import reference, resolve
from schemas.inbound.stay import v3_class

T = TypeVar("T")
R = TypeVar("R")

Builder = Callable[[Json, Ctx, str, str | None, list[Json]], Event]
_STAYS: dict[str, Builder] = {
    "notification-admit": admitted,
    "notification-discharge": discharged,
}
_HEADER = "entry[0].resource"
#: Longest ``identifier.value`` used as an event identity (it travels in every event).
MAX_IDENTIFIER = 256


def entry_resource(entry: object) -> Json | None:
    """The resource of a Bundle entry (``None``: a transaction DELETE, nothing to read)."""
    if not isinstance(entry, dict):
        raise Problem("", f"expected an entry object, got {show(entry)}", "structure")
    string(entry, "fullUrl", "fullUrl")
    res = obj(entry, "resource", "resource")
    if res is not None:
        rtype = string(res, "resourceType", "resource.resourceType")
        if rtype is None:
            why = "required (the entry is not a FHIR resource)"
            raise Problem("resource.resourceType", why, "required")
        if not TYPE_RE.fullmatch(rtype):
            raise Problem("resource.resourceType", f"{show(rtype)} is not a FHIR resource type")
    return res


def message_events(doc: Json, entries: list[object], ctx: Ctx) -> Outcome:
    """The event of a message Bundle, why it is ignored, or a Problem."""
    resources = [_at(j, entry_resource, e) for j, e in enumerate(entries)]
    header = _header(resources)
    coding = obj(header, "eventCoding", f"{_HEADER}.eventCoding")
    if coding is None:
        if header.get("eventUri") is not None:
            return "MessageHeader.eventUri: only Da Vinci eventCoding notifications are read"
        raise Problem(f"{_HEADER}.eventCoding", "required (event[x] is 1..1)", "required")
    system = string(coding, "system", f"{_HEADER}.eventCoding.system")
    code = string(coding, "code", f"{_HEADER}.eventCoding.code")
    if system != NOTIFICATION_EVENT:
        why = "is not the Da Vinci notification-event system"
        return f"MessageHeader.eventCoding: system {cut(str(system))} {why}"
    if code not in _STAYS:
        why = "is not an admit or discharge notification"
        return f"MessageHeader.eventCoding: {cut(str(code))} {why}"
    identity = _bundle_identity(doc)
    j, enc = _focus(header, resources, ctx)
    cls = _at(j, v3_class, enc, "resource")
    build = _STAYS[code] if cls in INPATIENT else ed_visited if cls in EMERGENCY else None
    if build is None:
        why = "is not an inpatient (IMP, ACUTE, NONAC) or emergency (EMER, OBSENC) class"
        return f"Encounter.class: {cut(str(cls))} {why} (message focus)"
    _at(j, lambda e: enter(ctx, e), enc, "resource")
    if enc.get("status") == "entered-in-error":  # a correction sent as a notification
        return _at(j, lambda e: withdrawn(e, ctx), enc, "resource")
    rid = enc.get("id")
    ref = f"Encounter/{rid}" if isinstance(rid, str) and ID_RE.fullmatch(rid) else None
    conditions = _conditions_of(enc, resources, ctx)
    return [_at(j, lambda e: build(e, ctx, identity, ref, conditions), enc, "resource")]


def _at(j: int, read: Callable[[T], R], item: T, inner: str = "") -> R:
    """``read(item)`` with a Problem's path moved under ``entry[j]`` (and ``inner``)."""
    try:
        return read(item)
    except Problem as p:
        prefix = f"entry[{j}].{inner}" if inner else f"entry[{j}]"
        p.path = f"{prefix}.{p.path}" if p.path else prefix
        raise


def _header(resources: list[Json | None]) -> Json:
    if not resources:
        raise Problem("entry", "a message Bundle needs a MessageHeader first entry", "required")
    res = resources[0]
    rtype = res.get("resourceType") if res else None
    if res is None or rtype != "MessageHeader":
        what = f"{'an' if rtype[:1] in 'AEIOU' else 'a'} {rtype}" if rtype else "no resource"
        raise Problem("entry[0]", f"the first entry is {what}, not a MessageHeader", "structure")
    return res


def _focus(header: Json, resources: list[Json | None], ctx: Ctx) -> tuple[int, Json]:
    """Position and resource of the first ``focus`` that is an Encounter of this Bundle."""
    path = f"{_HEADER}.focus"
    refs = [reference(f, f"{path}[{i}]") for i, f in enumerate(array(header, "focus", path))]
    for ref in refs:
        res = resolve(ref, ctx) if ref else None
        if res is not None and res.get("resourceType") == "Encounter":
            return next(j for j, r in enumerate(resources) if r is res), res
    if not refs:
        raise Problem(path, "required: the notification has no focus", "required")
    first = next((r for r in refs if r), None)
    if first is None:
        why = "required: a literal reference to the Encounter entry"
        raise Problem(f"{path}[0].reference", why, "required")
    where = f"{path}[{refs.index(first)}].reference"
    raise Problem(where, f"{show(first)} does not resolve to an Encounter entry")


def _conditions_of(enc: Json, resources: list[Json | None], ctx: Ctx) -> list[Json]:
    """The Condition entries whose ``encounter`` resolves to ``enc`` (read leniently)."""
    found: list[Json] = []
    for res in resources:
        if res is None or res.get("resourceType") != "Condition":
            continue
        holder = res.get("encounter")
        ref = holder.get("reference") if isinstance(holder, dict) else None
        if isinstance(ref, str) and resolve(ref, ctx) is enc:
            found.append(res)
    return found


def _bundle_identity(doc: Json) -> str:
    bid = string(doc, "id", "id")
    if bid is not None:
        return f"Bundle/{fhir_id(bid, 'id')}"
    ident = obj(doc, "identifier", "identifier")
    value = string(ident, "value", "identifier.value") if ident else None
    if value is not None and len(value) > MAX_IDENTIFIER:
        raise Problem("identifier.value", f"longer than {MAX_IDENTIFIER} characters")
    return value or f"Bundle#{content_hash(doc)}"
