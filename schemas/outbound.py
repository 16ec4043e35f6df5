"""Decisions → FHIR R4 Task and ServiceRequest (contract §5).

Builders write plain JSON-ready dicts (fast, deterministic key order); every builder has a
round-trip test through ``fhir.resources.R4B`` (tests/unit/test_outbound.py).

R4 ``ServiceRequest`` has neither ``lastModified`` nor ``statusReason``: a status change
carries the time in ``meta.lastUpdated`` and the reason as a ``note`` (with its time).

Routing and reading (contract v2 §5): ``subject``/``for`` name ``Patient/<id>`` (the id
part of the patient key, the text after its last ``|``) with the whole key as
``identifier`` (system ``{base}/patient-key``) and the patient's name as ``display`` when
known; a referral names its target level as ``performerType`` and its receiving program
as ``performer``; a Task carries ``owner``, ``businessStatus`` and case managers' notes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from pipeline.codes import CareTask
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


def patient_reference(key: str, display: str | None, base: str) -> Json:
    """``Patient/<id>`` plus the patient key as identifier (contract §2, §5)."""
    ref: Json = {
        "reference": f"Patient/{key.rpartition('|')[2]}",
        "identifier": {"system": f"{base}/patient-key", "value": key},
    }
    if display:
        ref["display"] = display
    return ref


def level_concept(level: str, base: str) -> Json:
    """The level of care as a CodeableConcept (``{base}/CodeSystem/level-of-care``)."""
    return {"coding": [_coding(f"{base}/CodeSystem/level-of-care", level, LEVEL_DISPLAY[level])]}


_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")


def _owner(owner: str) -> Json:
    """A reference (``Organization/x``), or the name a case manager gave without one."""
    return {"reference": owner} if _REFERENCE.fullmatch(owner) else {"display": owner}


def task_resource(rec: TaskRecord, base: str = DEFAULT_BASE) -> Json:
    """The FHIR R4 Task for a task record (referral Task when ``rec.code == 'fulfill'``)."""
    if rec.code == CareTask.FULFILL:
        code = _coding(TASK_CODE_SYSTEM, CareTask.FULFILL, "Fulfill the focal request")
    else:
        code = _coding(f"{base}/CodeSystem/care-task", rec.code)
    doc: Json = {"resourceType": "Task", "id": rec.id, "status": rec.status}
    if rec.status_reason:
        doc["statusReason"] = {"text": rec.status_reason}
    if rec.business_status:
        doc["businessStatus"] = {"text": rec.business_status}
    doc["intent"] = "order"
    doc["priority"] = rec.priority
    doc["code"] = {"coding": [code]}
    doc["description"] = rec.description
    if rec.focus:
        doc["focus"] = {"reference": rec.focus}
    doc["for"] = patient_reference(rec.patient, rec.display, base)
    doc["authoredOn"] = fhir_datetime(rec.authored)
    if rec.last_modified is not None:
        doc["lastModified"] = fhir_datetime(rec.last_modified)
    if rec.owner:
        doc["owner"] = _owner(rec.owner)
    doc["restriction"] = {"period": {"end": fhir_datetime(rec.due)}}
    doc["reasonCode"] = {"coding": [_coding(f"{base}/CodeSystem/rule", rec.rule)]}
    if rec.notes:
        doc["note"] = [{"text": text} for text in rec.notes]
    return doc


def service_request_resource(rec: ReferralRecord, base: str = DEFAULT_BASE) -> Json:
    """The FHIR R4 ServiceRequest (transition referral) for a referral record."""
    doc: Json = {"resourceType": "ServiceRequest", "id": rec.id}
    if rec.last_modified is not None:
        doc["meta"] = {"lastUpdated": fhir_datetime(rec.last_modified)}
    doc["status"] = rec.status
    doc["intent"] = "proposal"  # a rule engine proposes (rules.md §4)
    doc["category"] = [
        {"coding": [_coding(f"{base}/CodeSystem/transition", rec.direction)]},
    ]
    doc["priority"] = rec.priority
    doc["code"] = level_concept(rec.level.value, base)
    doc["subject"] = patient_reference(rec.patient, rec.display, base)
    doc["authoredOn"] = fhir_datetime(rec.authored)
    if rec.requester:
        doc["requester"] = {"reference": rec.requester}
    doc["performerType"] = level_concept(rec.level.value, base)
    if rec.performer:
        doc["performer"] = [{"reference": rec.performer}]
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


def output_key(out: Output) -> bytes:
    """The Kafka key of an output on ``care.tasks`` / ``care.referrals`` (contract §1): its
    resource id, ``Task/<id>`` or ``ServiceRequest/<id>``, so a compacted topic keeps the
    latest version of every resource."""
    kind = "Task" if isinstance(out, TaskRecord) else "ServiceRequest"
    return f"{kind}/{out.id}".encode()


def patient_key_of(doc: Json) -> str | None:
    """The patient key an output resource carries back (contract §2, §5): the value of
    ``for.identifier`` (Task) or ``subject.identifier`` (ServiceRequest)."""
    ref = doc.get("for") if doc.get("resourceType") == "Task" else doc.get("subject")
    ident = ref.get("identifier") if isinstance(ref, dict) else None
    value = ident.get("value") if isinstance(ident, dict) else None
    return value if isinstance(value, str) else None
