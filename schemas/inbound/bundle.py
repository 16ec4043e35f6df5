"""Bundles (contract §2): message Bundles as one event; collections entry by entry.

- ``message``: see :mod:`schemas.inbound.message`. Problems anywhere dead-letter the whole
  message.
- ``collection``/``batch``/``transaction`` (and ``searchset``/``history``, the shapes
  servers export): each entry on its own, as if sent alone, except that references equal
  to another entry's ``fullUrl`` resolve to that entry. A problem invalidates only its
  entry: the other entries still yield their events (the document's one dead letter lists
  every problem, with the document as it came). Entries with no ``resource`` (a transaction
  DELETE) carry nothing to read and are skipped. A Bundle inside a collection is read as
  if sent alone, and its problems are located from the outer Bundle
  (``Bundle.entry[2].resource.entry[0].resource.subject``).
- Any other R4 type (``document``, ``*-response``…) is ignored; a ``type`` that is no
  Bundle type at all is invalid input.

Every ignored document or entry is recorded with its reason; an empty collection is
recorded as ignored too (valid, and still accounted for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from schemas.codes import BUNDLE_TYPES
from schemas.inbound.context import Ctx
from schemas.inbound.dispatch import ignore, invalid, resource_into
from schemas.inbound.fields import Json, array, known, required, string
from schemas.inbound.message import entry_resource, message_events
from schemas.inbound.problem import Problem
from schemas.inbound.reasons import cut
from schemas.inbound.types import Ingested, InvalidInput

ENTRYWISE = frozenset({"collection", "batch", "transaction", "searchset", "history"})
Nested = Callable[[Ingested, Json, bytes], None]


def bundle_into(out: Ingested, doc: Json, raw: bytes, ctx: Ctx, nested: Nested) -> None:
    try:
        btype = required(string(doc, "type", "type"), "type", "(Bundle.type is 1..1)")
        if btype != "message" and btype not in ENTRYWISE:
            known(btype, BUNDLE_TYPES, "a Bundle type", "type")
            why = "is neither a message nor a collection of entries"
            ignore(out, doc, "Bundle", f"Bundle.type: {cut(btype)} {why}")
            return
        entries = array(doc, "entry", "entry")
        ctx.index = _index(entries)
        result = message_events(doc, entries, ctx) if btype == "message" else None
    except Problem as p:
        out.error(invalid(p, "Bundle", raw))
        return
    if result is None:
        _entries_into(out, doc, raw, entries, ctx, nested)
    elif isinstance(result, str):
        ignore(out, doc, "Bundle", result)
    else:
        out.events.extend(result)


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


def _entries_into(
    out: Ingested, doc: Json, raw: bytes, entries: list[object], ctx: Ctx, nested: Nested
) -> None:
    before = (len(out.events), len(out.ignored), len(out.errors))
    for i, entry in enumerate(entries):
        root = f"Bundle.entry[{i}]"
        try:
            res = entry_resource(entry)
        except Problem as p:
            out.error(invalid(p, root, raw))
            continue
        if res is None:
            continue
        rtype = res["resourceType"]
        if rtype == "Bundle":
            first = len(out.errors)
            nested(out, res, raw)
            out.errors[first:] = [_relocated(e, f"{root}.resource") for e in out.errors[first:]]
        else:
            resource_into(out, res, rtype, ctx, f"{root}.resource", raw)
    if (len(out.events), len(out.ignored), len(out.errors)) == before:
        ignore(out, doc, "Bundle", "Bundle.entry: no resource to read")


def _relocated(err: InvalidInput, root: str) -> InvalidInput:
    """A problem of a nested Bundle (located from ``Bundle``) located from ``root``."""
    old = err.expression or "Bundle"
    where = root + old[len("Bundle") :]
    text = err.diagnostics[len(old) + 2 :] if err.expression else err.diagnostics
    return replace(err, expression=where, diagnostics=f"{where}: {text}")
