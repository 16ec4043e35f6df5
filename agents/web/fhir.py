"""The FHIR R4 API under ``/fhir``: the HTTP front door for hospitals without Kafka, and
Task/ServiceRequest search, read and update for case managers' systems.

- ``GET /fhir/metadata``: the CapabilityStatement (no authentication).
- ``POST /fhir/$process-message`` (a message Bundle), ``POST /fhir`` (a Bundle),
  ``POST /fhir/<Type>`` (a resource of contract §3): a sender token → published to
  ``care.inbound`` with ``carepath-source`` = the token's source and the patient key as the
  record key → ``202`` + OperationOutcome. Only cheap refusals here (``400``: not JSON, too
  large, too deep, not the type the URL names); everything else is the pipeline's job.
- ``GET /fhir/Task``, ``/fhir/ServiceRequest``: search (``status``, ``priority``,
  ``owner``, ``code``, ``patient``, ``_count``, ``_offset``, ``_sort``); read by id.
- ``PUT /fhir/Task/<id>``: new status/owner/note → ``409`` when the state machine forbids
  it, else published as a Task update (``202``).
- ``401`` without a token, ``403`` for a role that may not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from kafka.errors import KafkaError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from agents.web import actions
from agents.web.auth import Forbidden, Unauthenticated, api_principal
from agents.web.service import Web
from agents.web.service_ops import NotFound, Unavailable, submit_update
from pipeline.codes import PRIORITY_RANK
from schemas.inbound.parse import DocumentProblem, parse_document
from schemas.ingest import Limits, ingest

log = logging.getLogger("carepath.web.fhir")

FHIR_JSON = "application/fhir+json"
#: Resource types a sender may POST (contract §3), besides Bundle.
ACCEPTED_TYPES = (
    "Encounter",
    "EpisodeOfCare",
    "Observation",
    "Condition",
    "Patient",
    "Appointment",
    "Task",
)
MAX_COUNT = 1000
DEFAULT_COUNT = 50


def fhir(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type=FHIR_JSON)


def outcome(status: int, severity: str, code: str, text: str, **headers: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }
    return fhir(body, status, headers or None)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def refusal(e: Exception) -> Response:
    """The OperationOutcome response for an authentication or authorization failure."""
    if isinstance(e, Unauthenticated):
        return outcome(
            401,
            "error",
            "login",
            "a bearer token is required",
            **{"WWW-Authenticate": 'Bearer realm="carepath"'},
        )
    assert isinstance(e, Forbidden)
    return outcome(403, "error", "forbidden", e.message)


# ------------------------------------------------------------------ metadata
def capability(base: str) -> dict[str, Any]:
    search = [
        {"name": n, "type": t}
        for n, t in (
            ("status", "token"),
            ("priority", "token"),
            ("owner", "reference"),
            ("code", "token"),
            ("patient", "reference"),
        )
    ]
    create = [{"code": "create"}]
    resources: list[dict[str, Any]] = [
        {
            "type": "Task",
            "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "update"}, *create],
            "searchParam": search,
        },
        {
            "type": "ServiceRequest",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": search,
        },
    ]
    resources += [{"type": t, "interaction": create} for t in ACCEPTED_TYPES if t != "Task"]
    resources.append({"type": "Bundle", "interaction": create})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-02",
        "publisher": "carepath",
        "kind": "instance",
        "software": {"name": "carepath web"},
        "implementation": {"description": "carepath HTTP front door", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json", FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Authorization: Bearer <token> (carepath tokens add); "
                    "senders post documents, readers search, case managers update Tasks"
                },
                "resource": resources,
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
                "operation": [
                    {
                        "name": "process-message",
                        "definition": "http://hl7.org/fhir/OperationDefinition/"
                        "MessageHeader-process-message",
                    }
                ],
            }
        ],
    }


async def metadata(request: Request) -> Response:
    return fhir(capability(str(request.base_url).rstrip("/") + "/fhir"))


# ------------------------------------------------------------------ documents in
async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` when it is over ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _receive(request: Request, expect: str) -> Response:
    web = web_of(request)
    try:
        who = api_principal(web, request, "send")
    except (Unauthenticated, Forbidden) as e:
        return refusal(e)
    limits = Limits(max_bytes=web.settings.max_bytes, max_depth=web.settings.max_depth)
    raw = await _body(request, limits.max_bytes)
    if raw is None:
        web.metrics.documents.labels("too-large").inc()
        return outcome(
            400, "error", "too-long", f"the document is over the {limits.max_bytes}-byte limit"
        )
    try:
        doc = parse_document(raw, limits.max_bytes, limits.max_depth)
    except DocumentProblem as p:
        web.metrics.documents.labels(p.code).inc()
        return outcome(400, "error", p.code, p.message)
    problem = _shape(doc, expect)
    if problem:
        web.metrics.documents.labels("wrong-type").inc()
        return outcome(400, "error", "structure", problem)
    if web.publisher is None:
        return outcome(503, "error", "transient", "serving a file read-only: nothing is sent")
    key = patient_key(raw, web, limits, who.source)
    try:
        # the producer waits for Kafka's acknowledgement: off the event loop
        partition, offset = await run_in_threadpool(
            web.publisher.publish, raw, key, who.source or None
        )
    except KafkaError as e:
        web.metrics.documents.labels("unpublished").inc()
        log.warning("document from %s not published: %s", who.name, type(e).__name__)
        return outcome(503, "error", "transient", "Kafka did not take the document; retry")
    web.metrics.documents.labels("accepted").inc()
    log.info(
        "document accepted from %s: %s, %d bytes → partition %d offset %d",
        who.name,
        doc["resourceType"],
        len(raw),
        partition,
        offset,
    )
    return outcome(
        202,
        "information",
        "informational",
        f"accepted: published to {web.publisher.topic} "
        f"(partition {partition}, offset {offset}); the pipeline decides the rest",
    )


def _shape(doc: object, expect: str) -> str | None:
    if not isinstance(doc, dict):
        return "the document is not a JSON object"
    rtype = doc.get("resourceType")
    if not isinstance(rtype, str):
        return "no resourceType: the JSON object is not a FHIR resource"
    if expect == "message":
        if rtype != "Bundle" or doc.get("type") != "message":
            return "$process-message takes a Bundle of type message"
    elif rtype != expect:
        return f"this endpoint takes a {expect}, not a {rtype}"
    return None


def patient_key(raw: bytes, web: Web, limits: Limits, source: str | None) -> str | None:
    """The record key: the patient key of the document's first event (the pipeline re-keys
    by patient anyway; contract §1 trusts no inbound key)."""
    found = ingest(raw, limits, web.settings.base_url, rules=web.rules, source=source or None)
    return found.events[0].patient if found.events else None


async def process_message(request: Request) -> Response:
    return await _receive(request, "message")


async def post_bundle(request: Request) -> Response:
    return await _receive(request, "Bundle")


async def post_resource(request: Request) -> Response:
    rtype = request.path_params["rtype"]
    if rtype not in ACCEPTED_TYPES and rtype != "Bundle":
        return outcome(404, "error", "not-supported", f"{rtype}: not a type this server accepts")
    return await _receive(request, rtype)


# ------------------------------------------------------------------ search and read
def _count(request: Request) -> tuple[int, int] | Response:
    try:
        count = int(request.query_params.get("_count", DEFAULT_COUNT))
        offset = int(request.query_params.get("_offset", 0))
    except ValueError:
        return outcome(400, "error", "invalid", "_count and _offset are whole numbers")
    if count < 0 or offset < 0:
        return outcome(400, "error", "invalid", "_count and _offset are not negative")
    return min(count, MAX_COUNT), offset


def _patient_clause(value: str) -> tuple[str, list[str]]:
    ref = value.removeprefix("Patient/")
    return "(patient = ? OR pid = ?)", [value, ref]


#: _sort names → SQL (fixed strings only: request text never reaches the SQL).
TASK_SORT = {
    "priority": "prank DESC",
    "-priority": "prank",
    "due": "due",
    "-due": "due DESC",
    "authored-on": "authored",
    "-authored-on": "authored DESC",
    "modified": "modified",
    "-modified": "modified DESC",
    "_lastUpdated": "modified",
    "-_lastUpdated": "modified DESC",
    "status": "status",
    "-status": "status DESC",
}
REFERRAL_SORT = {
    "priority": "prank DESC",
    "-priority": "prank",
    "authored": "authored",
    "-authored": "authored DESC",
    "authored-on": "authored",
    "-authored-on": "authored DESC",
    "status": "status",
    "-status": "status DESC",
}


def _order(request: Request, table: dict[str, str], default: str) -> str | Response:
    sort = request.query_params.get("_sort", "")
    if not sort:
        return default
    parts = []
    for name in sort.split(","):
        if name.strip() not in table:
            known = ", ".join(sorted(table))
            return outcome(400, "error", "not-supported", f"_sort={name}: one of {known}")
        parts.append(table[name.strip()])
    return ", ".join([*parts, "id"])


def _any_of(column: str, value: str, strip_system: bool = False) -> tuple[str, list[str]]:
    values = [v.strip() for v in value.split(",") if v.strip()]
    if strip_system:
        values = [v.rpartition("|")[2] for v in values]
    return f"{column} IN ({','.join('?' * len(values))})", values


def _bundle(
    request: Request, docs: list[dict[str, Any]], total: int, count: int, offset: int
) -> Response:
    base = str(request.base_url).rstrip("/") + "/fhir"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_offset"]
    path = str(request.url.path)

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*params, ("_offset", str(at))])
        return {"relation": relation, "url": f"{request.base_url}".rstrip("/") + f"{path}?{query}"}

    links = [link("self", offset)]
    if offset + count < total and count:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return fhir(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{d['resourceType']}/{d['id']}",
                    "resource": d,
                    "search": {"mode": "match"},
                }
                for d in docs
            ],
        }
    )


def _reader(request: Request) -> Web | Response:
    """The web service if the request may read, else the refusal."""
    web = web_of(request)
    try:
        api_principal(web, request, "read")
    except (Unauthenticated, Forbidden) as e:
        return refusal(e)
    return web


@dataclass(frozen=True)
class _Search:
    web: Web
    count: int
    offset: int
    order: str


def _search(request: Request, sort: dict[str, str], default: str) -> _Search | Response:
    """A search's reader, paging (``_count``, ``_offset``) and order (``_sort``), or the
    response that refuses it."""
    web = _reader(request)
    if isinstance(web, Response):
        return web
    paging = _count(request)
    if isinstance(paging, Response):
        return paging
    order = _order(request, sort, default)
    if isinstance(order, Response):
        return order
    return _Search(web, *paging, order)


async def search_tasks(request: Request) -> Response:
    q = _search(request, TASK_SORT, "prank DESC, due, id")
    if isinstance(q, Response):
        return q
    clauses, args = ["1"], []
    p = request.query_params
    for name, column, strip in (
        ("status", "status", False),
        ("priority", "priority", False),
        ("owner", "owner", False),
        ("code", "code", True),
    ):
        if p.get(name):
            c, a = _any_of(column, p[name], strip)
            clauses.append(c)
            args += a
    if p.get("priority") and any(v not in PRIORITY_RANK for v in p["priority"].split(",")):
        return outcome(400, "error", "value", "priority: routine, urgent, asap or stat")
    for name in ("patient", "subject"):
        if p.get(name):
            c, a = _patient_clause(p[name])
            clauses.append(c)
            args += a
    where = " AND ".join(clauses)
    docs, total = q.web.model.search_tasks_sql(where, args, q.order, q.count, q.offset)
    return _bundle(request, docs, total, q.count, q.offset)


async def search_referrals(request: Request) -> Response:
    q = _search(request, REFERRAL_SORT, "prank DESC, authored, id")
    if isinstance(q, Response):
        return q
    p = request.query_params
    where: dict[str, str] = {}
    for name, column in (("status", "status"), ("priority", "priority"), ("code", "level")):
        if p.get(name):
            where[column] = p[name].rpartition("|")[2]
    if p.get("patient") or p.get("subject"):
        where["patient"] = (p.get("patient") or p.get("subject") or "").removeprefix("Patient/")
    docs, total = q.web.model.search_referrals(where, q.order, q.count, q.offset)
    return _bundle(request, docs, total, q.count, q.offset)


async def read_task(request: Request) -> Response:
    web = _reader(request)
    if isinstance(web, Response):
        return web
    view = web.model.task(request.path_params["rid"])
    if view is None:
        return outcome(404, "error", "not-found", f"Task/{request.path_params['rid']}: unknown")
    return fhir(view.doc, headers={"ETag": f'W/"{view.version}"'})


async def read_referral(request: Request) -> Response:
    web = _reader(request)
    if isinstance(web, Response):
        return web
    rid = request.path_params["rid"]
    found = web.model.referral(rid)
    if found is None:
        return outcome(404, "error", "not-found", f"ServiceRequest/{rid}: unknown")
    return fhir(found["doc"], headers={"ETag": f'W/"{found["version"]}"'})


# ------------------------------------------------------------------ Task update
async def put_task(request: Request) -> Response:
    web = web_of(request)
    try:
        who = api_principal(web, request, "act")
    except (Unauthenticated, Forbidden) as e:
        return refusal(e)
    rid = request.path_params["rid"]
    raw = await _body(request, web.settings.max_bytes)
    if raw is None:
        return outcome(400, "error", "too-long", "the Task is over the size limit")
    try:
        doc = parse_document(raw, web.settings.max_bytes, web.settings.max_depth)
    except DocumentProblem as p:
        return outcome(400, "error", p.code, p.message)
    if not isinstance(doc, dict) or doc.get("resourceType") != "Task":
        return outcome(400, "error", "structure", "the body is not a Task")
    if doc.get("id") != rid:
        return outcome(400, "error", "invalid", f"Task.id must be {rid!r} (the URL's id)")
    status = doc.get("status")
    owner = (
        (doc.get("owner") or {}).get("reference") if isinstance(doc.get("owner"), dict) else None
    )
    notes = doc.get("note") if isinstance(doc.get("note"), list) else []
    note = notes[-1].get("text") if notes and isinstance(notes[-1], dict) else None
    reason = (
        (doc.get("statusReason") or {}).get("text")
        if isinstance(doc.get("statusReason"), dict)
        else None
    )
    if not isinstance(status, str):
        return outcome(400, "error", "required", "Task.status is required")
    view = web.model.task(rid)
    if view is not None and note and any(n.get("text") == note for n in view.doc.get("note") or []):
        note = None  # an echoed Task carries the notes it already has
    try:
        message = await run_in_threadpool(
            submit_update, web, who, rid, "update", status, owner, note, reason
        )
    except NotFound:
        return outcome(404, "error", "not-found", f"Task/{rid}: unknown")
    except actions.NoChange:
        return outcome(200, "information", "informational", "no change: the Task has that")
    except actions.Refused as e:
        return outcome(409, "error", "business-rule", str(e))
    except Unavailable as e:
        return outcome(503, "error", "transient", str(e))
    return outcome(202, "information", "informational", message)
