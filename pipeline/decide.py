"""``decide``: the pure functional core. State and event in; new state and outputs out.

Order for one event (contract §7–§8): a duplicate (event id already applied) changes
nothing; otherwise the patient's clock moves to the event's time and the deadlines it
reaches fire, then the event applies with its own time (a late event moves nothing back).
A deceased patient gets nothing: events are ignored (a Task update is still checked
against the state machine, so an illegal one is still refused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.clock import next_deadline
from pipeline.config import RuleConfig
from pipeline.events import (
    AssessmentRecorded,
    Event,
    PatientAdmitted,
    PatientDischarged,
    ProgramEnrolled,
    ProgramExited,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
)
from pipeline.outputs import ReferralRecord, Rejected, TaskRecord
from pipeline.rules import attendance, placement, screening, tasks, transitions
from pipeline.rules.catalog import rule_table
from pipeline.rules.context import Ctx
from pipeline.rules.deadlines import run_clock
from pipeline.rules.discharge import on_discharge
from pipeline.state import PatientState, digest, new_state

__all__ = ["Step", "advance", "decide", "next_deadline", "rule_table"]


@dataclass(slots=True)
class Step:
    state: PatientState
    outputs: list[TaskRecord | ReferralRecord] = field(default_factory=list)
    rejected: Rejected | None = None  # the event is refused (dead letter)
    duplicate: bool = False  # contract §7: changed nothing, emitted nothing
    ignored: bool = False  # not ours (unknown Task id) or the patient is deceased


def _admitted(ctx: Ctx, ev: PatientAdmitted) -> None:
    placement.admit(ctx, ev.time)


def _enrolled(ctx: Ctx, ev: ProgramEnrolled) -> None:
    placement.enroll(ctx, ev.level, ev.time, ev.event_id, ev.ref)


def _exited(ctx: Ctx, ev: ProgramExited) -> None:
    placement.exit_program(ctx, ev.level, ev.time)


def _assessed(ctx: Ctx, ev: AssessmentRecorded) -> None:
    obs = screening.record(ctx, ev)
    screening.screen(ctx, ev, obs)
    transitions.on_values(ctx, ev, obs)


_HANDLERS: dict[type, Callable[[Ctx, Any], None]] = {
    PatientAdmitted: _admitted,
    PatientDischarged: on_discharge,
    ProgramEnrolled: _enrolled,
    ProgramExited: _exited,
    AssessmentRecorded: _assessed,
    SessionAttended: attendance.on_attended,
    SessionMissed: attendance.on_no_show,
}


def decide(state: PatientState | None, event: Event, cfg: RuleConfig) -> Step:
    """Apply one normalized event to a patient's state (``None``: a new patient)."""
    base = state if state is not None else new_state(event.patient)
    key = digest(event.event_id)
    if key in base.seen:
        return Step(base, [], duplicate=True)
    if base.deceased:
        return _after_death(base, event, cfg)
    ctx = Ctx(base, cfg)
    run_clock(ctx, event.time)
    if isinstance(event, TaskUpdated):
        result = tasks.on_task_update(ctx, event)
        if isinstance(result, Rejected):  # dead letter: the refused document changes nothing
            return Step(base, [], rejected=result)
        if result == tasks.IGNORED:
            return Step(ctx.s, ctx.out, ignored=True)
    else:
        _HANDLERS[type(event)](ctx, event)
    ctx.s.seen = base.seen | {key}
    return Step(ctx.s, ctx.out)


def _after_death(base: PatientState, event: Event, cfg: RuleConfig) -> Step:
    """Nothing is emitted for a deceased patient; an illegal Task update is still refused."""
    if isinstance(event, TaskUpdated):
        result = tasks.on_task_update(Ctx(base, cfg), event)
        if isinstance(result, Rejected):
            return Step(base, [], rejected=result)
    return Step(base, [], ignored=True)


def advance(state: PatientState, now: datetime, cfg: RuleConfig) -> Step:
    """A tick: move the clock to ``now`` (never back) and fire the deadlines it reaches."""
    if state.deceased:
        return Step(state, [])
    ctx = Ctx(state, cfg)
    run_clock(ctx, now)
    return Step(ctx.s, ctx.out)
