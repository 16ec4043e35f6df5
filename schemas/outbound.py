"""Decisions → FHIR R4 Task and ServiceRequest (contract §5).

Builders write plain JSON-ready dicts (fast, deterministic key order); every builder has a
round-trip test through ``fhir.resources.R4B`` (tests/unit/test_outbound.py).

R4 ``ServiceRequest`` has neither ``lastModified`` nor ``statusReason``: a status change
carries the time in ``meta.lastUpdated`` and the reason as a ``note`` (with its time).
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.outputs import Output, ReferralRecord, TaskRecord
from schemas.timefmt import fhir_datetime

DEFAULT_BASE = "http://carepath.example.org/fhir"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
LEVEL_DISPLAY = {
    "inpatient": "Inpatient",
    "php": "Partial hospitalization",
    "iop": "Intensive outpatient",
    "op": "Outpatient",
}

Json = dict[str, Any]


def _coding(system: str, code: str, display: str | None = None) -> Json:
    c: Json = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def task_resource(rec: TaskRecord, base: str = DEFAULT_BASE) -> Json:
    """The FHIR R4 Task for a task record (referral Task when ``rec.code == 'fulfill'``)."""
    if rec.code == "fulfill":
        code = _coding(TASK_CODE_SYSTEM, "fulfill", "Fulfill the focal request")
    else:
        code = _coding(f"{base}/CodeSystem/care-task", rec.code)
    doc: Json = {"resourceType": "Task", "id": rec.id, "status": rec.status}
    if rec.status_reason:
        doc["statusReason"] = {"text": rec.status_reason}
    doc["intent"] = "order"
    doc["priority"] = rec.priority
    doc["code"] = {"coding": [code]}
    doc["description"] = rec.description
    if rec.focus:
        doc["focus"] = {"reference": rec.focus}
    doc["for"] = {"reference": f"Patient/{rec.patient}"}
    doc["authoredOn"] = fhir_datetime(rec.authored)
    if rec.last_modified is not None:
        doc["lastModified"] = fhir_datetime(rec.last_modified)
    doc["restriction"] = {"period": {"end": fhir_datetime(rec.due)}}
    doc["reasonCode"] = {"coding": [_coding(f"{base}/CodeSystem/rule", rec.rule)]}
    return doc


def service_request_resource(rec: ReferralRecord, base: str = DEFAULT_BASE) -> Json:
    """The FHIR R4 ServiceRequest (transition referral) for a referral record."""
    doc: Json = {"resourceType": "ServiceRequest", "id": rec.id}
    if rec.last_modified is not None:
        doc["meta"] = {"lastUpdated": fhir_datetime(rec.last_modified)}
    doc["status"] = rec.status
    doc["intent"] = "order"
    doc["category"] = [
        {"coding": [_coding(f"{base}/CodeSystem/transition", rec.direction)]},
    ]
    doc["priority"] = rec.priority
    level = rec.level.value
    doc["code"] = {
        "coding": [_coding(f"{base}/CodeSystem/level-of-care", level, LEVEL_DISPLAY[level])]
    }
    doc["subject"] = {"reference": f"Patient/{rec.patient}"}
    doc["authoredOn"] = fhir_datetime(rec.authored)
    doc["reasonCode"] = [{"coding": [_coding(f"{base}/CodeSystem/rule", rec.rule)]}]
    if rec.reasons:
        doc["reasonReference"] = [{"reference": r} for r in rec.reasons]
    if rec.status_reason:
        note: Json = {"text": rec.status_reason}
        if rec.last_modified is not None:
            note["time"] = fhir_datetime(rec.last_modified)
        doc["note"] = [note]
    return doc


def resource(out: Output, base: str = DEFAULT_BASE) -> Json:
    """The FHIR resource for any output record."""
    if isinstance(out, TaskRecord):
        return task_resource(out, base)
    return service_request_resource(out, base)


def render(out: Output, base: str = DEFAULT_BASE) -> bytes:
    """Compact UTF-8 JSON bytes of the output's FHIR resource (deterministic)."""
    return orjson.dumps(resource(out, base))
