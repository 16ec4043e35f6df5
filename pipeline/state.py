"""Per-patient care state: everything the rules read (rules.md §1) plus the clock.

``PatientState`` is a slotted dataclass treated as a value: ``decide`` copies it
(``copy()`` is shallow) and replaces, never mutates, the containers it changes. Tuples and
frozensets are immutable; the two dicts (``tasks``, ``closed``) are copied before a change.

Deadlines (contract §8) are not a separate list; they are read off the state:

- the open ``follow-up-7d`` Task's due (C-FOLLOWUP-MISSED),
- ``inactive_due`` (C-INACTIVE), armed whenever the level or the last attended session
  changes at ``iop``/``php``, disarmed when it fires,
- ``week_due``, the next Monday 00:00 UTC while the level is ``iop``/``php`` (C-LOW-HOURS
  week check), armed when the level changes, moved a week on when it fires.

Compact identities: ``seen`` holds 64-bit hashes of the event ids applied (contract §7),
``counted`` those of the Appointment ids whose minutes were counted, ``closed`` the first
16 hex digits of the terminal Task ids with their status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord

#: The clock of a patient before any event.
NEVER = datetime.min.replace(tzinfo=UTC)


def digest(text: str) -> int:
    """A 64-bit hash of an identity (event id, appointment id)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def short_id(task_id: str) -> str:
    """The compact key of a terminal Task id (first 16 hex digits of the UUID)."""
    return task_id.replace("-", "")[:16]


@dataclass(frozen=True, slots=True)
class Obs:
    """One assessment value kept for later rules: time, value, source resource."""

    time: datetime
    value: int
    ref: str | None


@dataclass(slots=True)
class PatientState:
    patient: str
    level: Level | None = None
    level_since: datetime | None = None
    pending: ReferralRecord | None = None  # the one open transition referral
    clock: datetime = NEVER
    tasks: dict[str, TaskRecord] = field(default_factory=dict)  # open Tasks by id
    closed: dict[str, str] = field(default_factory=dict)  # short_id → terminal status
    seen: frozenset[int] = frozenset()  # digests of applied event ids
    counted: frozenset[int] = frozenset()  # digests of counted Appointment ids
    phq9: tuple[Obs, ...] = ()  # recent PHQ-9 totals, by time
    cssrs: tuple[Obs, ...] = ()  # recent C-SSRS risk levels, by time
    risk_at: datetime | None = None  # latest C-SSRS moderate/high
    weeks: tuple[tuple[int, int], ...] = ()  # (epoch day of the ISO week's Monday, minutes)
    last_attended: datetime | None = None
    no_shows: tuple[datetime, ...] = ()  # no-shows since the last attended session
    week_due: datetime | None = None  # next C-LOW-HOURS week check (a Monday 00:00 UTC)
    inactive_due: datetime | None = None  # C-INACTIVE deadline
    deceased: bool = False

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
            self.phq9,
            self.cssrs,
            self.risk_at,
            self.weeks,
            self.last_attended,
            self.no_shows,
            self.week_due,
            self.inactive_due,
            self.deceased,
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
        """The open Task with this care-task code, if any (at most one, rules.md §4)."""
        for task in self.tasks.values():
            if task.code == code:
                return task
        return None

    def minutes_in(self, monday: int) -> int:
        """Attended minutes in the ISO week whose Monday is this epoch day."""
        for week, minutes in self.weeks:
            if week == monday:
                return minutes
        return 0


def new_state(patient: str) -> PatientState:
    """The state of a patient the pipeline has not seen."""
    return PatientState(patient)


from pipeline.codec import decode_state, encode_state  # noqa: E402  (re-export)

__all__ = [
    "NEVER",
    "Obs",
    "PatientState",
    "decode_state",
    "digest",
    "encode_state",
    "new_state",
    "short_id",
]
