"""care.events wire codec: every event kind and the tick round-trip exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.events import (
    KIND,
    AssessmentRecorded,
    ConditionRecorded,
    Contra,
    Disposition,
    EdVisited,
    Instrument,
    PatientAdmitted,
    PatientDied,
    PatientDischarged,
    PatientRecorded,
    ProgramEnrolled,
    ProgramExited,
    Retracted,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
    Tick,
)
from pipeline.levels import Level
from schemas.wire import WireError, decode_event, encode_event

T = datetime(2026, 3, 1, 8, tzinfo=UTC)
SCOPE = "principal diagnosis F33.2"
EVENTS = [
    PatientAdmitted("Encounter/e#1", "src|p", T, "Encounter/e", True, SCOPE),
    PatientDischarged(
        "Bundle/b", "p", T, "Encounter/e", False, "out", Disposition.AGAINST_ADVICE, "aadvice"
    ),
    EdVisited("Encounter/e#9", "p", T, "Encounter/e", True, SCOPE),
    ProgramEnrolled("EpisodeOfCare/x#2", "p", T, None, Level.PHP),
    ProgramExited("EpisodeOfCare/x#3", "p", T, "EpisodeOfCare/x", Level.IOP, False),
    AssessmentRecorded("Observation/o#4", "p", T, "Observation/o", Instrument.CSSRS, 0, "v2"),
    ConditionRecorded("Condition/c#5", "p", T, "Condition/c", Contra.WITHDRAWAL, "F10.130", True),
    Retracted("Observation/o/_history/3", "p", T, "Observation/o", False),
    PatientRecorded("Patient/p#6", "p", T, "Patient/p", "Ana Rivera", True, True, True),
    PatientDied("Patient/p#6/death", "p", T, "Patient/p", False),
    SessionAttended("Appointment/a#5", "p", T, "Appointment/a", None, 90, ("a", "b"), False),
    SessionMissed("Appointment/a#6", "p", T, "Appointment/a", Level.OP, True),
    TaskUpdated("Task/t#7", "p", T, "Task/t", "t", "accepted", None, "Practitioner/x", "ok"),
    Tick(T),
]


def test_every_kind_is_covered() -> None:
    assert {type(e) for e in EVENTS if not isinstance(e, Tick)} == set(KIND)


def test_a_field_named_like_the_envelope_keeps_the_envelope() -> None:
    raw = encode_event(EVENTS[6])
    assert b'"kind":"condition"' in raw and b'"contra":"withdrawal"' in raw


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_round_trip(event: object) -> None:
    assert decode_event(encode_event(event)) == event  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{}",
        b'{"kind":"nope"}',
        b'{"kind":"admission"}',
        b"[1]",
        b'{"kind":"tick","time":"x"}',
    ],
)
def test_garbage_is_a_wire_error(raw: bytes) -> None:
    with pytest.raises(WireError):
        decode_event(raw)
