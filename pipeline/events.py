"""Normalized care events: the only inputs the core understands (contract §3).

The boundary (``schemas``) turns FHIR documents into these; the core never sees FHIR.
Names are past-tense facts (DESIGN.md convention 4). Every event carries:

- ``event_id``: its identity for duplicate detection (contract §7) and for deterministic
  output ids (contract §5);
- ``patient``: the patient key (id part of ``Patient/<id>``);
- ``time``: clinical event time, timezone-aware UTC;
- ``ref``: the triggering resource as ``Type/id`` when it has an id (for ``focus`` and
  ``reasonReference``), else ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import ClassVar

from pipeline.levels import Level


class Instrument(str, Enum):  # noqa: UP042
    PHQ9 = "phq9"  # PHQ-9 total, LOINC 44261-6, 0–27
    PHQ9_ITEM9 = "phq9-item9"  # PHQ-9 item 9, LOINC 44260-8, 0–3
    GAD7 = "gad7"  # GAD-7 total, LOINC 70274-6, 0–21
    AUDITC = "auditc"  # AUDIT-C total, LOINC 75626-2, 0–12
    CSSRS = "cssrs"  # C-SSRS risk level, LOINC 93374-7: 1 low, 2 moderate, 3 high


class Risk:
    """C-SSRS risk level values as stored in ``AssessmentRecorded.value``."""

    LOW = 1
    MODERATE = 2
    HIGH = 3
    NAMES: ClassVar[dict[int, str]] = {1: "low", 2: "moderate", 3: "high"}


class Disposition(str, Enum):  # noqa: UP042
    """Discharge disposition classes of rules.md §3."""

    COMMUNITY = "community"  # home, alt-home, oth, unknown system, none
    AGAINST_ADVICE = "aadvice"  # a discharge to the community that also triggers C-AMA
    TRANSFER = "transfer"  # other-hcf, hosp, long, psy, rehab, snf
    EXPIRED = "expired"  # exp


@dataclass(frozen=True, slots=True)
class CareEvent:
    event_id: str
    patient: str
    time: datetime
    ref: str | None


@dataclass(frozen=True, slots=True)
class PatientAdmitted(CareEvent):
    pass


@dataclass(frozen=True, slots=True)
class PatientDischarged(CareEvent):
    disposition: Disposition
    disposition_code: str | None  # the code as received, for explanations


@dataclass(frozen=True, slots=True)
class ProgramEnrolled(CareEvent):
    level: Level


@dataclass(frozen=True, slots=True)
class ProgramExited(CareEvent):
    level: Level


@dataclass(frozen=True, slots=True)
class AssessmentRecorded(CareEvent):
    instrument: Instrument
    value: int


@dataclass(frozen=True, slots=True)
class SessionAttended(CareEvent):
    level: Level | None
    minutes: int
    #: Appointment ids this attendance stands for (the Appointment's own id, or the ones an
    #: Encounter references): an appointment already counted is not counted twice.
    appointments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionMissed(CareEvent):
    level: Level | None


@dataclass(frozen=True, slots=True)
class TaskUpdated(CareEvent):
    """A case manager's change to a Task the pipeline may have emitted (rules.md §5)."""

    task_id: str
    status: str
    reason: str | None  # statusReason.text if given


@dataclass(frozen=True, slots=True)
class Tick:
    """Clock control message: the time reached on every partition (contract §8)."""

    time: datetime


Event = (
    PatientAdmitted
    | PatientDischarged
    | ProgramEnrolled
    | ProgramExited
    | AssessmentRecorded
    | SessionAttended
    | SessionMissed
    | TaskUpdated
)

#: Wire names of the kinds (contract §3), used on ``care.events`` and in counts.
KIND: dict[type[CareEvent], str] = {
    PatientAdmitted: "admission",
    PatientDischarged: "discharge",
    ProgramEnrolled: "enrollment",
    ProgramExited: "program-exit",
    AssessmentRecorded: "assessment",
    SessionAttended: "attended",
    SessionMissed: "no-show",
    TaskUpdated: "task-update",
}
