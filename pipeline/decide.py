"""``decide``: the pure functional core. State and event in; new state and outputs out.

Order for one event (contract §7–§8): a duplicate (event id already applied) changes
nothing; otherwise the patient's clock moves to the event's time and the deadlines it
reaches fire, then the event applies with its own time (a late event moves nothing back).
A deceased patient gets nothing but C-DEATH-REVIEW and the reversal of the death (a Task
update is still checked against the state machine, so an illegal one is still refused).
Every ignored event says why (``Step.reason``, contract §9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline import bounds
from pipeline.bounds import (
    CLOSED_KEPT,
    DUPLICATE_WINDOW,
    epoch,
    fit,
    remember,
    trim_closed,
)
from pipeline.clock import plus_days, zone
from pipeline.config import RuleConfig
from pipeline.events import (
    AssessmentRecorded,
    ConditionRecorded,
    EdVisited,
    Event,
    PatientAdmitted,
    PatientDied,
    PatientDischarged,
    PatientRecorded,
    ProgramEnrolled,
    ProgramExited,
    Retracted,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
)
from pipeline.outputs import ReferralRecord, Rejected, TaskRecord
from pipeline.rules import attendance, placement, program, retraction, screening, stays, tasks
from pipeline.rules import transitions as tr
from pipeline.rules.catalog import rule_table
from pipeline.rules.context import Ctx
from pipeline.rules.deadlines import next_deadline as _next_deadline
from pipeline.rules.deadlines import run_clock
from pipeline.rules.discharge import on_discharge
from pipeline.state import NEVER, Obs, PatientState, digest, new_state

__all__ = ["Step", "advance", "decide", "next_deadline", "rule_table"]

#: Inside every allowed ``history.retention_days`` (≥ 31 local days) even across DST.
_QUICK_HORIZON = timedelta(days=29)
#: The core's plausible event times: calendar arithmetic (a year of dues, weeks, local
#: dates) never leaves the ``datetime`` range, and nothing loops over centuries. The
#: boundary refuses implausible times first, with the field named (issue 11).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
DECEASED = "patient deceased: every rule is silent"
RETENTION = "older than the retention window"


@dataclass(slots=True)
class Step:
    state: PatientState
    outputs: list[TaskRecord | ReferralRecord] = field(default_factory=list)
    rejected: Rejected | None = None  # the event is refused (dead letter)
    duplicate: bool = False  # contract §7: changed nothing, emitted nothing
    ignored: bool = False  # applied nothing (``reason`` says why)
    reason: str | None = None


def _enrolled(ctx: Ctx, ev: ProgramEnrolled) -> str | None:
    placement.enroll(ctx, ev.level, ev.time, ev.event_id, ev.ref)
    return None


def _assessed(ctx: Ctx, ev: AssessmentRecorded) -> str | None:
    if ev.ref is not None:
        old = _applied(ctx.s.obs, ev.ref)
        if old is not None:
            if old.value == ev.value:
                return f"{ev.ref}: a later version with the same value"
            retraction.retract(ctx, ev.ref, ev.time, retraction.CORRECTED)
    obs = screening.record(ctx, ev)
    screening.screen(ctx, ev, obs)
    tr.on_values(ctx, ev, obs)
    return None


def _applied(items: tuple[Obs, ...], ref: str) -> Obs | None:
    """The first kept assessment from ``ref`` (a plain loop: no generator per event)."""
    for o in items:
        if o.ref == ref:
            return o
    return None


def _condition(ctx: Ctx, ev: ConditionRecorded) -> str | None:
    program.on_condition(ctx, ev)
    return None


def _retracted(ctx: Ctx, ev: Retracted) -> str | None:
    when = _when(ctx, ev.time, ev.timed)
    if stays.death_retracted(ctx, ev, when):
        return None
    if ev.ref is None or not retraction.holds(ctx, ev.ref):
        return f"{ev.ref or 'resource'}: entered-in-error, but never applied for this patient"
    retraction.retract(ctx, ev.ref, when, retraction.IN_ERROR)
    return None


def _died(ctx: Ctx, ev: PatientDied) -> str | None:
    if not ev.timed and ctx.s.last_event == NEVER:
        return f"{ev.ref or 'Patient'}: death without a time for a patient never seen"
    stays.on_death(ctx, ev, _when(ctx, ev.time, ev.timed))
    return None


def _patient(ctx: Ctx, ev: PatientRecorded) -> str | None:
    return stays.on_patient(ctx, ev, _when(ctx, ev.time, ev.timed))


def _when(ctx: Ctx, t: datetime, timed: bool) -> datetime:
    """The event's own time, else the patient's latest event time (rules.md §8)."""
    if timed or ctx.s.last_event == NEVER:
        return t
    return ctx.s.last_event


_HANDLERS: dict[type, Callable[[Ctx, Any], str | None]] = {
    PatientAdmitted: stays.on_admitted,
    PatientDischarged: on_discharge,
    EdVisited: stays.on_ed_visit,
    ProgramEnrolled: _enrolled,
    ProgramExited: program.on_exit,
    AssessmentRecorded: _assessed,
    ConditionRecorded: _condition,
    Retracted: _retracted,
    PatientDied: _died,
    PatientRecorded: _patient,
    SessionAttended: attendance.on_attended,
    SessionMissed: attendance.on_no_show,
}

#: Events whose time is a fallback when ``timed`` is false (they move no clock then).
_UNTIMED = (Retracted, PatientDied, PatientRecorded)


def decide(state: PatientState | None, event: Event, cfg: RuleConfig) -> Step:
    """Apply one normalized event to a patient's state (``None``: a new patient)."""
    base = state if state is not None else new_state(event.patient)
    if not (EARLIEST <= event.time < LATEST):
        why = f"event time {event.time.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}"
        return Step(base, [], rejected=Rejected(event.event_id, why, "time"))
    key = digest(event.event_id)
    if key in base.seen:
        return Step(base, [], duplicate=True, reason="duplicate of an event already applied")
    untimed = isinstance(event, _UNTIMED) and not event.timed
    when = epoch(event.time)
    if not untimed and _too_old(base, event.time, cfg):
        return Step(base, [], ignored=True, reason=RETENTION)
    if not untimed and base.seen_floor is not None and when <= base.seen_floor:
        return Step(base, [], ignored=True, reason=DUPLICATE_WINDOW)
    if base.deceased and not _may_reverse(event):
        return _after_death(base, event, cfg)
    ctx = Ctx(base, cfg)
    if not untimed:
        run_clock(ctx, event.time)
        if event.time > ctx.s.last_event:
            ctx.s.last_event = event.time
    if isinstance(event, TaskUpdated):
        result = tasks.on_task_update(ctx, event)
        if isinstance(result, Rejected):  # dead letter: the refused document changes nothing
            return Step(base, [], rejected=result)
        if result == tasks.IGNORED:
            why = f"Task/{event.task_id}: not a Task emitted for this patient"
            return Step(ctx.s, ctx.out, ignored=True, reason=why)
        reason = None
    else:
        reason = _HANDLERS[type(event)](ctx, event)
    s = ctx.s
    s.seen, s.seen_floor = remember(base, key, epoch(s.last_event) if untimed else when)
    if len(s.closed) > CLOSED_KEPT:
        s.closed = trim_closed(s.closed)
    fitted = fit(s)
    if fitted is None:
        cap = bounds.STATE_CAP
        why = f"the patient's state would exceed {cap} bytes; the event is not applied"
        return Step(base, [], rejected=Rejected(event.event_id, why, "Patient"))
    return Step(fitted, ctx.out, ignored=reason is not None and not ctx.out, reason=reason)


