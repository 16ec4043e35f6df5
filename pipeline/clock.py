"""Calendar arithmetic in the site time zone (rules.md §1, §8).

Event times are instants (timezone-aware UTC); only calendar arithmetic uses the zone:
a "day" is a local calendar day (23 or 25 hours across a DST change), a week starts on
Monday 00:00 local, "the end of the N-th day after D" is 00:00 local of D + N + 1.

A local wall time that does not exist (a DST gap) moves forward by the gap; an ambiguous
one takes the earlier offset — exactly what ``datetime(..., tzinfo=ZoneInfo)`` with
``fold=0`` followed by ``astimezone(UTC)`` gives. The zone database is the pinned
``tzdata`` package, so every host computes the same deadlines.

Weeks are keyed by the proleptic ordinal of their local Monday (``date.toordinal``).
UTC takes a fast path with plain arithmetic (the default site).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIDNIGHT_UTC = time(0, tzinfo=UTC)


@lru_cache(maxsize=1024)
def days(n: int) -> timedelta:
    """``timedelta(days=n)``, built once per ``n`` (a keyword-built ``timedelta`` costs
    several times the datetime arithmetic it serves; the hot paths use a few day counts)."""
    return timedelta(days=n)


@lru_cache(maxsize=1024)
def hours(n: int) -> timedelta:
    """``timedelta(hours=n)``, built once per ``n``."""
    return timedelta(hours=n)


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    """The zone of an IANA name (``UTC`` → ``datetime.UTC``); ``KeyError``/``ValueError``
    for an unknown name."""
    if name in ("UTC", "Etc/UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except Exception as e:  # ZoneInfoNotFoundError is a KeyError; bad paths a ValueError
        raise KeyError(name) from e


def local_date(t: datetime, tz: tzinfo) -> date:
    """The site-local calendar date of the instant ``t``."""
    if tz is UTC:
        return t.date()
    return t.astimezone(tz).date()


def midnight(d: date, tz: tzinfo) -> datetime:
    """00:00 local of ``d`` as a UTC instant (a midnight in a DST gap moves forward)."""
    if tz is UTC:
        return datetime.combine(d, _MIDNIGHT_UTC)  # = datetime(y, m, d, tzinfo=UTC), 4× faster
    return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)


def day_start(t: datetime, tz: tzinfo) -> datetime:
    """00:00 local of the day of ``t``."""
    return midnight(local_date(t, tz), tz)


def days_after(t: datetime, n: int, tz: tzinfo) -> datetime:
    """00:00 local of the ``n``-th day after the local date of ``t``; ``days_after(t, n+1)``
    is the end of the ``n``-th day after ``t``'s date."""
    return midnight(local_date(t, tz) + days(n), tz)


def plus_days(t: datetime, n: int, tz: tzinfo) -> datetime:
    """``t`` plus ``n`` local calendar days, same local wall time (23/25 h across DST)."""
    if tz is UTC:
        return t + days(n)
    local = t.astimezone(tz)
    moved = datetime.combine(local.date() + days(n), local.time(), tzinfo=tz)
    return moved.astimezone(UTC)


def day_number(t: datetime, since: datetime, tz: tzinfo) -> int:
    """How many local calendar days the date of ``t`` is after the date of ``since``."""
    return (local_date(t, tz) - local_date(since, tz)).days


def week_key(t: datetime, tz: tzinfo) -> int:
    """The ordinal of the local Monday of the week of ``t``."""
    d = local_date(t, tz)
    return d.toordinal() - d.weekday()


def week_start(key: int, tz: tzinfo) -> datetime:
    """00:00 local of the Monday with ordinal ``key``."""
    return midnight(date.fromordinal(key), tz)


def next_monday(t: datetime, tz: tzinfo) -> datetime:
    """The first Monday 00:00 local strictly after ``t``."""
    return week_start(week_key(t, tz) + 7, tz)


def day_key(t: datetime, tz: tzinfo) -> int:
    """The ordinal of the local date of ``t`` (attended-day counting)."""
    return local_date(t, tz).toordinal()
