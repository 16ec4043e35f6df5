"""The kinds contract v2 added or changed (§3): ED visits, program exits with their status,
assessment versions and negative C-SSRS screens, contraindication Conditions,
retractions, Patients and deaths, Task owner and note; and local dates (rules.md §8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.clock import EPOCH
from pipeline.config import parse_rules
from pipeline.events import (
    AssessmentRecorded,
    ConditionRecorded,
    Contra,
    EdVisited,
    PatientDied,
    PatientDischarged,
    PatientRecorded,
    ProgramExited,
    Retracted,
    TaskUpdated,
)
from tests.unit.ingest_docs import (
    CLINICAL,
    ICD10CM,
    LOINC,
    VERIFICATION,
    appointment,
    cc,
    collection,
    condition,
    encounter,
    episode,
    error,
    message,
    observation,
    one,
    patient,
    run,
    task,
)

NEW_YORK = parse_rules({"site": {"timezone": "America/New_York"}})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- ED visits ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["notification-admit", "notification-discharge"])
def test_a_notification_about_an_emergency_encounter_is_an_ed_visit(event: str) -> None:
    enc = {**encounter("EMER"), "subject": {"reference": "urn:uuid:pat-1"}}
    got = one(message(event, enc=enc))
    assert isinstance(got, EdVisited)
    assert (got.event_id, got.patient, got.ref) == ("Bundle/msg-1", "p1", "Encounter/enc-1")
    assert got.time == utc(2026, 3, 8, 15)


def test_an_in_progress_emergency_notification_is_timed_by_its_start() -> None:
    enc = {**encounter("EMER", status="in-progress"), "subject": {"reference": "urn:uuid:pat-1"}}
    enc["period"] = {"start": "2026-03-01T08:00:00Z"}
    got = one(message("notification-admit", enc=enc))
    assert isinstance(got, EdVisited) and got.time == utc(2026, 3, 1, 8)


# -- program exits ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "finished"), [("finished", True), ("cancelled", False)])
def test_program_exit_keeps_its_status(status: str, finished: bool) -> None:
    got = one(episode(status, period={"start": "2026-02-02T00:00:00Z"}))
    assert isinstance(got, ProgramExited) and got.finished is finished


# -- assessments --------------------------------------------------------------------------


def test_assessment_version_is_the_version_id_else_the_content_hash() -> None:
    versioned = one(observation(meta={"versionId": "7"}))
    assert isinstance(versioned, AssessmentRecorded) and versioned.version == "7"
    hashed = one(observation())
    assert isinstance(hashed, AssessmentRecorded)
    assert hashed.event_id == f"Observation/obs-1#{hashed.version}"
    other = one(observation(valueInteger=15))
    assert isinstance(other, AssessmentRecorded) and other.version != hashed.version


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "none"},
        {"valueString": " No Risk "},
        {"valueString": "NEGATIVE"},
        {"valueCodeableConcept": {"text": "None"}},
        {"valueCodeableConcept": {"coding": [{"system": "urn:local", "code": "negative"}]}},
    ],
)
def test_a_negative_cssrs_screen_is_risk_zero(value: dict[str, Any]) -> None:
    doc = {**observation("93374-7"), **value}
    del doc["valueInteger"]
    got = one(doc)
    assert isinstance(got, AssessmentRecorded) and got.value == 0


# -- retractions --------------------------------------------------------------------------


def test_observation_entered_in_error_is_a_retraction_at_its_own_time() -> None:
    got = one(observation(status="entered-in-error", meta={"versionId": "2"}))
    assert isinstance(got, Retracted)
    assert (got.ref, got.event_id, got.timed) == (
        "Observation/obs-1",
        "Observation/obs-1/_history/2",
        True,
    )
    assert got.time == utc(2026, 3, 5, 10)


def test_retraction_time_falls_back_to_issued_then_last_updated_then_untimed() -> None:
    doc = observation(status="entered-in-error", effectiveDateTime=None)
    issued = one({**doc, "issued": "2026-03-06T08:00:00Z"})
    assert isinstance(issued, Retracted) and issued.time == utc(2026, 3, 6, 8)
    updated = one({**doc, "meta": {"lastUpdated": "2026-03-07T09:00:00Z"}})
    assert isinstance(updated, Retracted) and updated.time == utc(2026, 3, 7, 9) and updated.timed
    untimed = one(doc)
    assert isinstance(untimed, Retracted) and not untimed.timed and untimed.time == EPOCH


def test_encounter_entered_in_error_is_a_retraction() -> None:
    for cls in ("IMP", "EMER", "AMB"):
        got = one(encounter(cls, status="entered-in-error"))
        assert isinstance(got, Retracted) and got.ref == "Encounter/enc-1"
        assert got.time == utc(2026, 3, 8, 15) and got.timed
    untimed = one(encounter(status="entered-in-error", period=None))
    assert isinstance(untimed, Retracted) and not untimed.timed


def test_a_notification_about_an_encounter_entered_in_error_is_a_retraction() -> None:
    enc = {**encounter(status="entered-in-error"), "subject": {"reference": "urn:uuid:pat-1"}}
    got = one(message(enc=enc))
    assert isinstance(got, Retracted) and got.ref == "Encounter/enc-1" and got.patient == "p1"


def test_condition_entered_in_error_is_a_retraction() -> None:
    got = one(condition(verificationStatus=cc(VERIFICATION, "entered-in-error")))
    assert isinstance(got, Retracted) and got.ref == "Condition/cond-1"
    assert got.time == utc(2026, 3, 4, 9)


# -- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("F20.9", Contra.PSYCHOSIS),
        ("F25.0", Contra.PSYCHOSIS),
        ("F32.3", Contra.PSYCHOSIS),
        ("F10.130", Contra.WITHDRAWAL),
        ("F11.23", Contra.WITHDRAWAL),
        ("f1993", Contra.WITHDRAWAL),
    ],
)
def test_contraindication_codes(code: str, kind: Contra) -> None:
    got = one(condition(code))
    assert isinstance(got, ConditionRecorded)
    assert (got.kind, got.code, got.active, got.patient) == (kind, code, True, "p1")
    assert got.time == utc(2026, 3, 4, 9) and got.ref == "Condition/cond-1"


@pytest.mark.parametrize(
    ("clinical", "verification", "active"),
    [
        ("active", "confirmed", True),
        (None, None, True),
        ("recurrence", None, True),
        ("relapse", "confirmed", True),
        ("inactive", "confirmed", False),
        ("resolved", None, False),
        ("remission", "confirmed", False),
        ("active", "provisional", False),
        ("active", "differential", False),
        ("active", "unconfirmed", False),
        ("active", "refuted", False),
    ],
)
def test_condition_activity(clinical: str | None, verification: str | None, active: bool) -> None:
    doc = condition(
        clinicalStatus=cc(CLINICAL, clinical) if clinical else None,
        verificationStatus=cc(VERIFICATION, verification) if verification else None,
    )
    got = one(doc)
    assert isinstance(got, ConditionRecorded) and got.active is active


def test_condition_time_falls_back_to_recorded_date_then_last_updated() -> None:
    recorded = one(condition(onsetDateTime=None, recordedDate="2026-03-03T10:00:00Z"))
    assert recorded.time == utc(2026, 3, 3, 10)
    updated = one(condition(onsetDateTime=None, meta={"lastUpdated": "2026-03-02T11:00:00Z"}))
    assert updated.time == utc(2026, 3, 2, 11)
    period = one(condition(onsetDateTime=None, onsetPeriod={"start": "2026-03-01T12:00:00Z"}))
    assert period.time == utc(2026, 3, 1, 12)


def test_condition_reads_the_first_listed_icd10cm_code() -> None:
    doc = condition()
    doc["code"] = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "58214004"},
            {"system": ICD10CM, "code": "F33.1"},
            {"system": ICD10CM, "code": "F10.230"},
        ]
    }
    got = one(doc)
    assert isinstance(got, ConditionRecorded) and got.code == "F10.230"


def test_a_condition_without_a_code_is_ignored() -> None:
    [record] = run({**condition(), "code": None}).ignored
    assert record.reason == "Condition.code: absent; contraindications are ICD-10-CM codes"


def test_configured_contraindication_lists() -> None:
    rules = parse_rules({"contra": {"psychosis": ["F33"], "withdrawal": []}})
    got = one(condition("F33.1"), rules=rules)
    assert isinstance(got, ConditionRecorded) and got.kind is Contra.PSYCHOSIS
    assert run(condition("F10.130"), rules=rules).ignored


def test_conditions_in_a_collection_are_events_in_a_message_they_are_not() -> None:
    assert [type(e) for e in run(collection(condition())).events] == [ConditionRecorded]
    doc = message()
    doc["entry"].append({"fullUrl": "urn:uuid:c", "resource": condition()})
    assert [type(e) for e in run(doc).events] == [PatientDischarged]


# -- patients and deaths ------------------------------------------------------------------


def test_patient_is_recorded_with_name_gender_and_time() -> None:
    got = one(patient())
    assert isinstance(got, PatientRecorded)
    assert (got.display, got.female, got.deceased, got.timed) == (
        "Ana M. Rivera",
        True,
        False,
        True,
    )
    assert got.time == utc(2026, 3, 2, 12) and got.ref == "Patient/p1"
    text = one(patient(name=[{"text": " Ana  Rivera ", "family": "X"}], gender="male"))
    assert isinstance(text, PatientRecorded) and text.display == "Ana Rivera" and not text.female
    bare = one({"resourceType": "Patient", "id": "p1"})
    assert isinstance(bare, PatientRecorded) and bare.display is None and not bare.timed


def test_deceased_date_time_is_a_death_at_that_time() -> None:
    recorded, died = run(patient(deceasedDateTime="2026-03-09T04:00:00Z")).events
    assert isinstance(recorded, PatientRecorded) and recorded.deceased
    assert isinstance(died, PatientDied) and died.timed and died.time == utc(2026, 3, 9, 4)
    assert died.event_id == f"{recorded.event_id}/death" and died.patient == "p1"


def test_deceased_boolean_is_a_death_at_last_updated_else_untimed() -> None:
    _, died = run(patient(deceasedBoolean=True)).events
    assert isinstance(died, PatientDied) and died.time == utc(2026, 3, 2, 12) and died.timed
    _, untimed = run(patient(deceasedBoolean=True, meta=None)).events
    assert isinstance(untimed, PatientDied) and not untimed.timed and untimed.time == EPOCH
    [alive] = run(patient(deceasedBoolean=False)).events
    assert isinstance(alive, PatientRecorded) and not alive.deceased


def test_a_message_patient_is_context_only() -> None:
    doc = message()
    doc["entry"][2]["resource"] = {**patient(), "deceasedBoolean": True}
    assert [type(e) for e in run(doc).events] == [PatientDischarged]


# -- task updates -------------------------------------------------------------------------


def test_task_update_carries_owner_and_the_last_note() -> None:
    notes = [{"text": "called twice"}, {"text": "reached, booked for Monday"}]
    got = one(task(owner={"reference": "Practitioner/cm-7"}, note=notes))
    assert isinstance(got, TaskUpdated)
    assert (got.owner, got.note) == ("Practitioner/cm-7", "reached, booked for Monday")
    plain = one(task())
    assert isinstance(plain, TaskUpdated) and (plain.owner, plain.note) == (None, None)


# -- local dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "instant"),
    [
        ("2026-03-05", utc(2026, 3, 5, 5)),  # EST
        ("2026-03-08", utc(2026, 3, 8, 5)),  # the DST change is at 02:00: midnight is EST
        ("2026-03-09", utc(2026, 3, 9, 4)),  # EDT
        ("2026-11-01", utc(2026, 11, 1, 4)),  # back to EST at 02:00: midnight is EDT
    ],
)
def test_a_date_alone_is_local_midnight(date: str, instant: datetime) -> None:
    got = one(observation(effectiveDateTime=date), rules=NEW_YORK)
    assert got.time == instant
    assert one(observation(effectiveDateTime=date)).time == datetime.fromisoformat(date).replace(
        tzinfo=UTC
    )
    assert one(appointment(start=date, minutesDuration=60), rules=NEW_YORK).time == instant
    assert one(episode(period={"start": date}), rules=NEW_YORK).time == instant


def test_a_local_midnight_in_a_dst_gap_moves_forward() -> None:
    havana = parse_rules({"site": {"timezone": "America/Havana"}})
    # Cuba moves its clocks from 00:00 to 01:00 on 2026-03-08: 00:00 does not exist
    got = one(observation(effectiveDateTime="2026-03-08"), rules=havana)
    assert got.time == utc(2026, 3, 8, 5)


def test_times_with_a_zone_ignore_the_site_zone() -> None:
    got = one(observation(effectiveDateTime="2026-03-05T10:00:00Z"), rules=NEW_YORK)
    assert got.time == utc(2026, 3, 5, 10)


# -- hostile values in the new fields -----------------------------------------------------

WRONG: list[tuple[dict[str, Any], str, str]] = [
    (
        patient(deceasedBoolean="yes"),
        "Patient.deceasedBoolean: expected true or false, got 'yes'",
        "structure",
    ),
    (
        patient(deceasedDateTime="2026-03-09T04:00:00"),
        "Patient.deceasedDateTime: '2026-03-09T04:00:00' has no time zone",
        "value",
    ),
    (patient(name="Ana"), "Patient.name: expected an array, got 'Ana'", "structure"),
    (patient(gender=1), "Patient.gender: expected a string, got 1", "structure"),
    (patient(id="bad id"), "Patient.id: 'bad id' is not a valid FHIR id", "value"),
    (
        condition(clinicalStatus=cc(CLINICAL, "cured")),
        "Condition.clinicalStatus.coding: 'cured' is not an R4 clinicalStatus code",
        "value",
    ),
    (
        condition(verificationStatus={"text": "confirmed"}),
        "Condition.verificationStatus: no verificationStatus code (a required binding)",
        "required",
    ),
    (
        condition(onsetDateTime="yesterday"),
        "Condition.onsetDateTime: 'yesterday' is not a FHIR dateTime",
        "value",
    ),
    (
        condition(subject=None),
        "Condition.subject: required: a Patient reference; no resolvable patient",
        "required",
    ),
    (task(note={"text": "x"}), "Task.note: expected an array, got an object", "structure"),
    (task(note=["x"]), "Task.note[0]: expected an Annotation object, got 'x'", "structure"),
    (task(owner="Practitioner/x"), "Task.owner: expected an object", "structure"),
    (
        encounter(diagnosis=[{"condition": {"reference": "#dx"}, "rank": "1"}]),
        "Encounter.diagnosis[0].rank: expected a positive integer, got '1'",
        "value",
    ),
    (encounter(diagnosis=["F33.2"]), "Encounter.diagnosis[0]: expected an object", "structure"),
    (
        observation(status="entered-in-error", subject=None),
        "Observation.subject: required: a Patient reference; no resolvable patient",
        "required",
    ),
    (
        encounter("VR", serviceType=cc(LOINC, "x"), type={"coding": []}),
        "Encounter.type: expected an array, got an object",
        "structure",
    ),
]


@pytest.mark.parametrize(("doc", "diagnostics", "code"), WRONG)
def test_wrong_type_or_format_in_a_new_field(
    doc: dict[str, Any], diagnostics: str, code: str
) -> None:
    err = error(doc)
    assert err.diagnostics.startswith(diagnostics), err.diagnostics
    assert err.code == code
    assert err.expression == diagnostics.split(":")[0]
