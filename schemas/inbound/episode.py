"""EpisodeOfCare → ``enrollment`` / ``program-exit`` (contract §3).

Status ``active`` → enrollment at ``period.start`` (required); status ``finished`` /
``cancelled`` → program exit at ``period.end``, else ``period.start``, keeping which of
the two it was (``finished``: T-EXIT; ``cancelled``: C-DROPOUT). Only with a level of care
in ``type`` (contract §4); without one, or with another status, the episode is ignored
with the reason.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import ProgramEnrolled, ProgramExited
from schemas.codes import EPISODE_STATUSES
from schemas.inbound.context import Ctx
from schemas.inbound.fields import Json, identity, known, level_of, obj, required, string
from schemas.inbound.reasons import Outcome, cut
from schemas.inbound.refs import patient_of
from schemas.timeparse import Frame, parse_time

_EXITED = frozenset({"finished", "cancelled"})


def episode_events(res: Json, ctx: Ctx) -> Outcome:
    status = required(string(res, "status", "status"), "status", "(EpisodeOfCare.status is 1..1)")
    if status != "active" and status not in _EXITED:
        known(status, EPISODE_STATUSES, "an EpisodeOfCare status")
        why = "is neither an enrollment (active) nor an exit (finished, cancelled)"
        return f"EpisodeOfCare.status: {cut(status)} {why}"
    level = level_of(res.get("type"), "type", ctx.levels)
    if level is None:
        return "EpisodeOfCare.type: no level of care (contract §4 codes)"
    patient = patient_of(res.get("patient"), "patient", ctx)
    period = obj(res, "period", "period") or {}
    event_id, ref = identity(res, "EpisodeOfCare")
    if status == "active":
        start = required(period.get("start"), "period.start", "for an enrollment (its event time)")
        time = parse_time(start, "period.start", ctx.frame)
        return [ProgramEnrolled(event_id, patient, time, ref, level)]
    time = _exit_time(period, ctx.frame)
    return [ProgramExited(event_id, patient, time, ref, level, status == "finished")]


def _exit_time(period: Json, frame: Frame) -> datetime:
    if period.get("end") is not None:
        return parse_time(period["end"], "period.end", frame)
    start = required(period.get("start"), "period.end", "(or period.start) for a program exit")
    return parse_time(start, "period.start", frame)
