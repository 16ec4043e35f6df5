"""Calendar helpers and the per-patient deadlines (contract §8).

All times are timezone-aware UTC. Weeks are ISO weeks starting Monday 00:00 UTC, keyed by
the epoch day of their Monday. A deadline fires when the patient's clock reaches it
(clock ≥ due); deadlines due at the same instant fire in the order follow-up, week check,
inactivity.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.levels import Level
from pipeline.state import PatientState

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

FOLLOWUP_CODE = "follow-up-7d"

#: Deadline kinds, in their tie-break order.
FOLLOWUP, WEEK_END, INACTIVE = "follow-up", "week-end", "inactive"

#: Levels with weekly hours and an inactivity watch (C-LOW-HOURS, C-INACTIVE).
PROGRAM_LEVELS = (Level.IOP, Level.PHP)


def epoch_day(t: datetime) -> int:
    """Days since 1970-01-01 of the UTC date of ``t``."""
    return (t - EPOCH).days


def day_start(t: datetime) -> datetime:
    """00:00 UTC of the day of ``t``."""
    return EPOCH + timedelta(days=epoch_day(t))


def week_key(t: datetime) -> int:
    """The epoch day of the Monday of the ISO week of ``t`` (1970-01-01 was a Thursday)."""
    d = epoch_day(t)
    return d - (d + 3) % 7


def monday(t: datetime) -> datetime:
    """00:00 UTC of the Monday of the ISO week of ``t``."""
    return EPOCH + timedelta(days=week_key(t))


def next_monday(t: datetime) -> datetime:
    """The first Monday 00:00 UTC strictly after ``t``."""
    return monday(t) + WEEK


def earliest(s: PatientState) -> tuple[datetime, str] | None:
    """The earliest armed deadline (due, kind), ties in the documented order."""
    if s.deceased:
        return None
    best: tuple[datetime, str] | None = None
    for task in s.tasks.values():
        if task.code == FOLLOWUP_CODE:
            best = (task.due, FOLLOWUP)
            break
    if s.week_due is not None and (best is None or s.week_due < best[0]):
        best = (s.week_due, WEEK_END)
    if s.inactive_due is not None and (best is None or s.inactive_due < best[0]):
        best = (s.inactive_due, INACTIVE)
    return best


def next_deadline(s: PatientState) -> datetime | None:
    """The earliest armed deadline, for the live tick index."""
    hit = earliest(s)
    return hit[0] if hit is not None else None


def earliest_due(s: PatientState, until: datetime) -> tuple[datetime, str] | None:
    """The earliest deadline reached by ``until`` (clock ≥ due), if any."""
    hit = earliest(s)
    return hit if hit is not None and hit[0] <= until else None
