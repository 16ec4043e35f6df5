"""Values the boundary reads: scores, risk levels, levels of care, dispositions, minutes,
times, and what is ignored rather than dead-lettered (contract §3–4, rules.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from pipeline.events import (
    AssessmentRecorded,
    Disposition,
    PatientDischarged,
    ProgramEnrolled,
    SessionAttended,
)
from pipeline.levels import Level
from schemas.ingest import ingest
from schemas.timeparse import Frame, parse_time
from tests.unit.ingest_docs import (
    LOC,
    LOINC,
    THO_DD,
    V3,
    Doc,
    appointment,
    cc,
    collection,
    condition,
    encounter,
    episode,
    ignored,
    message,
    observation,
    one,
    run,
    task,
)


def score(doc: Doc) -> int:
    event = one(doc)
    assert isinstance(event, AssessmentRecorded)
    return event.value


@pytest.mark.parametrize(
    "value",
    [
        {"valueInteger": 14},
        {"valueQuantity": {"value": 14, "system": "http://unitsofmeasure.org", "code": "{score}"}},
        {"valueQuantity": {"value": 14.0, "unit": "score", "code": "1"}},
        {"valueString": "14"},
        {"valueString": " 14 "},
        {"valueString": "14.0"},
    ],
)
def test_numeric_score_forms(value: dict[str, Any]) -> None:
    doc = observation(**value)
    if "valueInteger" not in value:
        del doc["valueInteger"]
    assert score(doc) == 14


@pytest.mark.parametrize(("code", "top"), [("44261-6", 27), ("70274-6", 21), ("75626-2", 12)])
def test_score_range_bounds_are_inclusive(code: str, top: int) -> None:
    assert score(observation(code, valueInteger=0)) == 0
    assert score(observation(code, valueInteger=top)) == top


@pytest.mark.parametrize(
    ("answer", "value"), [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3)]
)
def test_phq9_item9_answer_codes(answer: str, value: int) -> None:
    doc = observation("44260-8", valueCodeableConcept=cc(LOINC, answer))
    del doc["valueInteger"]
    assert score(doc) == value
    assert score(observation("44260-8", valueInteger=value)) == value


@pytest.mark.parametrize(
    ("value", "risk"),
    [
        ({"valueCodeableConcept": cc(LOINC, "LA9194-7")}, 1),
        ({"valueCodeableConcept": cc(LOINC, "LA6751-7")}, 2),
        ({"valueCodeableConcept": cc(LOINC, "LA9193-9")}, 3),
        ({"valueCodeableConcept": cc("http://carepath.example.org/fhir/cssrs", "moderate")}, 2),
        ({"valueCodeableConcept": {"text": "High"}}, 3),
        ({"valueCodeableConcept": {"coding": [{"code": "LA1-1"}], "text": "Low risk"}}, 1),
        ({"valueString": "HIGH"}, 3),
        ({"valueString": "moderate"}, 2),
    ],
)
def test_cssrs_risk_levels(value: dict[str, Any], risk: int) -> None:
    doc = observation("93374-7", **value)
    del doc["valueInteger"]
    assert score(doc) == risk


def test_effective_time_fallbacks() -> None:
    base = observation()
    del base["effectiveDateTime"]
    period = base | {"effectivePeriod": {"start": "2026-03-05T10:00:00+02:00"}}
    assert one(period).time == datetime(2026, 3, 5, 8, tzinfo=UTC)
    issued = base | {"issued": "2026-03-06T00:00:00.123Z"}
    assert one(issued).time == datetime(2026, 3, 6, 0, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-05", datetime(2026, 3, 5, tzinfo=UTC)),
        ("2026-03-05T10:00:00Z", datetime(2026, 3, 5, 10, tzinfo=UTC)),
        ("2026-03-05T10:00:00-05:00", datetime(2026, 3, 5, 15, tzinfo=UTC)),
        ("2026-03-05T23:30:00-05:00", datetime(2026, 3, 6, 4, 30, tzinfo=UTC)),
        ("2026-03-05T10:00:00.123456789+00:00", datetime(2026, 3, 5, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-02-29T00:00:00+14:00", datetime(2024, 2, 28, 10, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    got = parse_time(text, "x", Frame(UTC))
    assert got == expected and got.tzinfo is UTC


def test_parse_time_keeps_instant_across_zones() -> None:
    east = parse_time("2026-03-05T10:00:00+05:30", "x", Frame(UTC))
    assert east == datetime(2026, 3, 5, 10, tzinfo=timezone(timedelta(hours=5, minutes=30)))


LEVELS = [
    (LOC, "inpatient", Level.INPATIENT),
    (LOC, "php", Level.PHP),
    (LOC, "iop", Level.IOP),
    (LOC, "op", Level.OP),
    (V3, "IMP", Level.INPATIENT),
    (V3, "ACUTE", Level.INPATIENT),
    (V3, "NONAC", Level.INPATIENT),
    ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "H0035", Level.PHP),
    ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "S0201", Level.PHP),
    ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "S9480", Level.IOP),
    ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "H0015", Level.IOP),
    ("https://www.nubc.org/CodeSystem/RevenueCodes", "0912", Level.PHP),
    ("https://www.nubc.org/CodeSystem/RevenueCodes", "0913", Level.PHP),
    ("https://www.nubc.org/CodeSystem/RevenueCodes", "0905", Level.IOP),
    ("https://www.nubc.org/CodeSystem/RevenueCodes", "0906", Level.IOP),
]


@pytest.mark.parametrize(("system", "code", "level"), LEVELS)
def test_levels_of_care(system: str, code: str, level: Level) -> None:
    ev = one(episode(type=[{"text": "program"}, cc(system, code)]))
    assert isinstance(ev, ProgramEnrolled) and ev.level is level
    att = one(appointment(serviceType=[cc(system, code)]))
    assert isinstance(att, SessionAttended) and att.level is level
    amb = one(encounter("AMB", serviceType=cc(system, code)))
    assert isinstance(amb, SessionAttended) and amb.level is level


def test_level_system_follows_the_configured_base() -> None:
    doc = episode(type=[cc("https://other.example/fhir/CodeSystem/level-of-care", "iop")])
    [event] = ingest(orjson.dumps(doc), base="https://other.example/fhir/").events
    assert isinstance(event, ProgramEnrolled) and event.level is Level.IOP
    assert ignored(doc)


def test_appointment_without_service_codes_counts_as_attendance_only() -> None:
    att = one(appointment(serviceType=[{"text": "group therapy"}]))
    assert isinstance(att, SessionAttended) and att.level is None and att.bh is False


DISPOSITIONS = [
    (THO_DD, "home", Disposition.COMMUNITY),
    (THO_DD, "alt-home", Disposition.COMMUNITY),
    (THO_DD, "oth", Disposition.COMMUNITY),
    (THO_DD, "aadvice", Disposition.AGAINST_ADVICE),
    (THO_DD, "exp", Disposition.EXPIRED),
    *[
        (THO_DD, c, Disposition.TRANSFER)
        for c in ("other-hcf", "hosp", "long", "psy", "rehab", "snf")
    ],
    ("http://terminology.hl7.org/CodeSystem/nubc-UB92", "1", Disposition.COMMUNITY),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "01", Disposition.COMMUNITY),
    ("http://www.nubc.org/patient-discharge", "01", Disposition.COMMUNITY),
    ("http://www.nubc.org/patient-discharge", "06", Disposition.COMMUNITY),
    ("http://www.nubc.org/patient-discharge", "7", Disposition.AGAINST_ADVICE),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "07", Disposition.AGAINST_ADVICE),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "20", Disposition.EXPIRED),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "41", Disposition.EXPIRED),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "02", Disposition.TRANSFER),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "5", Disposition.TRANSFER),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "65", Disposition.TRANSFER),
    ("https://www.nubc.org/CodeSystem/PatDischargeStatus", "93", Disposition.TRANSFER),
    ("http://snomed.info/sct", "306689006", Disposition.COMMUNITY),
]


@pytest.mark.parametrize(("system", "code", "expected"), DISPOSITIONS)
def test_discharge_dispositions(system: str, code: str, expected: Disposition) -> None:
    doc = encounter(hospitalization={"dischargeDisposition": cc(system, code)})
    dc = one(doc)
    assert isinstance(dc, PatientDischarged)
    assert (dc.disposition, dc.disposition_code) == (expected, code)
    via_message = one(message(enc={**doc, "subject": {"reference": "urn:uuid:pat-1"}}))
    assert isinstance(via_message, PatientDischarged) and via_message.disposition is expected


def test_known_system_wins_over_an_earlier_unknown_coding() -> None:
    cc2 = {"coding": [{"system": "urn:local", "code": "H"}, {"system": THO_DD, "code": "exp"}]}
    dc = one(encounter(hospitalization={"dischargeDisposition": cc2}))
    assert isinstance(dc, PatientDischarged) and dc.disposition is Disposition.EXPIRED


def test_no_disposition_is_community() -> None:
    dc = one(encounter())
    assert isinstance(dc, PatientDischarged)
    assert (dc.disposition, dc.disposition_code) == (Disposition.COMMUNITY, None)


def minutes(doc: Doc) -> int:
    ev = one(doc)
    assert isinstance(ev, SessionAttended)
    return ev.minutes


def test_appointment_minutes() -> None:
    assert minutes(appointment(minutesDuration=50, end="2026-03-10T17:00:00Z")) == 50
    assert minutes(appointment(minutesDuration=None, end="2026-03-10T16:30:00Z")) == 150
    assert minutes(appointment(minutesDuration=None)) == 0


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        ({"value": 171, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}, 171),
        ({"value": 56, "unit": "minutes", "code": "min"}, 56),
        ({"value": 2.5, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"}, 150),
        ({"value": 3, "unit": "hours"}, 180),
        ({"value": 5400, "code": "s"}, 90),
        ({"value": 45}, 45),
    ],
)
def test_encounter_length_units(length: dict[str, Any], expected: int) -> None:
    assert minutes(encounter("AMB", serviceType=cc(LOC, "iop"), length=length)) == expected


def test_encounter_minutes_from_period_and_appointments() -> None:
    doc = encounter(
        "AMB",
        serviceType=cc(LOC, "php"),
        period={"start": "2026-03-11T09:04:00-05:00", "end": "2026-03-11T11:55:00-05:00"},
        appointment=[{"reference": "Appointment/a1"}, {"reference": "Appointment/a2"}],
    )
    ev = one(doc)
    assert isinstance(ev, SessionAttended)
    assert (ev.minutes, ev.appointments, ev.level) == (171, ("a1", "a2"), Level.PHP)


IGNORED: dict[str, tuple[Doc, str]] = {
    "other-loinc": (
        observation("8867-4", valueInteger=72),
        "Observation.code: LOINC 8867-4 is not a recognized instrument",
    ),
    "snomed-code": (
        {**observation(), "code": cc("http://snomed.info/sct", "720433000")},
        "Observation.code: SNOMED 720433000 is not a recognized instrument (LOINC only)",
    ),
    "text-code": (
        {**observation(), "code": {"text": "mood"}},
        "Observation.code: no coded instrument (text only)",
    ),
    "preliminary": (
        observation(status="preliminary"),
        "Observation.status: preliminary is not a final result (final, amended, corrected)",
    ),
    "data-absent": (
        {**observation(valueInteger=None), "dataAbsentReason": {"text": "asked"}},
        "Observation.value[x]: absent (dataAbsentReason) for PHQ-9 total",
    ),
    "cancelled-appt": (
        appointment("cancelled"),
        "Appointment.status: cancelled is not a session outcome (fulfilled, noshow)",
    ),
    "booked-appt": (
        appointment("booked"),
        "Appointment.status: booked is not a session outcome (fulfilled, noshow)",
    ),
    "emergency-in-progress": (
        encounter("EMER", status="in-progress"),
        "Encounter.status: in-progress; an ED visit counts when finished",
    ),
    "emergency-no-period": (
        encounter("EMER", period=None),
        "Encounter.period: absent; an ED visit needs period.end or period.start",
    ),
    "home-health": (
        encounter("HH"),
        "Encounter.class: HH is not a recognized class (IMP, ACUTE, NONAC, EMER, OBSENC, AMB, VR)",
    ),
    "amb-without-level": (
        encounter("AMB"),
        "Encounter/enc-1: out of scope: not a behavioral-health session (no level of care or"
        " behavioral-health service code in serviceType/type)",
    ),
    "amb-in-progress": (
        encounter("AMB", status="in-progress", serviceType=cc(LOC, "iop")),
        "Encounter.status: in-progress; an ambulatory (AMB) session counts when finished",
    ),
    "amb-no-start": (
        encounter("VR", serviceType=cc(LOC, "iop"), period={"end": "2026-03-01T09:00:00Z"}),
        "Encounter.period.start: absent; a session needs its start time",
    ),
    "planned-inpatient": (
        encounter(status="planned"),
        "Encounter.status: planned is neither an admission nor a discharge",
    ),
    "inpatient-no-period-end": (
        encounter(period={"start": "2026-03-01T08:00:00Z"}),
        "Encounter.period.end: absent; a finished stay is a discharge at it",
    ),
    "inpatient-no-period": (
        encounter(status="in-progress", period=None),
        "Encounter.period.start: absent; an in-progress stay is an admission from it",
    ),
    "other-class-system": (
        encounter(**{"class": {"system": "urn:v2-0004", "code": "IMP"}}),
        "Encounter.class: system urn:v2-0004 is not v3-ActCode",
    ),
    "episode-without-level": (
        episode(type=[{"text": "HACC"}]),
        "EpisodeOfCare.type: no level of care (contract §4 codes)",
    ),
    "episode-planned": (
        episode(status="planned"),
        "EpisodeOfCare.status: planned is neither an enrollment (active) nor an exit"
        " (finished, cancelled)",
    ),
    "task-for-group": (
        task(**{"for": {"reference": "Group/g1"}}),
        "Task.for: a Group, not a resolvable Patient; no patient to route to",
    ),
    "task-without-for": (
        task(**{"for": None}),
        "Task.for: absent; no patient to route the update to",
    ),
    "task-without-time": (
        task(authoredOn=None, lastModified=None),
        "Task.lastModified: absent, and no authoredOn; the update has no time",
    ),
    "task-without-id": (task(id=None), "Task.id: absent; not a Task the pipeline emitted"),
    "task-for-conditional": (
        task(**{"for": {"reference": "Patient?identifier=urn:mrn|1"}}),
        "Task.for: not a literal reference, not a resolvable Patient; no patient to route to",
    ),
    "message-header-alone": (
        message()["entry"][0]["resource"],
        "MessageHeader: not a resource type the pipeline reads",
    ),
    "service-request": (
        {"resourceType": "ServiceRequest", "id": "sr", "status": "active"},
        "ServiceRequest: not a resource type the pipeline reads",
    ),
    "patient-without-id": (
        {"resourceType": "Patient", "gender": "male"},
        "Patient.id: absent; no patient to record",
    ),
    "condition-not-contra": (
        condition("F33.2"),
        "Condition.code: ICD-10-CM F33.2 is not in a contraindication list",
    ),
    "condition-snomed": (
        {**condition(), "code": cc("http://snomed.info/sct", "58214004")},
        "Condition.code: SNOMED 58214004 is not ICD-10-CM; contraindications are ICD-10-CM codes",
    ),
    "condition-untimed": (
        condition(onsetDateTime=None),
        "Condition.onsetDateTime: absent, and no recordedDate or meta.lastUpdated",
    ),
    "observation-error-without-id": (
        observation(id=None, status="entered-in-error"),
        "Observation: entered-in-error without an id names nothing to retract",
    ),
    "document-bundle": (
        collection(observation(), kind="document"),
        "Bundle.type: document is neither a message nor a collection of entries",
    ),
    "empty-collection": (collection(), "Bundle.entry: no resource to read"),
    "other-notification": (
        message("notification-transfer"),
        "MessageHeader.eventCoding: notification-transfer is not an admit or discharge"
        " notification",
    ),
    "ambulatory-notification": (
        message(enc={**encounter("AMB"), "subject": {"reference": "urn:uuid:pat-1"}}),
        "Encounter.class: AMB is not an inpatient (IMP, ACUTE, NONAC) or emergency (EMER,"
        " OBSENC) class (message focus)",
    ),
}


@pytest.mark.parametrize("name", list(IGNORED))
def test_valid_but_not_recognized_is_ignored_with_its_reason(name: str) -> None:
    doc, reason = IGNORED[name]
    assert ignored(doc) == reason


def test_ignored_record_names_the_resource() -> None:
    [record] = run(observation("8867-4", id="o9")).ignored
    assert (record.resource_type, record.id) == ("Observation", "o9")
    [record] = run(observation("8867-4", id="bad id!")).ignored
    assert record.id is None


def test_ignored_reasons_quote_codes_not_clinical_values() -> None:
    doc = {
        **observation(),
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}], "text": "pulse"},
    }
    doc["valueQuantity"] = {"value": 187, "unit": "/min"}
    reason = ignored(doc)
    assert "pulse" not in reason and "187" not in reason
    appt = appointment(serviceType=[{"coding": [{"code": "x" * 200}], "text": "dermatology"}])
    reason = ignored(appt)
    assert "dermatology" not in reason and len(reason) < 200


def test_unresolvable_non_patient_participants_and_appointments_are_skipped() -> None:
    doc = appointment()
    doc["participant"] += [
        {"actor": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9"}},
        {"actor": {"reference": "urn:uuid:not-in-this-document"}},
    ]
    assert [e.patient for e in run(doc).events] == ["p1"]
    refs = [{"reference": "urn:uuid:elsewhere"}, {"reference": "Appointment/a1"}]
    amb = one(encounter("AMB", serviceType=cc(LOC, "iop"), appointment=refs))
    assert isinstance(amb, SessionAttended) and amb.appointments == ("a1",)
