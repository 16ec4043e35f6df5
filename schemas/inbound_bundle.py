"""Bundles (contract §2): message Bundles as one event; collections entry by entry.

- ``message``: the first entry must be a MessageHeader. ``eventCoding`` from the Da Vinci
  notification-event system, ``notification-admit``/``notification-discharge``, makes an
  admission/discharge of the Encounter its ``focus`` resolves to (the kind comes from the
  event code; the Encounter gives patient, time and disposition). Any other event is
  ignored. Identity: ``Bundle/<id>``, else ``identifier.value``, else a content hash;
  ``ref`` is the focus Encounter. Problems anywhere dead-letter the whole message.
- ``collection``/``batch``/``transaction`` (and ``searchset``/``history``, the shapes
  servers export): each entry on its own, as if sent alone, except that references equal
  to another entry's ``fullUrl`` resolve to that entry. A problem dead-letters only its
  entry (the entry re-serialized as ``raw``). Entries with no ``resource`` (a transaction
  DELETE) carry nothing to read and are skipped.
- Any other type (``document``, ``*-response``…) is ignored.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from pipeline.events import Event
from schemas.codes import NOTIFICATION_EVENT
from schemas.inbound_dispatch import invalid, resource_into
from schemas.inbound_encounter import admitted, discharged
from schemas.inbound_fields import ID_RE, Ctx, Json, array, content_hash, obj, required, string
from schemas.inbound_problem import Problem, show
from schemas.inbound_refs import reference, split_reference
from schemas.inbound_types import Ingested

ENTRYWISE = frozenset({"collection", "batch", "transaction", "searchset", "history"})
_BUILDERS: dict[str, Callable[[Json, Ctx, str, str | None], Event]] = {
    "notification-admit": admitted,
    "notification-discharge": discharged,
}
Nested = Callable[[Ingested, Json, bytes], None]


def bundle_into(out: Ingested, doc: Json, raw: bytes, ctx: Ctx, nested: Nested) -> None:
    try:
        btype = required(string(doc, "type", "type"), "type", "(Bundle.type is 1..1)")
        if btype != "message" and btype not in ENTRYWISE:
            out.ignored += 1
            return
        entries = array(doc, "entry", "entry")
        ctx.index = _index(entries)
        events = _message(doc, entries, ctx) if btype == "message" else None
    except Problem as p:
        out.errors.append(invalid(p, "Bundle", raw))
        return
    if btype != "message":
        _entries_into(out, entries, ctx, nested)
    elif events is None:
        out.ignored += 1
    else:
        out.events.extend(events)


def _index(entries: list[object]) -> dict[str, Json]:
    """fullUrl and ``Type/id`` of each well-formed entry → its resource."""
    index: dict[str, Json] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(res := entry.get("resource"), dict):
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            index[full_url] = res
        rtype, rid = res.get("resourceType"), res.get("id")
        if isinstance(rtype, str) and isinstance(rid, str):
            index.setdefault(f"{rtype}/{rid}", res)
    return index


def _entries_into(out: Ingested, entries: list[object], ctx: Ctx, nested: Nested) -> None:
    before = (len(out.events), out.ignored, len(out.errors))
    for i, entry in enumerate(entries):
        root = f"Bundle.entry[{i}]"
        try:
            res = _entry_resource(entry)
        except Problem as p:
            out.errors.append(invalid(p, root, entry))
            continue
        if res is None:
            continue
        rtype = res["resourceType"]
        if rtype == "Bundle":
            nested(out, res, orjson.dumps(res))
        else:
            resource_into(out, res, rtype, ctx, f"{root}.resource", entry)
    if (len(out.events), out.ignored, len(out.errors)) == before:
        out.ignored += 1  # an empty Bundle: valid, and still accounted for


def _entry_resource(entry: object) -> Json | None:
    if not isinstance(entry, dict):
        raise Problem("", f"expected an entry object, got {show(entry)}", "structure")
    res = obj(entry, "resource", "resource")
    if res is not None:
        rtype = string(res, "resourceType", "resource.resourceType")
        required(rtype, "resource.resourceType", "(the entry is not a FHIR resource)")
    return res


def _message(doc: Json, entries: list[object], ctx: Ctx) -> list[Event] | None:
    header = _header(entries)
    coding = obj(header, "eventCoding", "entry[0].resource.eventCoding")
    if coding is None:
        if header.get("eventUri") is not None:
            return None
        raise Problem("entry[0].resource.eventCoding", "required (event[x] is 1..1)", "required")
    system = string(coding, "system", "entry[0].resource.eventCoding.system")
    code = string(coding, "code", "entry[0].resource.eventCoding.code")
    build = _BUILDERS.get(code or "") if system == NOTIFICATION_EVENT else None
    if build is None:
        return None
    j, enc = _focus(header, entries, ctx)
    rid = enc.get("id")
    ref = f"Encounter/{rid}" if isinstance(rid, str) and ID_RE.fullmatch(rid) else None
    try:
        return [build(enc, ctx, _bundle_identity(doc), ref)]
    except Problem as p:
        p.path = f"entry[{j}].resource.{p.path}" if p.path else f"entry[{j}].resource"
        raise


def _header(entries: list[object]) -> Json:
    if not entries:
        raise Problem("entry", "a message Bundle needs a MessageHeader first entry", "required")
    res = _entry_resource(entries[0])
    rtype = res.get("resourceType") if res else None
    if res is None or rtype != "MessageHeader":
        what = f"{'an' if rtype[:1] in 'AEIOU' else 'a'} {rtype}" if rtype else "no resource"
        raise Problem("entry[0]", f"the first entry is {what}, not a MessageHeader", "structure")
    return res


def _focus(header: Json, entries: list[object], ctx: Ctx) -> tuple[int, Json]:
    """Position and resource of the first ``focus`` that is an Encounter of this Bundle."""
    path = "entry[0].resource.focus"
    refs = [reference(f, f"{path}[{i}]") for i, f in enumerate(array(header, "focus", path))]
    for ref in refs:
        res = _resolve(ref, ctx) if ref else None
        if res is not None and res.get("resourceType") == "Encounter":
            return _position(entries, res), res
    if not refs:
        raise Problem(path, "required: the notification has no focus", "required")
    raise Problem(f"{path}[0].reference", f"{refs[0]!r} does not resolve to an Encounter entry")


def _resolve(ref: str, ctx: Ctx) -> Json | None:
    """The entry ``ref`` names: by fullUrl, else by its ``Type/id`` (absolute URLs too)."""
    found = ctx.index.get(ref)
    if found is None and (parts := split_reference(ref)) is not None:
        found = ctx.index.get(f"{parts[0]}/{parts[1]}")
    return found


def _position(entries: list[object], res: Json) -> int:
    return next(i for i, e in enumerate(entries) if isinstance(e, dict) and e["resource"] is res)


def _bundle_identity(doc: Json) -> str:
    bid = string(doc, "id", "id")
    if bid:
        return f"Bundle/{bid}"
    ident = obj(doc, "identifier", "identifier")
    value = string(ident, "value", "identifier.value") if ident else None
    return value or f"Bundle#{content_hash(doc)}"
