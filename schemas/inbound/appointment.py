"""Appointment → ``attended`` (status fulfilled) / ``no-show`` (status noshow), contract §3.

One event per participant whose actor is a Patient (a group Appointment with N patients
is N events, in participant order, each with the Appointment's identity). A participant
whose own ``status`` is ``declined`` did not take part and gets no event. Event time is
``start``; minutes are ``minutesDuration``, else ``end − start``, else 0. The level of
care comes from ``serviceType`` (``None`` when it carries none). Other statuses
(booked, cancelled…) are ignored.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import Event, SessionAttended, SessionMissed
from schemas.codes import APPOINTMENT_STATUSES
from schemas.inbound.fields import Ctx, Json, array, identity, known, level_of, required, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.refs import reference, target_id
from schemas.timeparse import MAX_MINUTES, minutes_between, parse_time

_KINDS = frozenset({"fulfilled", "noshow"})


def appointment_events(res: Json, ctx: Ctx) -> list[Event] | None:
    status = required(string(res, "status", "status"), "status", "(Appointment.status is 1..1)")
    if status not in _KINDS:
        known(status, APPOINTMENT_STATUSES, "an Appointment status")
        return None
    patients = _patients(res, ctx)
    when = required(res.get("start"), "start", f"for a {status} Appointment (its event time)")
    start = parse_time(when, "start")
    level = level_of(res.get("serviceType"), "serviceType", ctx)
    event_id, ref = identity(res, "Appointment")
    if status == "noshow":
        return [SessionMissed(event_id, p, start, ref, level) for p in patients]
    minutes = _minutes(res, start)
    appts = (ref.partition("/")[2],) if ref else ()
    return [SessionAttended(event_id, p, start, ref, level, minutes, appts) for p in patients]


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
        if pid is not None and pid not in found and not declined:
            found.append(pid)
    if not found:
        raise Problem(
            "participant", "no participant actor is a Patient (no resolvable patient)", "required"
        )
    return found


def _minutes(res: Json, start: datetime) -> int:
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
        return minutes_between(start, parse_time(res["end"], "end"), "end")
    return 0
