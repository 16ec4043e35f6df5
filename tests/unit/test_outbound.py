"""Outbound builders: build → JSON → fhir.resources.R4B → same JSON (round trip)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord
from schemas.outbound import DEFAULT_BASE, render, service_request_resource, task_resource
from schemas.timefmt import fhir_datetime

T0 = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
KEY_SYSTEM = f"{DEFAULT_BASE}/patient-key"


def _task(**kw: object) -> TaskRecord:
    base: dict[str, object] = dict(
        id="8d0f1f38-0c47-5b5b-9f3e-1f7f3c0e9a01",
        patient="p1",
        rule="C-FOLLOWUP",
        code="follow-up-7d",
        status="requested",
        priority="urgent",
        authored=T0,
        due=T0 + timedelta(days=8),
        description="Discharged home on 2026-03-08; see within 7 days.",
        focus="Encounter/e1",
    )
    base.update(kw)
    return TaskRecord(**base)  # type: ignore[arg-type]


def _referral(**kw: object) -> ReferralRecord:
    base: dict[str, object] = dict(
        id="1c1f8a1e-7f4b-5f0e-8d55-0d9a7c1c2b10",
        patient="p1",
        rule="T-DISCHARGE",
        level=Level.IOP,
        direction="step-down",
        status="active",
        priority="routine",
        authored=T0,
        reasons=("Encounter/e1", "Observation/o1"),
        task_id="t",
    )
    base.update(kw)
    return ReferralRecord(**base)  # type: ignore[arg-type]


def _roundtrip(model: type, doc: dict[str, object]) -> None:
    parsed = model.model_validate_json(orjson.dumps(doc))
    assert orjson.loads(parsed.model_dump_json(exclude_none=True)) == doc


@pytest.mark.parametrize(
    "task",
    [
        _task(),
        _task(status="cancelled", last_modified=T0 + timedelta(days=1), status_reason="readmitted"),
        _task(code="fulfill", rule="T-DISCHARGE", focus="ServiceRequest/x", target=Level.IOP),
        _task(focus=None, authored=T0.replace(microsecond=1500)),
        _task(
            patient="https://ehr.a.example|p1",
            display="Jane Doe",
            owner="Organization/cm-team",
            business_status="overdue",
            notes=("called twice, no answer", "left a voicemail"),
        ),
        _task(status="in-progress", business_status="source corrected", owner="Practitioner/7"),
    ],
)
def test_task_round_trip(task: TaskRecord) -> None:
    doc = task_resource(task)
    _roundtrip(Task, doc)
    assert doc["reasonCode"] == {
        "coding": [{"system": f"{DEFAULT_BASE}/CodeSystem/rule", "code": task.rule}]
    }
    assert doc["restriction"] == {"period": {"end": fhir_datetime(task.due)}}
    assert doc["for"]["reference"] == "Patient/p1"
    assert doc["for"]["identifier"] == {"system": KEY_SYSTEM, "value": task.patient}
    assert doc["intent"] == "order"


def test_task_routing_and_reading_fields() -> None:
    doc = task_resource(
        _task(
            patient="src|p1",
            display="Jane Doe",
            owner="Organization/cm",
            business_status="new trigger",
            notes=("first", "second"),
        )
    )
    assert doc["for"] == {
        "reference": "Patient/p1",
        "identifier": {"system": KEY_SYSTEM, "value": "src|p1"},
        "display": "Jane Doe",
    }
    assert doc["owner"] == {"reference": "Organization/cm"}
    assert doc["businessStatus"] == {"text": "new trigger"}
    assert doc["note"] == [{"text": "first"}, {"text": "second"}]


def test_task_without_routing_fields_has_none_of_them() -> None:
    doc = task_resource(_task())
    assert not {"owner", "businessStatus", "note"} & set(doc)
    assert doc["for"] == {
        "reference": "Patient/p1",
        "identifier": {"system": KEY_SYSTEM, "value": "p1"},
    }


@pytest.mark.parametrize(
    ("key", "pid"),
    [("p1", "p1"), ("src|p1", "p1"), ("https://ehr.example/fhir|1001", "1001"), ("a|b|c", "c")],
)
def test_patient_reference_uses_the_id_part_of_the_key(key: str, pid: str) -> None:
    doc = task_resource(_task(patient=key))
    assert doc["for"]["reference"] == f"Patient/{pid}"
    assert doc["for"]["identifier"]["value"] == key
    ref = service_request_resource(_referral(patient=key))
    assert ref["subject"] == doc["for"]


def test_referral_task_code_is_fulfill() -> None:
    doc = task_resource(_task(code="fulfill", focus="ServiceRequest/x"))
    assert doc["code"]["coding"][0]["code"] == "fulfill"
    assert doc["focus"] == {"reference": "ServiceRequest/x"}


@pytest.mark.parametrize(
    "ref",
    [
        _referral(),
        _referral(
            status="revoked",
            last_modified=T0 + timedelta(hours=2),
            status_reason="superseded",
            reasons=(),
        ),
        _referral(level=Level.INPATIENT, direction="step-up", priority="stat"),
        _referral(
            patient="https://ehr.a.example|1001",
            display="Jane Doe",
            performer="Organization/iop-east",
            requester="Organization/carepath",
        ),
    ],
)
def test_service_request_round_trip(ref: ReferralRecord) -> None:
    doc = service_request_resource(ref)
    _roundtrip(ServiceRequest, doc)
    assert doc["code"]["coding"][0]["code"] == ref.level.value
    assert doc["category"][0]["coding"][0]["code"] == ref.direction
    assert doc["intent"] == "proposal"
    assert doc["performerType"] == doc["code"]
    assert doc["subject"]["identifier"] == {"system": KEY_SYSTEM, "value": ref.patient}


def test_service_request_routing_fields() -> None:
    doc = service_request_resource(
        _referral(display="Jane Doe", performer="Organization/iop", requester="Organization/cp")
    )
    level = {"system": f"{DEFAULT_BASE}/CodeSystem/level-of-care", "code": "iop"}
    assert doc["performerType"]["coding"][0] | level == doc["performerType"]["coding"][0]
    assert doc["performer"] == [{"reference": "Organization/iop"}]
    assert doc["requester"] == {"reference": "Organization/cp"}
    assert doc["subject"]["display"] == "Jane Doe"
    plain = service_request_resource(_referral())
    assert not {"performer", "requester"} & set(plain)
    assert "display" not in plain["subject"]


def test_render_is_deterministic_compact_json() -> None:
    assert render(_task()) == render(_task())
    assert b"\n" not in render(_task())


def test_custom_base_url() -> None:
    doc = task_resource(_task(), base="https://h.example/fhir")
    assert doc["code"]["coding"][0]["system"] == "https://h.example/fhir/CodeSystem/care-task"
    assert doc["for"]["identifier"]["system"] == "https://h.example/fhir/patient-key"
    ref = service_request_resource(_referral(), base="https://h.example/fhir")
    assert ref["performerType"]["coding"][0]["system"] == (
        "https://h.example/fhir/CodeSystem/level-of-care"
    )
