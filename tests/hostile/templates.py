"""Valid FHIR R4 documents the hostile corpus breaks one field at a time.

Every template is recognized by ingest (an event, or for the Task template an update of a
Task the pipeline never emitted, which the core ignores; stays carry a behavioral-health
principal diagnosis, so the rules act on them: rules.md §2) and reads the fields listed for
it in ``make_corpus.FIELDS``. The patients are those of the public scenarios, so a hostile
document that were wrongly accepted would change the outputs the tests compare.
"""

from __future__ import annotations

import copy
from typing import Any

Doc = dict[str, Any]
BASE = "http://carepath.example.org/fhir"
LOC = f"{BASE}/CodeSystem/level-of-care"
LOINC = "http://loinc.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
THO_DD = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
EVENTS = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def cc(system: str, code: str) -> Doc:
    return {"coding": [{"system": system, "code": code}]}


def _obs(code: str, **value: Any) -> Doc:
    return {
        "resourceType": "Observation",
        "id": f"hx-obs-{code}",
        "meta": {"versionId": "1"},
        "status": "final",
        "code": cc(LOINC, code),
        "subject": {"reference": "Patient/s05"},
        "effectiveDateTime": "2026-03-05T10:00:00Z",
        **value,
    }


_TEMPLATES: dict[str, Doc] = {
    "obs": _obs("44261-6", valueInteger=14),
    "obs-quantity": _obs("70274-6", valueQuantity={"value": 9, "unit": "{score}"}),
    "obs-string": _obs("75626-2", valueString="4"),
    "obs-item9": _obs("44260-8", valueCodeableConcept=cc(LOINC, "LA6569-3")),
    "obs-cssrs": _obs("93374-7", valueCodeableConcept={"text": "low"}),
    "obs-period": {
        **_obs("44261-6", valueInteger=3),
        "effectiveDateTime": None,
        "effectivePeriod": {"start": "2026-03-05T10:00:00Z"},
    },
    "obs-issued": {
        **_obs("44261-6", valueInteger=3),
        "effectiveDateTime": None,
        "issued": "2026-03-05T10:00:00+01:00",
    },
    "enc-discharge": {
        "resourceType": "Encounter",
        "id": "hx-enc-dc",
        "meta": {"versionId": "2"},
        "status": "finished",
        "class": {"system": V3, "code": "IMP"},
        "subject": {"reference": "Patient/s01"},
        "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-08T15:00:00Z"},
        "reasonCode": [cc(ICD10CM, "F33.2")],
        "hospitalization": {"dischargeDisposition": cc(THO_DD, "home")},
    },
    "enc-admission": {
        "resourceType": "Encounter",
        "id": "hx-enc-adm",
        "status": "in-progress",
        "class": {"system": V3, "code": "ACUTE"},
        "subject": {"reference": "Patient/s01"},
        "period": {"start": "2026-03-01T08:00:00Z"},
        "reasonCode": [cc(ICD10CM, "F33.2")],
    },
    "enc-visit": {
        "resourceType": "Encounter",
        "id": "hx-enc-amb",
        "status": "finished",
        "class": {"system": V3, "code": "AMB"},
        "serviceType": cc(LOC, "iop"),
        "subject": {"reference": "Patient/s05"},
        "period": {"start": "2026-03-10T14:00:00Z", "end": "2026-03-10T17:00:00Z"},
        "length": {"value": 3, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"},
        "appointment": [{"reference": "Appointment/hx-appt"}],
    },
    "appt": {
        "resourceType": "Appointment",
        "id": "hx-appt",
        "status": "fulfilled",
        "serviceType": [cc(LOC, "iop")],
        "start": "2026-03-10T14:00:00Z",
        "minutesDuration": 180,
        "participant": [
            {"actor": {"reference": "Patient/s05"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/t1"}, "status": "accepted"},
        ],
    },
    "appt-end": {
        "resourceType": "Appointment",
        "id": "hx-appt-end",
        "status": "fulfilled",
        "serviceType": [cc(LOC, "iop")],
        "start": "2026-03-10T14:00:00Z",
        "end": "2026-03-10T17:00:00Z",
        "participant": [{"actor": {"reference": "Patient/s08"}, "status": "accepted"}],
    },
    "episode": {
        "resourceType": "EpisodeOfCare",
        "id": "hx-eoc",
        "status": "active",
        "type": [cc(LOC, "php")],
        "patient": {"reference": "Patient/s06"},
        "period": {"start": "2026-02-02T00:00:00Z"},
    },
    "episode-exit": {
        "resourceType": "EpisodeOfCare",
        "id": "hx-eoc-exit",
        "status": "finished",
        "type": [cc(LOC, "php")],
        "patient": {"reference": "Patient/s06"},
        "period": {"start": "2026-02-02T00:00:00Z", "end": "2026-02-20T00:00:00Z"},
    },
    "task": {
        "resourceType": "Task",
        "id": "hx-task-unknown",
        "meta": {"versionId": "3"},
        "status": "accepted",
        "intent": "order",
        "for": {"reference": "Patient/s05"},
        "statusReason": {"text": "called back"},
        "authoredOn": "2026-03-08T15:00:00Z",
        "lastModified": "2026-03-09T09:00:00Z",
    },
    "task-authored": {
        "resourceType": "Task",
        "id": "hx-task-unknown-2",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/s05"},
        "authoredOn": "2026-03-08T15:00:00Z",
    },
    "message": {
        "resourceType": "Bundle",
        "id": "hx-msg",
        "type": "message",
        "timestamp": "2026-03-08T15:05:00Z",
        "entry": [
            {
                "fullUrl": "urn:uuid:hx-hdr",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": "hx-hdr",
                    "eventCoding": {"system": EVENTS, "code": "notification-discharge"},
                    "source": {"endpoint": "https://adt.example.org/fhir"},
                    "focus": [{"reference": "urn:uuid:hx-enc"}],
                },
            },
            {
                "fullUrl": "urn:uuid:hx-enc",
                "resource": {
                    "resourceType": "Encounter",
                    "id": "hx-msg-enc",
                    "status": "finished",
                    "class": {"system": V3, "code": "IMP"},
                    "subject": {"reference": "urn:uuid:hx-pat"},
                    "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-08T15:00:00Z"},
                    "reasonCode": [cc(ICD10CM, "F33.2")],
                },
            },
            {
                "fullUrl": "urn:uuid:hx-pat",
                "resource": {"resourceType": "Patient", "id": "s01"},
            },
        ],
    },
    # v2 kinds (contract §3): an ED visit whose principal diagnosis is a contained Condition
    # (intentional self-poisoning), telehealth, a death, a contraindication, a case
    # manager's Task update with owner, note and the patient key
    "enc-ed": {
        "resourceType": "Encounter",
        "id": "hx-enc-ed",
        "status": "finished",
        "class": {"system": V3, "code": "EMER"},
        "subject": {"reference": "Patient/s07"},
        "period": {"start": "2026-03-02T08:00:00Z", "end": "2026-03-02T15:00:00Z"},
        "diagnosis": [{"condition": {"reference": "#hx-dx"}, "rank": 1}],
        "contained": [
            {"resourceType": "Condition", "id": "hx-dx", "code": cc(ICD10CM, "T43.222A")}
        ],
    },
    "enc-vr": {
        "resourceType": "Encounter",
        "id": "hx-enc-vr",
        "status": "finished",
        "class": {"system": V3, "code": "VR"},
        "serviceType": cc(LOC, "op"),
        "subject": {"reference": "Patient/s05"},
        "period": {"start": "2026-03-11T14:00:00Z", "end": "2026-03-11T15:00:00Z"},
    },
    "patient-died": {
        "resourceType": "Patient",
        "id": "s03",
        "name": [{"family": "Hostile", "given": ["Corpus"]}],
        "deceasedDateTime": "2026-03-20T10:00:00Z",
    },
    "patient-deceased": {"resourceType": "Patient", "id": "s04", "deceasedBoolean": True},
    "condition": {
        "resourceType": "Condition",
        "id": "hx-cond",
        "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "verificationStatus": cc(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"
        ),
        "code": cc(ICD10CM, "F20.9"),
        "subject": {"reference": "Patient/s05"},
        "onsetDateTime": "2026-03-04T10:00:00Z",
    },
    "task-owner": {
        "resourceType": "Task",
        "id": "hx-task-owner",
        "status": "accepted",
        "intent": "order",
        "for": {
            "reference": "Patient/s05",
            "identifier": {"system": f"{BASE}/patient-key", "value": "s05"},
        },
        "owner": {"reference": "Organization/hx-team"},
        "note": [{"text": "called back"}],
        "lastModified": "2026-03-09T09:00:00Z",
    },
    "collection": {
        "resourceType": "Bundle",
        "id": "hx-col",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:hx-col-obs",
                "resource": {
                    **_obs("44261-6", valueInteger=5),
                    "subject": {"reference": "urn:uuid:hx-col-pat"},
                },
            },
            {
                "fullUrl": "urn:uuid:hx-col-pat",
                "resource": {"resourceType": "Patient", "id": "s07"},
            },
        ],
    },
}


def template(name: str) -> Doc:
    """A fresh copy of the named template (``None`` members removed)."""
    doc = copy.deepcopy(_TEMPLATES[name])
    return {k: v for k, v in doc.items() if v is not None}


def names() -> list[str]:
    return list(_TEMPLATES)
