"""Builders of small FHIR R4 documents for the ingest tests (valid unless changed)."""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.config import NUBC_REVENUE, SERVICE_CATEGORY, SNOMED
from pipeline.events import Event
from schemas.codes import LOINC, NOTIFICATION_EVENT
from schemas.inbound.reasons import ICD10CM
from schemas.ingest import DEFAULT_BASE, Ingested, InvalidInput, ingest

__all__ = ["ICD10CM", "LOINC", "NUBC_REVENUE", "SERVICE_CATEGORY", "SNOMED"]

BASE = DEFAULT_BASE
LOC = f"{BASE}/CodeSystem/level-of-care"
KEY_SYSTEM = f"{BASE}/patient-key"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
THO_DD = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
EVENTS = NOTIFICATION_EVENT
Doc = dict[str, Any]


def cc(system: str, code: str) -> Doc:
    return {"coding": [{"system": system, "code": code}]}


def observation(code: str = "44261-6", **fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": cc(LOINC, code),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-05T10:00:00Z",
        "valueInteger": 14,
    }
    return {**doc, **fields}


def encounter(cls: str = "IMP", status: str = "finished", **fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": status,
        "class": {"system": V3, "code": cls},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-08T15:00:00Z"},
    }
    return {**doc, **fields}


def appointment(status: str = "fulfilled", patients: tuple[str, ...] = ("p1",), **f: Any) -> Doc:
    parts = [{"actor": {"reference": f"Patient/{p}"}, "status": "accepted"} for p in patients]
    parts.append({"actor": {"reference": "Practitioner/t1"}, "status": "accepted"})
    doc: Doc = {
        "resourceType": "Appointment",
        "id": "appt-1",
        "status": status,
        "serviceType": [cc(LOC, "iop")],
        "start": "2026-03-10T14:00:00Z",
        "minutesDuration": 180,
        "participant": parts,
    }
    return {**doc, **f}


def episode(status: str = "active", level: str = "iop", **fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "EpisodeOfCare",
        "id": "eoc-1",
        "status": status,
        "type": [cc(LOC, level)],
        "patient": {"reference": "Patient/p1"},
        "period": {"start": "2026-02-02T00:00:00Z"},
    }
    return {**doc, **fields}


def task(status: str = "accepted", **fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "Task",
        "id": "task-1",
        "status": status,
        "intent": "order",
        "for": {"reference": "Patient/p1"},
        "authoredOn": "2026-03-08T15:00:00Z",
        "lastModified": "2026-03-09T09:00:00Z",
    }
    return {**doc, **fields}


def condition(code: str = "F20.9", **fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "Condition",
        "id": "cond-1",
        "clinicalStatus": cc(CLINICAL, "active"),
        "verificationStatus": cc(VERIFICATION, "confirmed"),
        "code": cc(ICD10CM, code),
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2026-03-04T09:00:00Z",
    }
    return {**doc, **fields}


def patient(**fields: Any) -> Doc:
    doc: Doc = {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"lastUpdated": "2026-03-02T12:00:00Z"},
        "name": [{"family": "Rivera", "given": ["Ana", "M."]}],
        "gender": "female",
    }
    return {**doc, **fields}


def diagnosed(enc: Doc, code: str = "F33.2", rank: int | None = None) -> Doc:
    """``enc`` with a contained principal diagnosis (ICD-10-CM ``code``)."""
    dx: Doc = {"condition": {"reference": "#dx"}}
    if rank is not None:
        dx["rank"] = rank
    contained = {"resourceType": "Condition", "id": "dx", "code": cc(ICD10CM, code)}
    return {**enc, "contained": [contained], "diagnosis": [dx]}


def message(event: str = "notification-discharge", enc: Doc | None = None, **fields: Any) -> Doc:
    focus = enc or {**encounter(), "subject": {"reference": "urn:uuid:pat-1"}}
    header = {
        "resourceType": "MessageHeader",
        "id": "hdr-1",
        "eventCoding": {"system": EVENTS, "code": event},
        "source": {"endpoint": "https://adt.example.org/fhir"},
        "focus": [{"reference": "urn:uuid:enc-1"}],
    }
    doc: Doc = {
        "resourceType": "Bundle",
        "id": "msg-1",
        "type": "message",
        "timestamp": "2026-03-08T15:05:00Z",
        "entry": [
            {"fullUrl": "urn:uuid:hdr-1", "resource": header},
            {"fullUrl": "urn:uuid:enc-1", "resource": focus},
            {"fullUrl": "urn:uuid:pat-1", "resource": {"resourceType": "Patient", "id": "p1"}},
        ],
    }
    return {**doc, **fields}


def collection(*resources: Doc, kind: str = "collection") -> Doc:
    entries = [{"fullUrl": f"urn:uuid:e{i}", "resource": r} for i, r in enumerate(resources)]
    return {"resourceType": "Bundle", "id": "col-1", "type": kind, "entry": entries}


def run(doc: Doc | bytes, **options: Any) -> Ingested:
    """``ingest`` of ``doc``; ``options`` are its keyword arguments (``rules``, ``source``)."""
    return ingest(doc if isinstance(doc, bytes) else orjson.dumps(doc), **options)


def one(doc: Doc | bytes, **options: Any) -> Event:
    """The single event of ``doc`` (no errors, nothing ignored)."""
    out = run(doc, **options)
    assert out.errors == [] and out.ignored == [], out
    assert len(out.events) == 1, out.events
    return out.events[0]


def error(doc: Doc | bytes, **options: Any) -> InvalidInput:
    """The single error of ``doc`` (no events)."""
    out = run(doc, **options)
    assert out.events == [] and len(out.errors) == 1, out
    return out.errors[0]


def ignored(doc: Doc | bytes, **options: Any) -> str:
    """The reason ``doc`` is ignored ("" unless it is exactly one ignored resource)."""
    out = run(doc, **options)
    if out.events or out.errors or len(out.ignored) != 1:
        return ""
    return out.ignored[0].reason