def _too_old(s: PatientState, t: datetime, cfg: RuleConfig) -> bool:
    """An event older than ``history.retention_days`` before the latest event."""
    if s.last_event == NEVER or t >= s.last_event - _QUICK_HORIZON:
        return False  # well inside the window: no calendar arithmetic
    horizon = plus_days(s.last_event, -cfg.history.retention_days, zone(cfg.site.timezone))
    return t < horizon


def _may_reverse(event: Event) -> bool:
    return isinstance(event, PatientRecorded | Retracted)


def _after_death(base: PatientState, event: Event, cfg: RuleConfig) -> Step:
    """Nothing is emitted for a deceased patient; an illegal Task update is still refused."""
    if isinstance(event, TaskUpdated):
        result = tasks.on_task_update(Ctx(base, cfg), event)
        if isinstance(result, Rejected):
            return Step(base, [], rejected=result)
    return Step(base, [], ignored=True, reason=DECEASED)


def advance(state: PatientState, now: datetime, cfg: RuleConfig) -> Step:
    """A tick: move the clock to ``now`` (never back) and fire the deadlines it reaches.
    A tick outside the plausible range moves nothing (the shell refuses such ticks)."""
    if state.deceased or not (EARLIEST <= now < LATEST):
        return Step(state, [])
    ctx = Ctx(state, cfg)
    run_clock(ctx, now)
    return Step(ctx.s, ctx.out)


def next_deadline(state: PatientState, cfg: RuleConfig | None = None) -> datetime | None:
    """The earliest armed deadline of a state, for the live tick index."""
    from pipeline.config import DEFAULT_RULES

    return _next_deadline(Ctx(state, cfg or DEFAULT_RULES))
