"""Program exits and contraindications (rules.md §3–§5): T-EXIT, C-DROPOUT,
C-EXIT-RISK, the exit follow-up (C-FOLLOWUP), and C-CONTRA from ``condition`` events.
"""

from __future__ import annotations

from pipeline.codes import STEP_DOWN, CareTask, Priority
from pipeline.describe import lv
from pipeline.events import ConditionRecorded, Contra, ProgramExited
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.rules.discharge import followup
from pipeline.rules.placement import PROGRAM_LEVELS, exit_program
from pipeline.rules.signals import OUTPATIENT_LEVELS, active_contras, signal_source
from pipeline.state import Condition

#: T-EXIT: the next level down.
NEXT_DOWN = {Level.PHP: Level.IOP, Level.IOP: Level.OP}


def on_exit(ctx: Ctx, ev: ProgramExited) -> str | None:
    """``program-exit`` at the current level (rules.md §3): level = none, level-bound
    Tasks cancelled, then T-EXIT (finished) or C-DROPOUT (cancelled) from PHP/IOP."""
    if not exit_program(ctx, ev.level, ev.time):
        return f"{ev.ref or 'EpisodeOfCare'}: program exit at {lv(ev.level)}, a level the patient does not hold"  # noqa: E501
    s = ctx.s
    s.bh_contact = max(ev.time, s.bh_contact or ev.time)
    s.left_care = max(ev.time, s.left_care or ev.time)
    if ev.level not in PROGRAM_LEVELS:
        return None
    if ev.finished:
        step_down(ctx, ev)
        followup(ctx, ev.time, ev.event_id, ev.ref, "C-FOLLOWUP",
                 f"Finished {lv(ev.level)}")  # fmt: skip
    else:
        dropout(ctx, ev)
    exit_risk(ctx, ev)
    return None


def _risk(ctx: Ctx, ev: ProgramExited) -> str | None:
    sig = signal_source(ctx, ev.time)
    if sig is not None:
        return "a safety signal"
    contras = active_contras(ctx, ev.time)
    return f"an active {contras[0].kind.value} contraindication" if contras else None


def step_down(ctx: Ctx, ev: ProgramExited) -> None:
    """T-EXIT: a ``finished`` program exit at PHP or IOP with no pending referral → refer
    to the next level down (routine; urgent with a safety signal), always — the riskiest
    exits need aftercare most.

    Rationale: finishing PHP or IOP without a planned next level is a gap in care; the
    step-down is the aftercare referral. Source: rules.md §4; reference/clinical-rules.md
    §8 rule 27 (the first session at the new level).
    """
    if ctx.s.pending is not None:
        return
    target = NEXT_DOWN[ev.level]
    signal = signal_source(ctx, ev.time) is not None
    priority = Priority.URGENT if signal else Priority.ROUTINE
    why = " with a safety signal" if signal else ""
    text = f"Refer to {lv(target)}: finished {lv(ev.level)} on {ctx.day(ev.time)}{why}."
    refs = (ev.ref,) if ev.ref is not None else ()
    ctx.refer("T-EXIT", ev.event_id, ev.time, target, STEP_DOWN, priority, text, refs)


def dropout(ctx: Ctx, ev: ProgramExited) -> None:
    """C-DROPOUT: a ``cancelled`` program exit at PHP or IOP → an ``engagement-review``
    Task (urgent; asap with a safety signal).

    Rationale: a program that ends without completion is a drop-out, to be reviewed and
    re-engaged. Source: rules.md §5; reference/clinical-rules.md §5 (TEDS reasons).
    """
    signal = signal_source(ctx, ev.time) is not None
    priority = Priority.ASAP if signal else Priority.URGENT
    why = " with a safety signal" if signal else ""
    text = (
        f"Left {lv(ev.level)} without finishing on {ctx.day(ev.time)}{why}; re-engage the patient."
    )
    ctx.new_task("C-DROPOUT", CareTask.ENGAGEMENT, ev.event_id, ev.time, priority, text, ev.ref)


def exit_risk(ctx: Ctx, ev: ProgramExited) -> None:
    """C-EXIT-RISK: T-EXIT or C-DROPOUT with a safety signal or an active contraindication
    → an urgent ``discharge-safety-review`` Task.

    Rationale: leaving a program with an unanswered suicide-risk signal, psychosis or
    withdrawal is the riskiest exit; the aftercare referral alone is not a safety review.
    Source: rules.md §4, §5."""
    risk = _risk(ctx, ev)
    if risk is None:
        return
    text = f"Left {lv(ev.level)} on {ctx.day(ev.time)} with {risk}; review the exit for safety."
    ctx.new_task("C-EXIT-RISK", CareTask.DISCHARGE_SAFETY, ev.event_id, ev.time, Priority.URGENT,
                 text, ev.ref)  # fmt: skip


def on_condition(ctx: Ctx, ev: ConditionRecorded) -> None:
    """A contraindication Condition (rules.md §4, §7): an active one starts at its onset;
    a version that is no longer active ends it (without retracting); C-CONTRA fires when a
    kind goes from no active Condition to one."""
    s = ctx.s
    now = s.clock  # the moment that reads it: a chronic entry's old onset is not recent
    old = next((c for c in s.contras if c.ref == ev.ref), None)
    before = any(c.kind is ev.kind for c in active_contras(ctx, now))
    others = tuple(c for c in s.contras if c.ref != ev.ref)
    if ev.active:
        onset = old.onset if old is not None and old.ended is None else ev.time
        s.contras = (*others, Condition(ev.ref or ev.event_id, ev.kind, onset))
        if not before and any(c.kind is ev.kind for c in active_contras(ctx, now)):
            contra_review(ctx, ev)
    elif old is not None:
        s.contras = (*others, Condition(old.ref, old.kind, old.onset, ev.time))


def contra_review(ctx: Ctx, ev: ConditionRecorded) -> None:
    """C-CONTRA: a contraindication becomes active while the effective level is OP, IOP or
    PHP → an urgent ``contraindication-review`` (psychosis) or
    ``withdrawal-management-review`` (withdrawal) Task.

    Rationale: psychotic features and substance withdrawal exclude most outpatient programs
    (ASAM withdrawal management, IOP/PHP exclusion criteria); the level must be reviewed.
    Source: reference/clinical-rules.md §6, §8 rules 4 and 6.
    """
    level = ctx.s.effective_level()
    if level not in OUTPATIENT_LEVELS:
        return
    psychosis = ev.kind is Contra.PSYCHOSIS
    code = CareTask.CONTRA if psychosis else CareTask.WITHDRAWAL
    what = "psychosis" if psychosis else "substance withdrawal"
    text = (
        f"Condition {ev.code} ({what}) recorded on {ctx.day(ev.time)} while at {lv(level)}; "
        f"review whether {lv(level)} is still safe."
    )
    ctx.new_task("C-CONTRA", code, ev.event_id, ev.time, Priority.URGENT, text, ev.ref)
