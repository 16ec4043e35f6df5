"""Normalized care events: the only inputs the core understands (contract v2 §3).

The boundary (``schemas``) turns FHIR documents into these; the core never sees FHIR.
Names are past-tense facts (DESIGN.md convention 4). Every event carries:

- ``event_id``: its identity for duplicate detection (contract §7) and for deterministic
  output ids (contract §5);
- ``patient``: the patient key, ``<source>|<id>`` or the plain ``<id>`` (contract §2);
- ``time``: clinical event time, timezone-aware UTC;
- ``ref``: the triggering resource as ``Type/id`` when it has an id (for ``focus`` and
  ``reasonReference``), else ``None``.

Stays and sessions carry their scope decision (rules.md §2) and its reason, so a replay
with other scope settings differs only there and an integrator can see why.
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
    CSSRS = "cssrs"  # C-SSRS risk level, LOINC 93374-7: 0 none, 1 low, 2 moderate, 3 high


class Risk:
    """C-SSRS risk level values as stored in ``AssessmentRecorded.value``."""

    NONE = 0
    LOW = 1
    MODERATE = 2
    HIGH = 3
    NAMES: ClassVar[dict[int, str]] = {0: "none", 1: "low", 2: "moderate", 3: "high"}


class Disposition(str, Enum):  # noqa: UP042
    """Discharge disposition classes of rules.md §4."""

    COMMUNITY = "community"  # home, alt-home, oth, unknown system, none
    AGAINST_ADVICE = "aadvice"  # a discharge to the community that also triggers C-AMA
    TRANSFER = "transfer"  # other-hcf, hosp, long, psy, rehab, snf
    EXPIRED = "expired"  # exp


class Contra(str, Enum):  # noqa: UP042
    """Contraindication kinds (rules.md §4, ``contra.psychosis`` / ``contra.withdrawal``)."""

    PSYCHOSIS = "psychosis"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class CareEvent:
    event_id: str
    patient: str
    time: datetime
    ref: str | None


@dataclass(frozen=True, slots=True)
class Scoped(CareEvent):
    """A stay (admission, discharge, ED visit) with its scope decision (rules.md §2).

    ``bh``: the stay is behavioral health by its own codes (or ``scope.stays = all``);
    ``scope``: why, e.g. ``principal diagnosis F33.2`` or ``out of scope: no
    behavioral-health diagnosis or service``.
    """

    bh: bool
    scope: str


@dataclass(frozen=True, slots=True)
class PatientAdmitted(Scoped):
    pass


@dataclass(frozen=True, slots=True)
class PatientDischarged(Scoped):
    disposition: Disposition
    disposition_code: str | None  # the code as received, for explanations


@dataclass(frozen=True, slots=True)
class EdVisited(Scoped):
    """An emergency or observation encounter (class EMER/OBSENC), not an admission."""


@dataclass(frozen=True, slots=True)
class ProgramEnrolled(CareEvent):
    level: Level


@dataclass(frozen=True, slots=True)
class ProgramExited(CareEvent):
    level: Level
    finished: bool  # EpisodeOfCare status finished (T-EXIT) or cancelled (C-DROPOUT)


@dataclass(frozen=True, slots=True)
class AssessmentRecorded(CareEvent):
    instrument: Instrument
    value: int
    #: ``meta.versionId``, else a hash of the resource content: a later version of the same
    #: ``ref`` with another value is a correction (rules.md §6 L-RETRACTED)
    version: str


@dataclass(frozen=True, slots=True)
class ConditionRecorded(CareEvent):
    """A Condition whose ICD-10-CM code is in a contraindication list (rules.md §4).

    ``active``: clinicalStatus active (or absent) and verificationStatus confirmed or
    absent; ``False`` for inactive/resolved/remission/refuted or provisional/differential
    (each ends an active contraindication of this ``ref`` without retracting).
    ``time`` is the onset (else recordedDate, else ``meta.lastUpdated``).
    """

    kind: Contra
    code: str  # the ICD-10-CM code as received
    active: bool


@dataclass(frozen=True, slots=True)
class Retracted(CareEvent):
    """An Observation, Condition or Encounter marked ``entered-in-error`` (rules.md §6).

    ``ref`` is the retracted resource. ``timed`` is ``False`` when the document had no time
    of its own: the core then uses the patient's latest event time (rules.md §8).
    """

    timed: bool


@dataclass(frozen=True, slots=True)
class PatientRecorded(CareEvent):
    """A bare Patient resource: what the rules and outputs read of it.

    ``display``: a name to show beside ``Patient/<id>`` (contract §5); ``female``: gender
    female (C-SUD cut-off); ``deceased``: ``True`` with ``deceased[x]`` set, ``False``
    when absent or ``deceasedBoolean`` false (a later version without it reverses a death
    this Patient declared, L-DECEASED). ``time`` is ``meta.lastUpdated`` when present.
    ``timed`` says whether the document had a time of its own.
    """

    display: str | None
    female: bool
    deceased: bool
    timed: bool


@dataclass(frozen=True, slots=True)
class PatientDied(CareEvent):
    """A Patient with ``deceasedBoolean`` true or ``deceasedDateTime`` (contract §3).
    ``timed`` is ``False`` when neither ``deceasedDateTime`` nor ``meta.lastUpdated`` gave a
    time: the core uses the patient's latest event time, and ignores the death of a
    patient never seen (rules.md §8)."""

    timed: bool


@dataclass(frozen=True, slots=True)
class SessionAttended(CareEvent):
    level: Level | None
    minutes: int
    #: Appointment ids this attendance stands for (the Appointment's own id, or the ones an
    #: Encounter references): an appointment already counted is not counted twice.
    appointments: tuple[str, ...]
    #: a level of care or a BH service code (rules.md §2); ``False`` for an Appointment
    #: with no service codes at all: attendance only, never a follow-up
    bh: bool


@dataclass(frozen=True, slots=True)
class SessionMissed(CareEvent):
    level: Level | None
    bh: bool


@dataclass(frozen=True, slots=True)
class TaskUpdated(CareEvent):
    """A case manager's change to a Task the pipeline may have emitted (rules.md §6)."""

    task_id: str
    status: str
    reason: str | None  # statusReason.text if given
    owner: str | None = None  # Task.owner reference ("Practitioner/x") when set
    note: str | None = None  # the newest Task.note text when given


@dataclass(frozen=True, slots=True)
class Tick:
    """Clock control message: the time reached on every partition (contract §8)."""

    time: datetime


Event = (
    PatientAdmitted
    | PatientDischarged
    | EdVisited
    | ProgramEnrolled
    | ProgramExited
    | AssessmentRecorded
    | ConditionRecorded
    | Retracted
    | PatientRecorded
    | PatientDied
    | SessionAttended
    | SessionMissed
    | TaskUpdated
)

#: Wire names of the kinds (contract §3), used on ``care.events`` and in counts.
KIND: dict[type[CareEvent], str] = {
    PatientAdmitted: "admission",
    PatientDischarged: "discharge",
    EdVisited: "ed-visit",
    ProgramEnrolled: "enrollment",
    ProgramExited: "program-exit",
    AssessmentRecorded: "assessment",
    ConditionRecorded: "condition",
    Retracted: "retraction",
    PatientRecorded: "patient",
    PatientDied: "death",
    SessionAttended: "attended",
    SessionMissed: "no-show",
    TaskUpdated: "task-update",
}
