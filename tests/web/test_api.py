"""The FHIR API's status codes (the publisher is a fake of our own port here; the
real-broker path is tests/integration/test_web_live.py), /healthz and /metrics."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from agents.web.readmodel import Query
from tests.web.kit import SAMPLE, client, make_web

FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def web(tmp_path: Path):  # type: ignore[no-untyped-def]
    w = make_web(tmp_path)
    w.tokens = {  # type: ignore[attr-defined]
        role: w.accounts.add_token(f"t-{role}", role, "north" if role == "sender" else "")
        for role in ("sender", "reader", "case-manager")
    }
    return w


def _auth(web, role: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**FHIR, "Authorization": f"Bearer {web.tokens[role]}"}


def _message() -> bytes:
    for line in SAMPLE.read_bytes().splitlines():
        doc = orjson.loads(line) if line.strip() else {}
        if doc.get("resourceType") == "Bundle" and doc.get("type") == "message":
            return line
    raise AssertionError("no message Bundle in the sample")


def _outcome(r) -> OperationOutcome:  # type: ignore[no-untyped-def]
    assert r.headers["content-type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(r.json())


def test_metadata_is_a_capability_statement_without_auth(web) -> None:  # type: ignore[no-untyped-def]
    r = client(web).get("/fhir/metadata")
    assert r.status_code == 200
    cs = CapabilityStatement.model_validate(r.json())
    types = {res.type for res in cs.rest[0].resource}
    assert {"Task", "ServiceRequest", "Encounter", "Bundle"} <= types


def test_process_message_publishes_with_source_and_patient_key(web) -> None:  # type: ignore[no-untyped-def]
    raw = _message()
    r = client(web).post("/fhir/$process-message", content=raw, headers=_auth(web, "sender"))
    assert r.status_code == 202, r.text
    assert _outcome(r).issue[0].severity == "information"
    value, key, source = web.publisher.sent[-1]
    assert value == raw and source == "north"
    assert key is not None and key.startswith("north|")
    audit = web.accounts.audit_log(1)
    assert audit == [] or audit[0]["action"] != "send"  # documents are counted, not audited


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/fhir", b'{"resourceType":"Bundle","type":"collection","entry":[]}'),
        ("/fhir/Observation", b'{"resourceType":"Observation","id":"o1","status":"final"}'),
        ("/fhir/Encounter", b'{"resourceType":"Encounter","id":"e1","status":"finished"}'),
    ],
)
def test_other_documents_are_202(web, path: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    r = client(web).post(path, content=body, headers=_auth(web, "sender"))
    assert r.status_code == 202, r.text
    assert web.publisher.sent[-1][0] == body


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/fhir/$process-message", b"not json", "structure"),
        ("/fhir/$process-message", b'{"resourceType":"Bundle","type":"collection"}', "structure"),
        ("/fhir/Observation", b'{"resourceType":"Encounter"}', "structure"),
        ("/fhir", b"[1, 2]", "structure"),
        ("/fhir", b"\xff\xfe", "structure"),
        ("/fhir", b"[" * 100 + b"]" * 100, "too-costly"),
        ("/fhir", b'{"resourceType":"Bundle","x":"' + b"a" * 1_100_000 + b'"}', "too-long"),
    ],
)
def test_cheap_refusals_are_400(web, path: str, body: bytes, code: str) -> None:  # type: ignore[no-untyped-def]
    r = client(web).post(path, content=body, headers=_auth(web, "sender"))
    assert r.status_code == 400, r.text
    assert _outcome(r).issue[0].code == code
    assert web.publisher.sent == []


def test_unknown_type_is_404_and_auth_401_403(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    body = b'{"resourceType":"Medication"}'
    assert c.post("/fhir/Medication", content=body, headers=_auth(web, "sender")).status_code == 404
    r = c.post("/fhir/$process-message", content=_message(), headers=FHIR)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    bad = {**FHIR, "Authorization": "Bearer cpt_wrong"}
    assert c.post("/fhir/$process-message", content=_message(), headers=bad).status_code == 401
    r = c.post("/fhir/$process-message", content=_message(), headers=_auth(web, "reader"))
    assert r.status_code == 403 and _outcome(r).issue[0].code == "forbidden"
    assert c.get("/fhir/Task", headers=_auth(web, "sender")).status_code == 403
    assert c.get("/fhir/Task").status_code == 401
    assert web.publisher.sent == []


def test_kafka_refusal_is_503(web) -> None:  # type: ignore[no-untyped-def]
    web.publisher.fail = True
    r = client(web).post("/fhir/$process-message", content=_message(), headers=_auth(web, "sender"))
    assert r.status_code == 503 and _outcome(r).issue[0].code == "transient"


def test_read_only_file_mode_refuses_documents(tmp_path: Path) -> None:
    w = make_web(tmp_path, read_only=True)
    token = w.accounts.add_token("s", "sender", "north")
    r = client(w).post(
        "/fhir/$process-message",
        content=_message(),
        headers={**FHIR, "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 503


def test_search_tasks(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    h = _auth(web, "reader")
    r = c.get("/fhir/Task", params={"_count": 5}, headers=h)
    assert r.status_code == 200
    b = Bundle.model_validate(r.json())
    total = web.model.stats()["tasks"]
    assert b.type == "searchset" and b.total == total and len(b.entry) == 5
    assert {lk.relation for lk in b.link} == {"self", "next"}
    nxt = next(lk.url for lk in b.link if lk.relation == "next")
    page2 = c.get(nxt, headers=h).json()
    assert page2["entry"][0]["resource"]["id"] != b.entry[0].resource.id
    assert {lk["relation"] for lk in page2["link"]} >= {"previous"}
    stat = c.get("/fhir/Task", params={"priority": "stat", "status": "requested"}, headers=h)
    assert all(e["resource"]["priority"] == "stat" for e in stat.json()["entry"])
    some = web.model.search(Query(limit=1))[0][0]
    by_patient = c.get("/fhir/Task", params={"patient": f"Patient/{some.row.patient}"}, headers=h)
    assert by_patient.json()["total"] >= 1
    assert all(
        e["resource"]["for"]["identifier"]["value"] == some.row.patient
        for e in by_patient.json()["entry"]
    )
    code = c.get("/fhir/Task", params={"code": f"x|{some.row.code}"}, headers=h).json()
    assert code["total"] >= 1
    sorted_ = c.get("/fhir/Task", params={"_sort": "-authored-on", "_count": 50}, headers=h)
    authored = [e["resource"]["authoredOn"] for e in sorted_.json()["entry"]]
    assert authored == sorted(authored, reverse=True)
    assert (
        c.get("/fhir/Task", params={"owner": "Practitioner/nobody"}, headers=h).json()["total"] == 0
    )
    assert c.get("/fhir/Task", params={"_sort": "nonsense"}, headers=h).status_code == 400
    assert c.get("/fhir/Task", params={"_count": "x"}, headers=h).status_code == 400
    assert c.get("/fhir/Task", params={"priority": "high"}, headers=h).status_code == 400


def test_search_and_read_referrals_and_read_task(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    h = _auth(web, "reader")
    r = c.get("/fhir/ServiceRequest", params={"status": "active"}, headers=h)
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert entries and all(e["resource"]["status"] == "active" for e in entries)
    rid = entries[0]["resource"]["id"]
    assert c.get(f"/fhir/ServiceRequest/{rid}", headers=h).json()["id"] == rid
    assert c.get("/fhir/ServiceRequest/nope", headers=h).status_code == 404
    some = web.model.search(Query(limit=1))[0][0]
    r = c.get(f"/fhir/Task/{some.id}", headers=h)
    assert r.status_code == 200 and r.json() == some.doc and r.headers["etag"]
    assert c.get("/fhir/Task/nope", headers=h).status_code == 404


def test_put_task(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    t = web.model.search(Query(code="fulfill", limit=1))[0][0]
    cm, reader = _auth(web, "case-manager"), _auth(web, "reader")
    body = {**t.doc, "status": "in-progress"}  # referral Task: requested → in-progress: no
    r = c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(body), headers=cm)
    assert r.status_code == 409 and _outcome(r).issue[0].code == "business-rule"
    assert "not an allowed transition" in r.text
    same = c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(t.doc), headers=cm)
    assert same.status_code == 200  # nothing to change
    ok = {**t.doc, "status": "accepted", "note": [{"text": "called the program"}]}
    r = c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(ok), headers=cm)
    assert r.status_code == 202, r.text
    sent = orjson.loads(web.publisher.sent[-1][0])
    assert sent["status"] == "accepted" and sent["note"][-1]["text"] == "called the program"
    assert web.publisher.sent[-1][1] == t.row.patient
    assert c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(ok), headers=reader).status_code == 403
    assert c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(ok), headers=FHIR).status_code == 401
    missing = {**ok, "id": "nope"}
    assert c.put("/fhir/Task/nope", content=orjson.dumps(missing), headers=cm).status_code == 404
    assert c.put(f"/fhir/Task/{t.id}", content=b"{", headers=cm).status_code == 400
    wrong_id = c.put(f"/fhir/Task/{t.id}", content=orjson.dumps(missing), headers=cm)
    assert wrong_id.status_code == 400
    audit = web.accounts.audit_log(20, t.id)
    assert [a["outcome"].split(":")[0] for a in audit].count("published") == 1
    assert all(a["via"] == "token" and a["actor"] == "t-case-manager" for a in audit)
    assert "called the program" not in repr(audit)


def test_healthz_and_metrics(web) -> None:  # type: ignore[no-untyped-def]
    c = client(web)
    h = c.get("/healthz").json()
    assert h["status"] == "ok" and h["read_model"] == "ready" and h["tasks"] > 0
    c.post("/fhir/$process-message", content=_message(), headers=_auth(web, "sender"))
    text = c.get("/metrics").text
    assert 'carepath_web_documents_total{outcome="accepted"} 1.0' in text
    assert "carepath_web_tasks{state=" in text and "carepath_web_request_seconds_bucket" in text
