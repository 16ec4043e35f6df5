"""Pre-rendered FHIR R4 JSON templates for the synthetic population.

Each template is built once from a dict with :func:`orjson.dumps` (so its structure is valid
JSON by construction) and turned into a ``%``-format string: ``S`` becomes a quoted string
slot, ``I`` an integer slot and ``R`` a raw JSON fragment slot, in dict order. Rendering a
document is then one ``%`` operation, about a microsecond.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from schemas.outbound import DEFAULT_BASE

S: Final = "@S@"
I: Final = "@I@"  # noqa: E741
R: Final = "@R@"

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
ACTCODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISPOSITION: Final = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
NUBC_UB92: Final = "http://terminology.hl7.org/CodeSystem/nubc-UB92"
NOTIFICATION: Final = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
HCPCS: Final = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
REVENUE: Final = "https://www.nubc.org/CodeSystem/RevenueCodes"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
LEVEL_SYSTEM: Final = DEFAULT_BASE + "/CodeSystem/level-of-care"
CSSRS_SYSTEM: Final = DEFAULT_BASE + "/CodeSystem/cssrs-risk"

PHQ9: Final = "44261-6"
PHQ9_ITEM9: Final = "44260-8"
GAD7: Final = "70274-6"
AUDITC: Final = "75626-2"
CSSRS: Final = "93374-7"
HEART_RATE: Final = "8867-4"


def tpl(obj: Any) -> str:
    """A ``%`` template from a JSON-ready object with ``S``/``I``/``R`` placeholders."""
    raw = orjson.dumps(obj).decode().replace("%", "%%")
    return raw.replace(f'"{S}"', '"%s"').replace(f'"{I}"', "%d").replace(f'"{R}"', "%s")


def head(obj: dict[str, Any]) -> str:
    """A template without its closing brace, so a variable member can be appended."""
    text = tpl(obj)
    assert text.endswith("}")
    return text[:-1]


def coding(system: str, code: str) -> str:
    """A CodeableConcept with one coding, as a JSON fragment."""
    return orjson.dumps({"coding": [{"system": system, "code": code}]}).decode()


def reason(icd10cm: str) -> str:
    """``Encounter.reasonCode`` with one ICD-10-CM code, as a JSON fragment: a stay's
    principal diagnosis when it has no ``diagnosis`` (rules.md §2)."""
    return orjson.dumps([{"coding": [{"system": ICD10CM, "code": icd10cm}]}]).decode()


#: A behavioral-health principal diagnosis (recurrent major depression, severe): a stay
#: that carries it is in scope (rules.md §2).
BH_REASON: Final = reason("F33.2")

_SURVEY = [{"coding": [{"system": OBS_CATEGORY, "code": "survey"}]}]

# Observation heads: id, status, LOINC code, subject reference, time -- then a value member.
OBS_DT = head(
    {
        "resourceType": "Observation",
        "id": S,
        "status": S,
        "category": _SURVEY,
        "code": {"coding": [{"system": LOINC, "code": S}]},
        "subject": {"reference": S},
        "effectiveDateTime": S,
    }
)
OBS_PERIOD = head(
    {
        "resourceType": "Observation",
        "id": S,
        "status": S,
        "category": _SURVEY,
        "code": {"coding": [{"system": LOINC, "code": S}]},
        "subject": {"reference": S},
        "effectivePeriod": {"start": S},
    }
)
OBS_NO_SUBJECT = head(
    {
        "resourceType": "Observation",
        "id": S,
        "status": "final",
        "category": _SURVEY,
        "code": {"coding": [{"system": LOINC, "code": PHQ9}]},
        "effectiveDateTime": S,
    }
)
V_INT = ',"valueInteger":%d}'
V_QTY = ',"valueQuantity":{"value":%d,"system":"' + UCUM + '","code":"{score}"}}'
V_STR = ',"valueString":"%s"}'
V_CC = ',"valueCodeableConcept":%s}'
V_HR = ',"valueQuantity":{"value":%d,"unit":"beats/minute","system":"' + UCUM + '","code":"/min"}}'

ITEM9_ANSWERS = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
ITEM9_CC = tuple(coding(LOINC, a) for a in ITEM9_ANSWERS)
CSSRS_CC = {
    "low": (
        '{"coding":[{"system":"' + LOINC + '","code":"LA9194-7","display":"Low risk"}]}',
        '{"text":"Low"}',
        '{"coding":[{"system":"' + CSSRS_SYSTEM + '","code":"low"}],"text":"low"}',
    ),
    "moderate": (
        '{"text":"Moderate"}',
        '{"coding":[{"system":"' + CSSRS_SYSTEM + '","code":"moderate"}],"text":"moderate"}',
    ),
    "high": (
        '{"text":"High"}',
        '{"coding":[{"system":"' + CSSRS_SYSTEM + '","code":"high"}],"text":"high"}',
    ),
}

# Stays: id, class code, subject reference, period..., reasonCode (raw, :func:`reason`)...
ENC_ADMIT = tpl(
    {
        "resourceType": "Encounter",
        "id": S,
        "status": "in-progress",
        "class": {"system": ACTCODE, "code": S},
        "subject": {"reference": S},
        "period": {"start": S},
        "reasonCode": R,
    }
)
ENC_DISCHARGE = tpl(
    {
        "resourceType": "Encounter",
        "id": S,
        "status": "finished",
        "class": {"system": ACTCODE, "code": S},
        "subject": {"reference": S},
        "period": {"start": S, "end": S},
        "reasonCode": R,
        "hospitalization": {"dischargeDisposition": {"coding": [{"system": S, "code": S}]}},
    }
)
ENC_DISCHARGE_NO_DISP = tpl(
    {
        "resourceType": "Encounter",
        "id": S,
        "status": "finished",
        "class": {"system": ACTCODE, "code": S},
        "subject": {"reference": S},
        "period": {"start": S, "end": S},
        "reasonCode": R,
    }
)
# AMB session: id, serviceType (raw), subject, start, end -- then optional length/appointment.
ENC_AMB = head(
    {
        "resourceType": "Encounter",
        "id": S,
        "status": "finished",
        "class": {"system": ACTCODE, "code": "AMB"},
        "serviceType": R,
        "subject": {"reference": S},
        "period": {"start": S, "end": S},
    }
)
AMB_LENGTH = ',"length":{"value":%d,"unit":"min","system":"' + UCUM + '","code":"min"}'
AMB_APPOINTMENT = ',"appointment":[{"reference":"Appointment/%s"}]'

# Message Bundle: id, timestamp, header fullUrl, header id, event code, focus ref,
# encounter fullUrl, encounter (raw), patient fullUrl, patient id, MRN.
MESSAGE = tpl(
    {
        "resourceType": "Bundle",
        "id": S,
        "type": "message",
        "timestamp": S,
        "entry": [
            {
                "fullUrl": S,
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": S,
                    "eventCoding": {"system": NOTIFICATION, "code": S},
                    "source": {
                        "name": "north-campus-adt",
                        "endpoint": "https://adt.example.org/fhir",
                    },
                    "focus": [{"reference": S}],
                },
            },
            {"fullUrl": S, "resource": R},
            {
                "fullUrl": S,
                "resource": {
                    "resourceType": "Patient",
                    "id": S,
                    "identifier": [{"system": "https://adt.example.org/mrn", "value": S}],
                },
            },
        ],
    }
)
# Message Bundle with no MessageHeader (invalid): id, timestamp, encounter fullUrl, encounter.
MESSAGE_NO_HEADER = tpl(
    {
        "resourceType": "Bundle",
        "id": S,
        "type": "message",
        "timestamp": S,
        "entry": [{"fullUrl": S, "resource": R}],
    }
)
# Collection Bundle: id, patient fullUrl, patient id, further entries (raw, comma-joined).
COLLECTION = tpl(
    {
        "resourceType": "Bundle",
        "id": S,
        "type": "collection",
        "entry": [{"fullUrl": S, "resource": {"resourceType": "Patient", "id": S}}, R],
    }
)
ENTRY = '{"fullUrl":"urn:uuid:%s","resource":%s}'

# EpisodeOfCare: id, status, type (raw), patient, period (raw).
EPISODE = tpl(
    {
        "resourceType": "EpisodeOfCare",
        "id": S,
        "status": S,
        "type": [R],
        "patient": {"reference": S},
        "period": R,
    }
)

# Appointment: id, status, serviceType (raw), start -- then duration/end, participants.
APPOINTMENT = head(
    {
        "resourceType": "Appointment",
        "id": S,
        "status": S,
        "serviceType": [R],
        "start": S,
    }
)
APPT_MINUTES = ',"minutesDuration":%d'
APPT_END = ',"end":"%s"'
APPT_PARTICIPANTS = ',"participant":[%s]}'
PATIENT_PARTICIPANT = '{"actor":{"reference":"Patient/%s"},"status":"accepted"}'
PRACTITIONER_PARTICIPANT = '{"actor":{"reference":"Practitioner/therapist-%d"},"status":"accepted"}'

PATIENT = tpl(
    {
        "resourceType": "Patient",
        "id": S,
        "identifier": [{"system": "https://adt.example.org/mrn", "value": S}],
    }
)
