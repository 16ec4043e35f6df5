"""Calendar helpers and the per-patient deadlines (contract §8).

All times are timezone-aware UTC. Weeks are ISO weeks starting Monday 00:00 UTC. A
deadline fires when the patient's clock reaches it (clock ≥ due); deadlines due at the
same instant fire in the order follow-up, week check, inactivity.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.levels import Level
from pipeline.state import PatientState

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)

FOLLOWUP_CODE = "follow-up-7d"

#: Deadline kinds, in their tie-break order.
FOLLOWUP, WEEK_END, INACTIVE = "follow-up", "week-end", "inactive"
_ORDER = {FOLLOWUP: 0, WEEK_END: 1, INACTIVE: 2}

#: Levels with weekly hours and an inactivity watch (C-LOW-HOURS, C-INACTIVE).
PROGRAM_LEVELS = (Level.IOP, Level.PHP)


def day_start(t: datetime) -> datetime:
    """00:00 UTC of the day of ``t``."""
    u = t.astimezone(UTC)
    return datetime(u.year, u.month, u.day, tzinfo=UTC)


def monday(t: datetime) -> datetime:
    """00:00 UTC of the Monday of the ISO week of ``t``."""
    d = day_start(t)
    return d - timedelta(days=d.weekday())


def next_monday(t: datetime) -> datetime:
    """The first Monday 00:00 UTC strictly after ``t``."""
    return monday(t) + WEEK


def week_key(t: datetime) -> int:
    """The ordinal of the Monday of the ISO week of ``t`` (key of ``PatientState.weeks``)."""
    return monday(t).toordinal()


def monday_of_key(key: int) -> datetime:
    d = datetime.fromordinal(key)
    return d.replace(tzinfo=UTC)


def week_check_due(s: PatientState) -> datetime | None:
    """The end of the next ISO week to check for C-LOW-HOURS, while at iop/php."""
    if s.level not in PROGRAM_LEVELS or s.level_since is None:
        return None
    base = s.level_since
    if s.week_checked is not None and s.week_checked > base:
        base = s.week_checked
    return next_monday(base)


def pending_deadlines(s: PatientState) -> list[tuple[datetime, str]]:
    """Every armed deadline of the patient, earliest first."""
    if s.deceased:
        return []
    found: list[tuple[datetime, str]] = []
    followup = s.open_task(FOLLOWUP_CODE)
    if followup is not None:
        found.append((followup.due, FOLLOWUP))
    week = week_check_due(s)
    if week is not None:
        found.append((week, WEEK_END))
    if s.inactive_due is not None:
        found.append((s.inactive_due, INACTIVE))
    found.sort(key=lambda d: (d[0], _ORDER[d[1]]))
    return found


def next_deadline(s: PatientState) -> datetime | None:
    """The earliest armed deadline, for the live tick index."""
    found = pending_deadlines(s)
    return found[0][0] if found else None


def earliest_due(s: PatientState, until: datetime) -> tuple[datetime, str] | None:
    """The earliest deadline reached by ``until`` (clock ≥ due), if any."""
    found = pending_deadlines(s)
    if found and found[0][0] <= until:
        return found[0]
    return None
