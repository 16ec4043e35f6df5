"""The inbound boundary: FHIR R4 JSON bytes → normalized events or precise errors.

``ingest`` never raises. It parses with orjson and reads by hand exactly the fields the
pipeline uses (type and format), so a typical resource costs a few microseconds; full
FHIR validation with ``fhir.resources`` (~300 µs) would cost ten times the per-event
budget. Shapes (contract §2): a bare resource, a message Bundle, or a
collection/batch/transaction Bundle. Kinds (contract §3) are read by the modules of
:mod:`schemas.inbound`; invalid input (contract §6) becomes one ``InvalidInput`` per
problem, and every valid resource that is no recognized kind one ``IgnoredResource`` with
its reason.

``rules`` gives the site time zone (a date alone is 00:00 local), the identity settings,
the scope lists and the plausible times; ``source`` is the channel source of the document
(the Kafka header ``carepath-source``, ``replay --source``), the first choice for the
patient key's source (contract §2). ``reference`` is the time the document is read at: the
wall clock live, ``--until`` in a replay that has one; a time more than
``time.horizon_days`` after it is invalid input, and so is one before
``time.earliest_year`` (without a reference only that bound and the core's year 2199
apply).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.config import DEFAULT_RULES, RuleConfig
from schemas.inbound.bundle import bundle_into
from schemas.inbound.context import Ctx, Env, env_of, meta_source
from schemas.inbound.dispatch import HANDLERS, invalid, resource_into
from schemas.inbound.fields import TYPE_RE, Json
from schemas.inbound.parse import DocumentProblem, parse_document
from schemas.inbound.problem import Problem, show
from schemas.inbound.types import IgnoredResource, Ingested, InvalidInput, Limits
from schemas.timeparse import Frame

__all__ = [
    "DEFAULT_BASE",
    "IgnoredResource",
    "Ingested",
    "InvalidInput",
    "Limits",
    "ingest",
]

DEFAULT_BASE = "http://carepath.example.org/fhir"
_DEFAULT_LIMITS = Limits()


def ingest(
    raw: bytes,
    limits: Limits = _DEFAULT_LIMITS,
    base: str = DEFAULT_BASE,
    *,
    rules: RuleConfig = DEFAULT_RULES,
    source: str | None = None,
    reference: datetime | None = None,
) -> Ingested:
    """Events, ignored resources and errors for one inbound document (never raises)."""
    data = raw if isinstance(raw, bytes) else _as_bytes(raw)
    out = Ingested()
    try:
        doc = parse_document(data, limits.max_bytes, limits.max_depth)
        env = env_of(rules, base)
        _document_into(out, doc, data, env, env.frame_at(reference), source or None)
    except DocumentProblem as p:
        out.error(InvalidInput(p.message, p.expression, data, p.code))
    except Exception as e:  # a bug here must not stop the stream (DESIGN.md convention 8)
        # the type only: an exception message may quote clinical values
        message = f"internal error while reading the document: {type(e).__name__}"
        return Ingested([], [], [InvalidInput(message, None, data, "exception")])
    return out


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return b""


def _document_into(
    out: Ingested, doc: object, raw: bytes, env: Env, frame: Frame, source: str | None
) -> None:
    if not isinstance(doc, dict):
        raise DocumentProblem(f"not a JSON object: the document is {show(doc)}", "structure")
    rtype = doc.get("resourceType")
    if rtype is None:
        raise DocumentProblem("no resourceType: the JSON object is not a FHIR resource", "required")
    if not isinstance(rtype, str):
        raise DocumentProblem(f"resourceType must be a string, got {show(rtype)}", "structure")
    if rtype == "Bundle":
        try:
            fixed = source or (meta_source(doc) if env.from_meta else None)
        except Problem as p:
            out.error(invalid(p, "Bundle", raw))
            return
        ctx = Ctx(env, frame, source=fixed)
        bundle_into(out, doc, raw, ctx, lambda o, d, r: _nested(o, d, r, env, frame, fixed))
        return
    if rtype not in HANDLERS and not TYPE_RE.fullmatch(rtype):
        raise DocumentProblem(f"resourceType {show(rtype)} is not a FHIR resource type", "value")
    resource_into(out, doc, rtype, Ctx(env, frame, source=source), rtype, raw)


def _nested(
    out: Ingested, doc: Json, raw: bytes, env: Env, frame: Frame, source: str | None
) -> None:
    """A Bundle inside a collection: handled as if it had been sent alone (the outer
    document's source, if it had one, still applies)."""
    try:
        _document_into(out, doc, raw, env, frame, source)
    except DocumentProblem as p:
        out.error(InvalidInput(p.message, None, raw, p.code))
