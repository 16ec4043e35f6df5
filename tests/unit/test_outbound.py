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
    ],
)
def test_task_round_trip(task: TaskRecord) -> None:
    doc = task_resource(task)
    _roundtrip(Task, doc)
    assert doc["reasonCode"] == {
        "coding": [{"system": f"{DEFAULT_BASE}/CodeSystem/rule", "code": task.rule}]
    }
    assert doc["restriction"] == {"period": {"end": fhir_datetime(task.due)}}
    assert doc["for"] == {"reference": "Patient/p1"}


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
    ],
)
def test_service_request_round_trip(ref: ReferralRecord) -> None:
    doc = service_request_resource(ref)
    _roundtrip(ServiceRequest, doc)
    assert doc["code"]["coding"][0]["code"] == ref.level.value
    assert doc["category"][0]["coding"][0]["code"] == ref.direction


def test_render_is_deterministic_compact_json() -> None:
    assert render(_task()) == render(_task())
    assert b"\n" not in render(_task())


def test_custom_base_url() -> None:
    doc = task_resource(_task(), base="https://h.example/fhir")
    assert doc["code"]["coding"][0]["system"] == "https://h.example/fhir/CodeSystem/care-task"
