"""Every invalid-input category of contract §6, with the diagnostics text checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.inbound.parse import too_deep
from schemas.ingest import Limits, ingest
from tests.unit.ingest_docs import (
    Doc,
    appointment,
    collection,
    encounter,
    episode,
    error,
    message,
    observation,
    run,
    task,
)

SCENARIO_09 = Path(__file__).parents[1] / "scenarios" / "data" / "09-bad-input-mixed.ndjson"


@pytest.mark.parametrize(
    ("raw", "diagnostics", "code"),
    [
        (
            b'{"resourceType": "Patient", "id": "\xff"}',
            "not UTF-8: invalid byte at offset 35",
            "structure",
        ),
        (b"this is not json", "not JSON: ", "structure"),
        (b"", "not JSON: ", "structure"),
        (b'{"resourceType": "Patient"', "not JSON: ", "structure"),
        (b"[1, 2, 3]", "not a JSON object: the document is an array", "structure"),
        (b'"Observation"', "not a JSON object: the document is 'Observation'", "structure"),
        (b"null", "not a JSON object: the document is null", "structure"),
        (
            b'{"id": "x", "status": "final"}',
            "no resourceType: the JSON object is not a FHIR resource",
            "required",
        ),
        (b'{"resourceType": 7}', "resourceType must be a string, got 7", "structure"),
    ],
)
def test_document_level(raw: bytes, diagnostics: str, code: str) -> None:
    err = error(raw)
    assert err.diagnostics.startswith(diagnostics)
    assert (err.expression, err.code, err.raw) == (None, code, raw)


def test_over_size_limit() -> None:
    raw = orjson.dumps(observation(note=[{"text": "x" * 2000}]))
    [err] = ingest(raw, Limits(max_bytes=1000)).errors
    assert err.diagnostics == f"the document is {len(raw)} bytes, over the 1000-byte limit"
    assert (err.code, err.expression) == ("too-long", None)
    assert ingest(raw, Limits(max_bytes=len(raw))).errors == []


def nested(depth: int) -> Doc:
    value: Any = 1
    for _ in range(depth - 1):
        value = {"a": value}
    return observation(extension=[value]) if depth else observation()


@pytest.mark.parametrize("limit", [10, 64])
def test_depth_limit_is_exact(limit: int) -> None:
    # the Observation itself, the extension array, then the nested objects
    ok, too_deep = nested(limit - 1), nested(limit)
    assert ingest(orjson.dumps(ok), Limits(max_depth=limit)).errors == []
    [err] = ingest(orjson.dumps(too_deep), Limits(max_depth=limit)).errors
    assert (err.diagnostics, err.code) == (f"JSON nested deeper than {limit} levels", "too-costly")


@pytest.mark.parametrize("empty", [{}, []])
def test_depth_limit_with_an_empty_innermost_container(empty: Any) -> None:
    value: Any = empty
    for _ in range(61):
        value = {"k": value}
    exact, deeper = observation(extension=[value]), observation(extension=[{"k": value}])
    assert ingest(orjson.dumps(exact)).errors == []  # 64 levels
    assert error(deeper).diagnostics == "JSON nested deeper than 64 levels"


@pytest.mark.parametrize("levels", [100, 254, 300, 1000, 2000])
def test_depth_beyond_orjson_limits(levels: int) -> None:
    raw = b'{"resourceType":"Basic","x":' + b"[" * levels + b"]" * levels + b"}"
    assert (error(raw).diagnostics, error(raw).code) == (
        "JSON nested deeper than 64 levels",
        "too-costly",
    )


def test_depth_limit_above_what_orjson_can_reserialize() -> None:
    doc = orjson.loads(b"[" * 299 + b"]" * 299)
    assert too_deep(doc, b"[" * 4096, 299) is False
    assert too_deep(doc, b"[" * 4096, 298) is True


def test_brackets_inside_strings() -> None:
    in_strings = orjson.dumps(observation(note=[{"text": "[{" * 500 + '\\"}'}]))
    assert run(in_strings).errors == []


WRONG: list[tuple[Doc, str, str]] = [
    (
        observation(valueInteger=31),
        "Observation.valueInteger: 31 is outside 0–27 for PHQ-9 total",
        "value",
    ),
    (
        observation(valueInteger=-1),
        "Observation.valueInteger: -1 is outside 0–27 for PHQ-9 total",
        "value",
    ),
    (
        observation("70274-6", valueInteger=22),
        "Observation.valueInteger: 22 is outside 0–21 for GAD-7 total",
        "value",
    ),
    (
        observation("75626-2", valueInteger=13),
        "Observation.valueInteger: 13 is outside 0–12 for AUDIT-C total",
        "value",
    ),
    (
        observation("44260-8", valueInteger=4),
        "Observation.valueInteger: 4 is outside 0–3 for PHQ-9 item 9",
        "value",
    ),
    (
        observation(valueInteger="14"),
        "Observation.valueInteger: expected an integer, got '14'",
        "structure",
    ),
    (
        observation(valueInteger=True),
        "Observation.valueInteger: expected an integer, got true",
        "structure",
    ),
    (
        observation(valueInteger=None, valueString="twelve"),
        "Observation.valueString: 'twelve' is not a whole number for PHQ-9 total",
        "value",
    ),
    (
        observation(valueInteger=None, valueQuantity={"value": 14.5}),
        "Observation.valueQuantity.value: 14.5 is not a whole number for PHQ-9 total",
        "value",
    ),
    (
        observation(valueInteger=None, valueQuantity={"value": "14"}),
        "Observation.valueQuantity.value: expected a number, got '14'",
        "structure",
    ),
    (
        observation(valueInteger=None, valueBoolean=True),
        "Observation.valueBoolean: valueBoolean is not accepted for PHQ-9 total",
        "structure",
    ),
    (
        observation(valueInteger=None),
        "Observation.value[x]: required: a value for PHQ-9 total",
        "required",
    ),
    (
        observation("93374-7", valueInteger=None, valueString="severe"),
        "Observation.valueString: 'severe' is not a C-SSRS risk level",
        "value",
    ),
    (
        observation("44260-8", valueInteger=None, valueCodeableConcept={"text": "often"}),
        "Observation.valueCodeableConcept: no PHQ-9 item 9 answer code",
        "value",
    ),
    (
        {**observation(), "code": {"coding": "44261-6"}},
        "Observation.code.coding: expected an array, got '44261-6'",
        "structure",
    ),
    (
        observation(subject="Patient/p1"),
        "Observation.subject: expected a Reference object, got 'Patient/p1'",
        "structure",
    ),
    (
        observation(effectiveDateTime=20260305),
        "Observation.effectiveDateTime: expected a dateTime string, got 20260305",
        "structure",
    ),
    (
        observation(effectiveDateTime="03/05/2026"),
        "Observation.effectiveDateTime: '03/05/2026' is not a FHIR dateTime",
        "value",
    ),
    (
        observation(effectiveDateTime="2026-03-05T10:00:00"),
        "Observation.effectiveDateTime: '2026-03-05T10:00:00' has no time zone",
        "value",
    ),
    (
        observation(effectiveDateTime="2026-02-30"),
        "Observation.effectiveDateTime: '2026-02-30' is not a valid date/time",
        "value",
    ),
    (
        observation(effectiveDateTime="2026-03"),
        "Observation.effectiveDateTime: '2026-03' is a partial date",
        "value",
    ),
    (
        observation(effectiveDateTime=None),
        "Observation.effective[x]: required: effectiveDateTime, effectivePeriod.start or issued",
        "required",
    ),
    (observation(id="bad id!"), "Observation.id: 'bad id!' is not a valid FHIR id", "value"),
    (
        encounter(**{"class": [{"coding": []}]}),
        "Encounter.class: expected an R4 Coding object, got an array (R5 shape)",
        "structure",
    ),
    (encounter(**{"class": None}), "Encounter.class: required", "required"),
    (encounter(period=[]), "Encounter.period: expected an object, got an array", "structure"),
    (
        encounter(period={"end": "2026-13-01T00:00:00Z"}),
        "Encounter.period.end: '2026-13-01T00:00:00Z' is not a valid date/time",
        "value",
    ),
    (
        appointment(minutesDuration="60"),
        "Appointment.minutesDuration: expected an integer, got '60'",
        "structure",
    ),
    (
        appointment(minutesDuration=0),
        "Appointment.minutesDuration: 0 is not a positive number of minutes",
        "value",
    ),
    (
        appointment(start=None),
        "Appointment.start: required for a fulfilled Appointment",
        "required",
    ),
    (
        appointment(minutesDuration=None, end="2026-03-10T13:00:00Z"),
        "Appointment.end: the end is before the start",
        "value",
    ),
    (episode(period={}), "EpisodeOfCare.period.start: required for an enrollment", "required"),
    (task(status="done"), "Task.status: 'done' is not a Task status", "value"),
    (
        task(lastModified="2026-03-09 09:00"),
        "Task.lastModified: '2026-03-09 09:00' is not a FHIR dateTime",
        "value",
    ),
]


@pytest.mark.parametrize(("doc", "diagnostics", "code"), WRONG)
def test_wrong_type_or_format_in_a_read_field(doc: Doc, diagnostics: str, code: str) -> None:
    err = error(doc)
    assert err.diagnostics.startswith(diagnostics), err.diagnostics
    assert err.code == code
    assert err.expression == diagnostics.split(":")[0]
    assert orjson.loads(err.raw) == doc


NO_PATIENT: list[tuple[Doc, str]] = [
    (
        observation(subject=None),
        "Observation.subject: required: a Patient reference; no resolvable patient",
    ),
    (
        encounter(subject={"reference": "Group/g1"}),
        "Encounter.subject.reference: 'Group/g1' is not a Patient; no resolvable patient",
    ),
    (
        observation(subject={"reference": "Patient/"}),
        "Observation.subject.reference: 'Patient/' has no valid Patient id",
    ),
    (
        observation(subject={"identifier": {"value": "MRN1"}}),
        "Observation.subject: required: a literal reference (Patient/<id>); no resolvable patient",
    ),
    (
        observation(subject={"reference": "urn:uuid:nowhere"}),
        "Observation.subject.reference: 'urn:uuid:nowhere' does not"
        " resolve to an entry of the Bundle",
    ),
    (
        observation(subject={"reference": "Patient?identifier=x|1"}),
        "Observation.subject.reference: 'Patient?identifier=x|1' is"
        " not a literal reference (Type/id)",
    ),
    (
        appointment(patients=()),
        "Appointment.participant: no participant actor is a Patient (no resolvable patient)",
    ),
    (
        episode(patient=None),
        "EpisodeOfCare.patient: required: a Patient reference; no resolvable patient",
    ),
    (
        task(**{"for": {"reference": "Patient/"}}),
        "Task.for.reference: 'Patient/' has no valid Patient id",
    ),
]


@pytest.mark.parametrize(("doc", "diagnostics"), NO_PATIENT)
def test_no_resolvable_patient(doc: Doc, diagnostics: str) -> None:
    assert error(doc).diagnostics == diagnostics


def _msg_without_header() -> Doc:
    doc = message()
    doc["entry"] = doc["entry"][1:]
    return doc


def _msg_header(**changes: Any) -> Doc:
    doc = message()
    doc["entry"][0]["resource"].update(changes)
    return {**doc}


MESSAGES: list[tuple[Doc, str]] = [
    (
        _msg_without_header(),
        "Bundle.entry[0]: the first entry is an Encounter, not a MessageHeader",
    ),
    (message(entry=[]), "Bundle.entry: a message Bundle needs a MessageHeader first entry"),
    (_msg_header(eventCoding=None), "Bundle.entry[0].resource.eventCoding: required"),
    (
        _msg_header(focus=[]),
        "Bundle.entry[0].resource.focus: required: the notification has no focus",
    ),
    (
        _msg_header(focus=[{"reference": "urn:uuid:x"}]),
        "Bundle.entry[0].resource.focus[0].reference: 'urn:uuid:x'"
        " does not resolve to an Encounter entry",
    ),
    (
        _msg_header(focus=[{"reference": "urn:uuid:pat-1"}]),
        "Bundle.entry[0].resource.focus[0].reference:"
        " 'urn:uuid:pat-1' does not resolve to an Encounter entry",
    ),
    (
        message(enc=encounter(period={"start": "2026-03-01T08:00:00Z"})),
        "Bundle.entry[1].resource.period.end: required for a discharge",
    ),
    (
        message("notification-admit", enc=encounter(period={})),
        "Bundle.entry[1].resource.period.start: required for an admission",
    ),
    (
        message(enc=encounter(subject={"reference": "urn:uuid:other"})),
        "Bundle.entry[1].resource.subject.reference: 'urn:uuid:other' does not resolve",
    ),
    (message(type=None), "Bundle.type: required"),
    (message(entry={}), "Bundle.entry: expected an array, got an object"),
]


@pytest.mark.parametrize(("doc", "diagnostics"), MESSAGES)
def test_message_bundle_without_usable_header_or_focus(doc: Doc, diagnostics: str) -> None:
    err = error(doc)
    assert err.diagnostics.startswith(diagnostics), err.diagnostics
    assert orjson.loads(err.raw) == doc  # the whole message is the dead letter


def test_collection_entry_error_invalidates_only_that_entry() -> None:
    """The other entries still give their events; every problem carries the document as it
    came (its one dead letter lists them all), never the entry re-serialized."""
    bad = observation(id="bad", valueInteger=31)
    doc = collection(observation(id="ok"), bad)
    doc["entry"].append("not an entry")
    raw = orjson.dumps(doc)
    out = run(raw)
    assert [e.ref for e in out.events] == ["Observation/ok"]
    first, second = out.errors
    assert first.diagnostics == (
        "Bundle.entry[1].resource.valueInteger: 31 is outside 0–27 for PHQ-9 total"
    )
    assert first.expression == "Bundle.entry[1].resource.valueInteger"
    assert first.raw is raw and second.raw is raw
    assert second.diagnostics == "Bundle.entry[2]: expected an entry object, got 'not an entry'"


def test_collection_entry_without_resource_type() -> None:
    out = run(collection({"id": "x"}))
    assert [e.diagnostics for e in out.errors] == [
        ("Bundle.entry[0].resource.resourceType: required (the entry is not a FHIR resource)")
    ]


def test_scenario_09_gives_exactly_nine_dead_letters() -> None:
    lines = [ln for ln in SCENARIO_09.read_bytes().splitlines() if ln.strip()]
    results = [ingest(ln) for ln in lines]
    diagnostics = [e.diagnostics for r in results for e in r.errors]
    assert diagnostics == [
        "not JSON: invalid literal, expected 'true' at offset 0",
        "not a JSON object: the document is an array",
        "no resourceType: the JSON object is not a FHIR resource",
        "Observation.valueInteger: 31 is outside 0–27 for PHQ-9 total",
        "Observation.subject: required: a Patient reference; no resolvable patient",
        "Observation.effectiveDateTime: '2026-07-02T10:00:00' has no"
        " time zone (add Z or an offset)",
        "Encounter.subject.reference: 'Group/g1' is not a Patient; no resolvable patient",
        "Bundle.entry[0]: the first entry is an Encounter, not a MessageHeader",
        "Observation.valueString: 'twelve' is not a whole number for PHQ-9 total",
    ]
    reasons = [i.reason for r in results for i in r.ignored]
    assert reasons == ["Observation.code: LOINC 8867-4 is not a recognized instrument"]
    assert sum(len(r.events) for r in results) == 4  # a Patient is an event in v2
