"""EpisodeOfCare → ``enrollment`` / ``program-exit``; Task → ``task-update`` (contract §3).

EpisodeOfCare: status ``active`` → enrollment at ``period.start`` (required); status
``finished``/``cancelled`` → program exit at ``period.end``, else ``period.start``. Only
with a level of care in ``type`` (contract §4); without one, or with another status, the
episode is ignored.

Task: every Task with an ``id``, a ``status``, ``for`` → a Patient and a time
(``lastModified``, else ``authoredOn``) becomes a ``TaskUpdated``; whether the id is one
the pipeline emitted, and whether the transition is allowed, is the core's decision
(rules.md §5). A Task lacking any of these cannot be one the pipeline emitted (its Tasks
always carry all four), so it is ignored; a Task ``for`` a Group, or ``for`` a reference
that cannot be resolved (conditional, unknown ``urn:``), likewise. A read field of
the wrong type or format (a malformed ``lastModified``, an unknown status code, a
``Patient/`` reference without id) is invalid input.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import Event, ProgramEnrolled, ProgramExited, TaskUpdated
from schemas.codes import EPISODE_STATUSES, TASK_STATUSES
from schemas.inbound.fields import Ctx, Json, identity, known, level_of, obj, required, string
from schemas.inbound.refs import patient_of, reference, target_id
from schemas.timeparse import parse_time

_EXITED = frozenset({"finished", "cancelled"})


def episode_events(res: Json, ctx: Ctx) -> list[Event] | None:
    status = required(string(res, "status", "status"), "status", "(EpisodeOfCare.status is 1..1)")
    if status != "active" and status not in _EXITED:
        known(status, EPISODE_STATUSES, "an EpisodeOfCare status")
        return None
    level = level_of(res.get("type"), "type", ctx)
    if level is None:
        return None
    patient = patient_of(res.get("patient"), "patient", ctx)
    period = obj(res, "period", "period") or {}
    event_id, ref = identity(res, "EpisodeOfCare")
    if status == "active":
        start = required(period.get("start"), "period.start", "for an enrollment (its event time)")
        return [ProgramEnrolled(event_id, patient, parse_time(start, "period.start"), ref, level)]
    return [ProgramExited(event_id, patient, _exit_time(period), ref, level)]


def _exit_time(period: Json) -> datetime:
    if period.get("end") is not None:
        return parse_time(period["end"], "period.end")
    start = required(period.get("start"), "period.end", "(or period.start) for a program exit")
    return parse_time(start, "period.start")


def task_events(res: Json, ctx: Ctx) -> list[Event] | None:
    task_id = string(res, "id", "id")
    status = string(res, "status", "status")
    if task_id is None or status is None:
        return None
    known(status, TASK_STATUSES, "a Task status")
    ref = reference(res.get("for"), "for")
    patient = target_id(ref, "Patient", "for.reference", ctx, strict=False) if ref else None
    time = _task_time(res)
    if patient is None or time is None:
        return None
    reason_cc = obj(res, "statusReason", "statusReason")
    reason = string(reason_cc, "text", "statusReason.text") if reason_cc else None
    event_id, own = identity(res, "Task")
    return [TaskUpdated(event_id, patient, time, own, task_id, status, reason)]


def _task_time(res: Json) -> datetime | None:
    if res.get("lastModified") is not None:
        return parse_time(res["lastModified"], "lastModified")
    if res.get("authoredOn") is not None:
        return parse_time(res["authoredOn"], "authoredOn")
    return None
