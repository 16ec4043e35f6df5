"""care.events wire codec: every event kind and the tick round-trip exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.events import (
    AssessmentRecorded,
    Disposition,
    Instrument,
    PatientAdmitted,
    PatientDischarged,
    ProgramEnrolled,
    ProgramExited,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
    Tick,
)
from pipeline.levels import Level
from schemas.wire import WireError, decode_event, encode_event

T = datetime(2026, 3, 1, 8, tzinfo=UTC)
EVENTS = [
    PatientAdmitted("Encounter/e#1", "p", T, "Encounter/e"),
    PatientDischarged("Bundle/b", "p", T, "Encounter/e", Disposition.AGAINST_ADVICE, "aadvice"),
    ProgramEnrolled("EpisodeOfCare/x#2", "p", T, None, Level.PHP),
    ProgramExited("EpisodeOfCare/x#3", "p", T, "EpisodeOfCare/x", Level.IOP),
    AssessmentRecorded("Observation/o#4", "p", T, "Observation/o", Instrument.CSSRS, 3),
    SessionAttended("Appointment/a#5", "p", T, "Appointment/a", None, 90, ("a", "b")),
    SessionMissed("Appointment/a#6", "p", T, "Appointment/a", Level.OP),
    TaskUpdated("Task/t#7", "p", T, "Task/t", "t", "accepted", None),
    Tick(T),
]


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
