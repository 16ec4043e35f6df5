"""Appointment → ``attended`` (status fulfilled) / ``no-show`` (status noshow), contract §3.

One event per participant whose actor is a Patient (a group Appointment with N patients
is N events, in participant order, each with the Appointment's identity). A participant
whose own ``status`` is ``declined`` did not take part and gets no event. Event time is
``start``; minutes are ``minutesDuration``, else ``end − start``, else 0. The level of
care comes from ``serviceType`` (``None`` when it carries none). Other statuses
(booked, cancelled…) are ignored.

Scope (rules.md §2, §7): the service codes are the codings of ``serviceCategory``,
``serviceType`` and ``specialty``. With a level or a ``scope.services`` code the session
is behavioral health (``bh``); with no service codes at all it still counts as attendance
(``bh`` false: minutes, days, no-show streak, never a follow-up); with codes that are all
something else (dental, dermatology) it is ignored: ``out of scope: not a
behavioral-health session``.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import SessionAttended, SessionMissed
from pipeline.scope import OUT_OF_SCOPE_SESSION, bh_service
from schemas.codes import APPOINTMENT_STATUSES
from schemas.inbound.context import Ctx, patient_key
from schemas.inbound.fields import (
    Json,
    array,
    codings,
    identity,
    known,
    level_of,
    own_id,
    required,
    string,
)
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome, cut, named
from schemas.inbound.refs import reference, target_id
from schemas.timeparse import MAX_MINUTES, minutes_between, parse_time

_KINDS = frozenset({"fulfilled", "noshow"})
_SERVICE_FIELDS = ("serviceCategory", "serviceType", "specialty")


def appointment_events(res: Json, ctx: Ctx) -> Outcome:
    status = required(string(res, "status", "status"), "status", "(Appointment.status is 1..1)")
    if status not in _KINDS:
        known(status, APPOINTMENT_STATUSES, "an Appointment status")
        return f"Appointment.status: {cut(status)} is not a session outcome (fulfilled, noshow)"
    level = level_of(res.get("serviceType"), "serviceType", ctx.levels)
    bh = True
    if level is None:
        codes = _service_codes(res)
        if codes and bh_service(ctx.env.rules, codes) is None:
            why = "its service codes are neither a level of care nor a behavioral-health service"
            return f"{named('Appointment', own_id(res))}: {OUT_OF_SCOPE_SESSION} ({why})"
        bh = bool(codes)
    patients = _patients(res, ctx)
    when = required(res.get("start"), "start", f"for a {status} Appointment (its event time)")
    start = parse_time(when, "start", ctx.frame)
    event_id, ref = identity(res, "Appointment")
    if status == "noshow":
        return [SessionMissed(event_id, p, start, ref, level, bh) for p in patients]
    minutes = _minutes(res, start, ctx)
    appts = (ref.partition("/")[2],) if ref else ()
    return [SessionAttended(event_id, p, start, ref, level, minutes, appts, bh) for p in patients]


def _service_codes(res: Json) -> list[tuple[str, str]]:
    """(system, code) of every coded service coding; a code without a system counts as a
    code (it is not a BH service, so the session is out of scope)."""
    found: list[tuple[str, str]] = []
    for key in _SERVICE_FIELDS:
        for i, cc in enumerate(array(res, key, key)):
            found += [(s or "", c) for s, c in codings(cc, f"{key}[{i}]") if c is not None]
    return found


def _patients(res: Json, ctx: Ctx) -> list[str]:
    found: list[str] = []
    for i, part in enumerate(array(res, "participant", "participant")):
        path = f"participant[{i}]"
        if not isinstance(part, dict):
            raise Problem(path, f"expected an object, got {show(part)}", "structure")
        ref = reference(part.get("actor"), f"{path}.actor")
        if ref is None:
            continue
        # other participants (Practitioner, Location, conditional references…) are skipped
        pid = target_id(ref, "Patient", f"{path}.actor.reference", ctx, strict=False)
        declined = string(part, "status", f"{path}.status") == "declined"
        key = None if pid is None else patient_key(ctx, pid)
        if key is not None and key not in found and not declined:
            found.append(key)
    if not found:
        raise Problem(
            "participant", "no participant actor is a Patient (no resolvable patient)", "required"
        )
    return found


def _minutes(res: Json, start: datetime, ctx: Ctx) -> int:
    value = res.get("minutesDuration")
    if value is not None:
        if type(value) is not int:
            raise Problem("minutesDuration", f"expected an integer, got {show(value)}", "structure")
        if value <= 0:
            raise Problem("minutesDuration", f"{value} is not a positive number of minutes")
        if value > MAX_MINUTES:
            raise Problem("minutesDuration", f"{show(value)} minutes is longer than 366 days")
        return value
    if res.get("end") is not None:
        return minutes_between(start, parse_time(res["end"], "end", ctx.frame), "end")
    return 0
