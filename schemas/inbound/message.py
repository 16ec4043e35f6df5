"""Message Bundles (contract §2, Da Vinci Unsolicited Notifications): one event or none.

The first entry must be a MessageHeader. ``eventCoding`` from the Da Vinci
notification-event system, ``notification-admit``/``notification-discharge``, makes an
admission/discharge of the Encounter its ``focus`` resolves to (the kind comes from the
event code; the Encounter gives patient, time and disposition). Any other event is
ignored. Identity: ``Bundle/<id>``, else ``identifier.value``, else a content hash; ``ref``
is the focus Encounter. A message is one document: every entry must be well formed (an
object, with a string ``fullUrl`` and an object ``resource`` when present), and a problem
anywhere dead-letters the whole message, located from the Bundle (``Bundle.entry[1]…``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pipeline.events import Event
from schemas.codes import NOTIFICATION_EVENT
from schemas.inbound.encounter import admitted, discharged
from schemas.inbound.fields import (
    ID_RE,
    TYPE_RE,
    Ctx,
    Json,
    array,
    content_hash,
    fhir_id,
    obj,
    string,
)
from schemas.inbound.problem import Problem, show
from schemas.inbound.refs import reference, split_reference

T = TypeVar("T")
R = TypeVar("R")

_BUILDERS: dict[str, Callable[[Json, Ctx, str, str | None], Event]] = {
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


def message_events(doc: Json, entries: list[object], ctx: Ctx) -> list[Event] | None:
    """The event of a message Bundle, ``None`` for another notification, or a Problem."""
    resources = [_at(j, entry_resource, e) for j, e in enumerate(entries)]
    header = _header(resources)
    coding = obj(header, "eventCoding", f"{_HEADER}.eventCoding")
    if coding is None:
        if header.get("eventUri") is not None:
            return None
        raise Problem(f"{_HEADER}.eventCoding", "required (event[x] is 1..1)", "required")
    system = string(coding, "system", f"{_HEADER}.eventCoding.system")
    code = string(coding, "code", f"{_HEADER}.eventCoding.code")
    build = _BUILDERS.get(code or "") if system == NOTIFICATION_EVENT else None
    if build is None:
        return None
    identity = _bundle_identity(doc)
    j, enc = _focus(header, resources, ctx)
    rid = enc.get("id")
    ref = f"Encounter/{rid}" if isinstance(rid, str) and ID_RE.fullmatch(rid) else None
    return [_at(j, lambda e: build(e, ctx, identity, ref), enc, "resource")]


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
        res = _resolve(ref, ctx) if ref else None
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


def _resolve(ref: str, ctx: Ctx) -> Json | None:
    """The entry ``ref`` names: by fullUrl, else by its ``Type/id`` (absolute URLs too)."""
    found = ctx.index.get(ref)
    if found is None and (parts := split_reference(ref)) is not None:
        found = ctx.index.get(f"{parts[0]}/{parts[1]}")
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
