"""Encounter class ``AMB`` or ``VR`` (telehealth) → ``attended`` (contract §3, rules.md §2).

Status ``finished``, a ``period.start`` and a level of care or a ``scope.services`` code in
``serviceType``/``type`` → attended at ``period.start``; minutes from ``length``, else
``period.end − period.start``, else 0. The level comes from ``serviceType``, else
``type``. Without a level or a behavioral-health service code the visit is ignored with
the reason ``out of scope: not a behavioral-health session``: an office visit is not a
follow-up (unlike an Appointment, an Encounter with no service codes does not count).
"""

from __future__ import annotations

from pipeline.events import SessionAttended
from pipeline.scope import OUT_OF_SCOPE_SESSION, bh_service
from schemas.codes import UCUM
from schemas.inbound.context import Ctx
from schemas.inbound.fields import Json, array, identity, level_of, obj, own_id, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome, named
from schemas.inbound.refs import patient_of, reference, target_id
from schemas.inbound.stay import service_codes
from schemas.timeparse import MAX_MINUTES, minutes_between, parse_time

_UCUM_MINUTES = {"min": 1.0, "h": 60.0, "s": 1 / 60, "d": 1440.0}
_UNIT_MINUTES = {
    **{w: 1.0 for w in ("min", "mins", "minute", "minutes")},
    **{w: 60.0 for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: 1 / 60 for w in ("s", "sec", "secs", "second", "seconds")},
}


def visit_events(res: Json, ctx: Ctx, status: str, cls: str) -> Outcome:
    if status != "finished":
        what = "a telehealth (VR)" if cls == "VR" else "an ambulatory (AMB)"
        return f"Encounter.status: {status}; {what} session counts when finished"
    period = obj(res, "period", "period") or {}
    if period.get("start") is None:
        return "Encounter.period.start: absent; a session needs its start time"
    level = level_of(res.get("serviceType"), "serviceType", ctx.levels)
    if level is None:
        level = level_of(res.get("type"), "type", ctx.levels)
    if level is None and bh_service(ctx.env.rules, service_codes(res)) is None:
        why = "no level of care or behavioral-health service code in serviceType/type"
        return f"{named('Encounter', own_id(res))}: {OUT_OF_SCOPE_SESSION} ({why})"
    patient = patient_of(res.get("subject"), "subject", ctx)
    start = parse_time(period["start"], "period.start", ctx.frame)
    minutes = _length(res)
    if minutes is None and period.get("end") is not None:
        end = parse_time(period["end"], "period.end", ctx.frame)
        minutes = minutes_between(start, end, "period.end")
    event_id, ref = identity(res, "Encounter")
    appts = _appointments(res, ctx)
    return [SessionAttended(event_id, patient, start, ref, level, minutes or 0, appts, True)]


def _length(res: Json) -> int | None:
    length = obj(res, "length", "length")
    if length is None or length.get("value") is None:
        return None
    value = length["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Problem("length.value", f"expected a number, got {show(value)}", "structure")
    if value < 0:
        raise Problem("length.value", f"{value} is a negative duration")
    minutes = value * _minutes_per_unit(length)
    if minutes > MAX_MINUTES:
        raise Problem("length.value", f"{show(value)} {_unit(length)} is longer than 366 days")
    return round(minutes)


def _unit(length: Json) -> str:
    return str(length.get("code") or length.get("unit") or "min")


def _minutes_per_unit(length: Json) -> float:
    """Minutes per unit of a Duration: UCUM ``code`` first, else the ``unit`` text."""
    code = string(length, "code", "length.code")
    unit = string(length, "unit", "length.unit")
    system = string(length, "system", "length.system")
    factor = _UCUM_MINUTES.get(code) if code and system in (None, UCUM) else None
    if factor is None and unit is not None:
        factor = _UNIT_MINUTES.get(unit.strip().lower())
    if factor is not None:
        return factor
    if code or unit:
        raise Problem("length.code", f"unknown time unit {show(code or unit)} (min, h, s, d)")
    return 1.0  # a bare number: minutes, as contract §3 reads Encounter.length


def _appointments(res: Json, ctx: Ctx) -> tuple[str, ...]:
    ids: list[str] = []
    for i, holder in enumerate(array(res, "appointment", "appointment")):
        path = f"appointment[{i}]"
        ref = reference(holder, path)
        if ref is None:
            continue
        # an unresolvable reference only loses the de-duplication, not the attendance
        aid = target_id(ref, "Appointment", f"{path}.reference", ctx, strict=False)
        if aid is not None:
            ids.append(aid)
    return tuple(ids)
