"""FHIR ``dateTime``/``instant`` strings → timezone-aware UTC ``datetime`` (contract §2).

Accepted: ``YYYY-MM-DD`` (00:00 of that day in the site time zone, rules.md §8: a midnight
in a DST gap moves forward) and ``YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)``.
Rejected, each with its own diagnostics: a time without a zone; a partial date (``2026`` or
``2026-03``: FHIR allows it, but it names no day, so it cannot place an event on a
patient's clock); an impossible date or time (``2026-02-30``, ``24:00:00``, leap second
``60``); a time that has no UTC equivalent in years 1–9999 (``9999-12-31T23:00:00-05:00``);
anything else that is not the FHIR format (e.g. minutes without seconds). Fractions beyond
microseconds are truncated. Diagnostics quote at most 60 characters of the value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from pipeline.clock import midnight
from schemas.inbound.problem import Problem, show

_DT = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def parse_time(value: object, path: str, tz: tzinfo) -> datetime:
    """The UTC time of a FHIR dateTime at ``path`` (a date alone: 00:00 in ``tz``, the site
    time zone); :class:`Problem` if unusable."""
    if not isinstance(value, str):
        raise Problem(path, f"expected a dateTime string, got {show(value)}", "structure")
    if len(value) == 20 and value[19] == "Z" and _fixed_separators(value):
        try:  # the common ``YYYY-MM-DDThh:mm:ssZ``; fromisoformat checks the digits
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # the general path gives the diagnostics
    return _parse(value, path, tz)


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
