"""FHIR ``dateTime``/``instant`` strings → timezone-aware UTC ``datetime`` (contract §2).

Accepted: ``YYYY-MM-DD`` (00:00 of that day in the site time zone, rules.md §8: a midnight
in a DST gap moves forward) and ``YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)``.
Rejected, each with its own diagnostics: a time without a zone; a partial date (``2026`` or
``2026-03``: FHIR allows it, but it names no day, so it cannot place an event on a
patient's clock); an impossible date or time (``2026-02-30``, ``24:00:00``, leap second
``60``); a time that has no UTC equivalent in years 1–9999 (``9999-12-31T23:00:00-05:00``);
anything else that is not the FHIR format (e.g. minutes without seconds); a time outside
the plausible range of its :class:`Frame` (issue 11: before ``time.earliest_year``, more
than ``time.horizon_days`` after the reference time, or past the core's last year 2199),
so a sentinel (``0001-01-01``, ``9999-12-31``) or a mistyped year is invalid input naming
its field. Fractions beyond microseconds are truncated. Diagnostics quote at most 60
characters of the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from pipeline.clock import midnight
from pipeline.decide import EARLIEST, LATEST
from schemas.inbound.problem import Problem, show
from schemas.timefmt import fhir_datetime

_LAST = LATEST - timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Frame:
    """How times are read: the site time zone (a date alone is 00:00 there) and the
    plausible range ``earliest`` … ``latest`` (both inclusive). ``reference`` and
    ``horizon_days`` say where ``latest`` comes from (``None``: the core's last year)."""

    tz: tzinfo
    earliest: datetime = EARLIEST
    latest: datetime = _LAST
    reference: datetime | None = None
    horizon_days: int = 0


def frame_of(
    tz: tzinfo, earliest_year: int = 1900, reference: datetime | None = None, horizon_days: int = 30
) -> Frame:
    """The :class:`Frame` of rules ``time.*`` and a reference time (``None``: no horizon;
    only the core's upper bound, 2199, applies)."""
    earliest = max(datetime(earliest_year, 1, 1, tzinfo=UTC), EARLIEST)
    if reference is None:
        return Frame(tz, earliest)
    reference = reference.astimezone(UTC)
    if reference >= LATEST - timedelta(days=horizon_days):
        return Frame(tz, earliest, _LAST)
    return Frame(tz, earliest, reference + timedelta(days=horizon_days), reference, horizon_days)


def _implausible(value: str, path: str, dt: datetime, frame: Frame) -> Problem:
    if dt < frame.earliest:
        when = fhir_datetime(frame.earliest)
        return Problem(path, f"{show(value)} is before {when}, the earliest plausible time")
    if frame.reference is not None and dt <= _LAST:
        ref, days = fhir_datetime(frame.reference), frame.horizon_days
        return Problem(
            path, f"{show(value)} is more than {days} days after the reference time {ref}"
        )
    return Problem(
        path, f"{show(value)} is after {LATEST.year - 1}, the last year the pipeline accepts"
    )


_DT = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def parse_time(value: object, path: str, frame: Frame) -> datetime:
    """The UTC time of a FHIR dateTime at ``path`` (a date alone: 00:00 in the site time
    zone); :class:`Problem` if unusable or outside the frame's plausible range."""
    if not isinstance(value, str):
        raise Problem(path, f"expected a dateTime string, got {show(value)}", "structure")
    if len(value) == 20 and value[19] == "Z" and _fixed_separators(value):
        try:  # the common ``YYYY-MM-DDThh:mm:ssZ``; fromisoformat checks the digits
            dt = datetime.fromisoformat(value)
        except ValueError:  # the general path gives the diagnostics
            dt = _parse(value, path, frame.tz)
    else:
        dt = _parse(value, path, frame.tz)
    if frame.earliest <= dt <= frame.latest:
        return dt
    raise _implausible(value, path, dt, frame)


def _fixed_separators(value: str) -> bool:
    return value[4] == value[7] == "-" and value[10] == "T" and value[13] == value[16] == ":"


def _parse(value: str, path: str, tz: tzinfo) -> datetime:
    m = _DT.fullmatch(value)
    if m is None:
        raise Problem(path, f"{show(value)} is not a FHIR dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)")
    if m.group(3) is None:
        raise Problem(path, f"{show(value)} is a partial date; an event time needs a full date")
    if m.group(4) is not None and m.group(5) is None:
        raise Problem(path, f"{show(value)} has no time zone (add Z or an offset)")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as e:  # the reason without the value it may quote
        reason = str(e).split(": '")[0]
        raise Problem(path, f"{show(value)} is not a valid date/time: {reason}") from None
    try:
        if dt.tzinfo is None:  # date only: 00:00 local of that day
            return midnight(dt.date(), tz)
        return dt.astimezone(UTC)
    except OverflowError:
        raise Problem(path, f"{show(value)} is outside the range of UTC years 1–9999") from None


#: The longest duration read as attended minutes: longer is a data error, and unbounded
#: values overflow the 64-bit integers of the event wire format (schemas.wire).
MAX_MINUTES = 366 * 24 * 60


def minutes_between(start: datetime, end: datetime, path: str) -> int:
    """Whole minutes from ``start`` to ``end``; a Problem at ``path`` if ``end`` is earlier
    or more than :data:`MAX_MINUTES` later."""
    seconds = (end - start).total_seconds()
    if seconds < 0:
        raise Problem(path, "the end is before the start")
    if seconds > MAX_MINUTES * 60:
        raise Problem(path, "the session is longer than 366 days")
    return int(seconds // 60)
