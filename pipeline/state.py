"""Per-patient care state: everything the rules read (rules.md §1) plus the clock.

``PatientState`` is a slotted dataclass treated as a value: ``decide`` copies it
(``copy()`` is shallow) and replaces, never mutates, the containers it changes. Tuples and
frozensets are immutable; the two dicts (``tasks``, ``closed``) are copied before a change.

Deadlines (contract §8) are read off the state (``pipeline.rules.deadlines``): the open
follow-up Tasks' dues, ``lost_due``, the pending referral's stall and expiry times, open
Tasks' dues (L-OVERDUE), ``inactive_due`` and ``week_due``.

Compact identities, each bounded (``pipeline.bounds``): ``seen`` holds 64-bit hashes of
the event ids applied with their event times, the newest ``SEEN_KEPT`` (contract §7: an
event at or before ``seen_floor`` is outside the duplicate window and is ignored with that
reason); ``counted`` the hashes of the Appointment ids whose minutes were counted, for the
weeks a week check reads; ``closed`` the first 16 hex digits of the newest terminal Task
ids with their status; ``stays`` the hashes of the Encounter ids admitted / discharged /
seen as ED visits with flags.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.events import Contra
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord

#: The clock of a patient before any event.
NEVER = datetime.min.replace(tzinfo=UTC)

#: ``stays`` flags
ADMITTED, DISCHARGED, BH, ED = 1, 2, 4, 8


def digest(text: str) -> int:
    """A 64-bit hash of an identity (event id, appointment id)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def short_id(task_id: str) -> str:
    """The compact key of a terminal Task id (first 16 hex digits of the UUID)."""
    return task_id.replace("-", "")[:16]


@dataclass(frozen=True, slots=True)
class Obs:
    """One assessment kept for later rules: time, value, source resource and version."""

    time: datetime
    value: int
    ref: str | None
    inst: str = "phq9"  # Instrument value
    version: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    """A contraindication Condition applied (rules.md §4): active from ``onset`` until
    ``ended`` (a version that is inactive, resolved, remission, refuted)."""

    ref: str
    kind: Contra
    onset: datetime
    ended: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cooldown:
    """A referral to ``level`` rejected, failed or expired at ``time``; ``phq9`` the latest
    PHQ-9 when it was made (rules.md §4 cool-down)."""

    level: Level
    time: datetime
    phq9: int | None


@dataclass(slots=True)
class PatientState:
    patient: str
    level: Level | None = None
    level_since: datetime | None = None
    pending: ReferralRecord | None = None  # the one open transition referral
    clock: datetime = NEVER
    tasks: dict[str, TaskRecord] = field(default_factory=dict)  # open Tasks by id
    closed: dict[str, str] = field(default_factory=dict)  # short_id → terminal status
    seen: dict[int, int] = field(default_factory=dict)  # event-id digest → event epoch second
    counted: dict[int, int] = field(default_factory=dict)  # Appointment digest → week ordinal
    obs: tuple[Obs, ...] = ()  # assessments applied, by time (retention-bounded)
    resolved_at: datetime | None = None  # L-SCREEN-DONE: signals up to here are answered
    contras: tuple[Condition, ...] = ()
    weeks: tuple[tuple[int, int, int], ...] = ()  # (Monday ordinal, minutes, day bits)
    last_attended: datetime | None = None
    no_shows: tuple[datetime, ...] = ()  # no-shows since the last attended session
    week_due: datetime | None = None  # next week check (a Monday 00:00 local)
    inactive_due: datetime | None = None  # C-INACTIVE / C-OP-INACTIVE deadline
    last_event: datetime = NEVER  # latest event time (fallback time, rules.md §8)
    stays: tuple[tuple[int, int], ...] = ()  # (Encounter digest, flags), newest last
    stay_start: datetime | None = None  # admission time of the open in-scope stay
    last_discharge: datetime | None = None  # last in-scope discharge to the community
    bh_contact: datetime | None = None  # last in-scope discharge, ED visit or program exit
    medical: tuple[datetime, datetime | None] | None = None  # out-of-scope stay (from, to)
    followup_from: datetime | None = None  # discharge / ED visit time of the follow-up path
    followup_ed: bool = False
    lost_due: datetime | None = None  # C-FOLLOWUP-LOST
    stalled: bool = False  # C-REFERRAL-STALLED fired for the pending referral
    cooldowns: tuple[Cooldown, ...] = ()
    female: bool = False
    display: str | None = None
    deceased: bool = False
    death_ref: str | None = None  # the resource that declared the death (reversal)
    seen_floor: int | None = None  # events at or before this epoch second: outside the window
    left_care: datetime | None = None  # last in-scope discharge or program exit (death review)
    last_bh: datetime | None = None  # latest BH session (a follow-up that came first)

    def copy(self) -> PatientState:
        """A shallow copy (containers shared until replaced)."""
        return PatientState(
            self.patient,
            self.level,
            self.level_since,
            self.pending,
            self.clock,
            self.tasks,
            self.closed,
            self.seen,
            self.counted,
            self.obs,
            self.resolved_at,
            self.contras,
            self.weeks,
            self.last_attended,
            self.no_shows,
            self.week_due,
            self.inactive_due,
            self.last_event,
            self.stays,
            self.stay_start,
            self.last_discharge,
            self.bh_contact,
            self.medical,
            self.followup_from,
            self.followup_ed,
            self.lost_due,
            self.stalled,
            self.cooldowns,
            self.female,
            self.display,
            self.deceased,
            self.death_ref,
            self.seen_floor,
            self.left_care,
            self.last_bh,
        )

    def effective_level(self) -> Level | None:
        """``level`` if set, else the pending referral's target (rules.md §1)."""
        if self.level is not None:
            return self.level
        return self.pending.level if self.pending is not None else None

    def effective_since(self) -> datetime | None:
        """When the effective level began: ``level_since``, or the pending referral's time."""
        if self.level is None and self.pending is not None:
            return self.pending.authored
        return self.level_since

    def open_task(self, code: str) -> TaskRecord | None:
        """The open Task with this care-task code, if any (at most one, rules.md §5)."""
        for task in self.tasks.values():
            if task.code == code:
                return task
        return None

    def week(self, monday: int) -> tuple[int, int]:
        """(attended minutes, attended days) in the week whose Monday has this ordinal."""
        for key, minutes, days in self.weeks:
            if key == monday:
                return minutes, days.bit_count()
        return 0, 0

    def stay_flags(self, key: int) -> int:
        for k, flags in self.stays:
            if k == key:
                return flags
        return 0


def new_state(patient: str) -> PatientState:
    """The state of a patient the pipeline has not seen."""
    return PatientState(patient)


from pipeline.codec import decode_state, encode_state  # noqa: E402  (re-export)

__all__ = [
    "NEVER",
    "Condition",
    "Cooldown",
    "Obs",
    "PatientState",
    "decode_state",
    "digest",
    "encode_state",
    "new_state",
    "short_id",
]
