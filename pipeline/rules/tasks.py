"""Task updates from case managers (rules.md §5): the Task state machine, referral
outcomes (L-ENROLLED by a completed referral, C-REFERRAL-FAILED), freeing slots.

The output of a legal update is the Task itself re-published with the new status, time and
reason, so ``care.tasks`` always holds the latest version of every Task the pipeline owns.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pipeline.bounds import NOTE_CHARS, NOTES_KEPT, OWNER_CHARS, REASON_CHARS, clip
from pipeline.codes import TERMINAL, CareTask, Priority, Status
from pipeline.describe import lv
from pipeline.events import TaskUpdated
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, Rejected, TaskRecord
from pipeline.rules.context import Ctx
from pipeline.rules.placement import enroll, recert
from pipeline.state import short_id

EIE = "entered-in-error"

#: The referral Task state machine (rules.md §5); "any → entered-in-error" is added below.
REFERRAL_MOVES: dict[str, frozenset[str]] = {
    "requested": frozenset({"accepted", "rejected", "cancelled"}),
    "accepted": frozenset({"in-progress", "on-hold", "completed", "failed", "cancelled"}),
    "in-progress": frozenset({"on-hold", "completed", "failed", "cancelled"}),
    "on-hold": frozenset({"in-progress", "completed", "failed", "cancelled"}),
}
#: Case-management Tasks may also go requested → in-progress | completed.
CASE_MOVES = {
    **REFERRAL_MOVES,
    "requested": REFERRAL_MOVES["requested"] | {"in-progress", "completed"},
}

APPLIED, IGNORED = "applied", "ignored"


def allowed(task_code: str, old: str, new: str) -> bool:
    """Whether ``old → new`` is a legal move for a Task with this code."""
    if new == EIE:
        return old != EIE
    moves = REFERRAL_MOVES if task_code == CareTask.FULFILL else CASE_MOVES
    return new in moves.get(old, frozenset())


def _rejected(ev: TaskUpdated, old: str) -> Rejected:
    return Rejected(
        ev.event_id,
        f"Task.status: {old} → {ev.status} is not an allowed transition (Task/{ev.task_id})",
        "Task.status",
    )


def on_task_update(ctx: Ctx, ev: TaskUpdated) -> Rejected | str:
    """Apply a case manager's change; ``IGNORED`` for a Task id this patient's state does
    not hold (a mistyped or forged update changes nothing anywhere).

    Choices: re-sending the current status with no new owner or note is a no-op. A Task
    that is already terminal keeps only its id and status in the state, so a legal move of
    a terminal Task (to entered-in-error) is recorded but not re-published. An update may
    set ``owner`` and add a ``note``; both are kept and re-published with the Task.
    """
    task = ctx.s.tasks.get(ev.task_id)
    if task is None:
        return _closed_update(ctx, ev)
    if ev.status != task.status and not allowed(task.code, task.status, ev.status):
        return _rejected(ev, task.status)
    changes: dict[str, object] = {}
    owner, note = clip(ev.owner, OWNER_CHARS), clip(ev.note, NOTE_CHARS)
    if owner and owner != task.owner:
        changes["owner"] = owner
    if note and (not task.notes or task.notes[-1] != note):
        changes["notes"] = (*task.notes, note)[-NOTES_KEPT:]
    if ev.status == task.status:
        if changes:
            ctx.republish(task, ev.time, **changes)
        return APPLIED
    if changes:
        task = replace(task, **changes)  # type: ignore[arg-type]
    reason = clip(ev.reason, REASON_CHARS) or f"{ev.status} by a case manager"
    new = ctx.set_status(task, ev.status, ev.time, reason)
    if new.code == CareTask.FULFILL and new.status in TERMINAL:
        referral_outcome(ctx, new, ev)
    elif new.status == Status.COMPLETED:
        completed(ctx, new, ev)
    return APPLIED


def _closed_update(ctx: Ctx, ev: TaskUpdated) -> Rejected | str:
    old = ctx.s.closed.get(short_id(ev.task_id))
    if old is None:
        return IGNORED
    if ev.status == old:
        return APPLIED
    if not allowed("", old, ev.status):
        return _rejected(ev, old)
    ctx.mark_closed(ev.task_id, ev.status)
    return APPLIED


def completed(ctx: Ctx, task: TaskRecord, ev: TaskUpdated) -> None:
    """A case-management Task completed: L-SCREEN-DONE for ``suicide-risk-screen`` /
    ``safety-plan`` (the signal it answered is resolved: it no longer holds step-downs);
    C-RECERT again for ``recertification`` while the level is held (the next point after
    both the completion and the completed Task's due, rules.md §7).

    Rationale: a completed C-SSRS screen or safety plan is the answer the signal asked for;
    recertification is periodic for as long as the level lasts. Source: rules.md §1, §6;
    reference/clinical-rules.md §3a, §3b, §4b."""
    s = ctx.s
    if task.code in (CareTask.SI_SCREEN, CareTask.SAFETY_PLAN):
        s.resolved_at = max(ev.time, s.resolved_at or ev.time)
    elif task.code == CareTask.RECERT and s.level is not None and s.level_since is not None:
        after = max(ev.time, task.due)
        recert(ctx, s.level, s.level_since, after, ev.event_id, f"Task/{task.id}", ev.time)


def referral_outcome(ctx: Ctx, task: TaskRecord, ev: TaskUpdated) -> None:
    """A referral Task reached a terminal status: ``completed`` is enrollment at its target
    from the update's time (ServiceRequest completed); ``rejected``/``failed`` revokes the
    ServiceRequest, starts the cool-down and opens C-REFERRAL-FAILED; ``cancelled`` or
    ``entered-in-error`` revokes the ServiceRequest. Either way the pending referral clears
    and its ``referral-stalled`` Task closes (L-STALL-CLOSED)."""
    s = ctx.s
    if s.pending is None or s.pending.task_id != task.id or task.target is None:
        return
    if task.status == Status.COMPLETED:
        if s.level == task.target:
            ctx.finish_referral(Status.COMPLETED, ev.time, f"enrolled at {lv(task.target)}")
        else:
            enroll(ctx, task.target, ev.time, ev.event_id, ev.ref)
        return
    p = s.pending
    ctx.finish_referral(Status.REVOKED, ev.time, f"referral Task {task.status}")
    if task.status in (Status.REJECTED, Status.FAILED):
        failed(ctx, p, task.status, ev.time, ev.event_id, ev.ref or f"Task/{task.id}")


def failed(
    ctx: Ctx, p: ReferralRecord, status: str, when: datetime, trigger: str, focus: str
) -> None:
    """The cool-down starts (rules.md §4), then C-REFERRAL-FAILED."""
    phq = [o for o in ctx.s.obs if o.inst == "phq9" and o.time <= p.authored]
    ctx.cool(p.level, when, phq[-1].value if phq else None)
    referral_failed(ctx, p.level, status, when, trigger, focus)


def referral_failed(
    ctx: Ctx, target: Level, status: str, when: datetime, trigger: str, focus: str
) -> None:
    """C-REFERRAL-FAILED: a referral Task updated to ``rejected`` or ``failed`` (by a case
    manager or by expiry) → an urgent ``referral-failed`` Task due in one day to find
    another placement.

    Rationale: when the indicated level is not available, place at the next available
    level and record the variance. Source: reference/clinical-rules.md §3d (Anthem
    CG-BEH-04, http://www.anthem.com/ca/medicalpolicies/guidelines/gl_pw_c164430.htm),
    §8 rule 11.
    """
    text = f"The referral to {lv(target)} was {status} on {ctx.day(when)}; find another placement."
    ctx.new_task("C-REFERRAL-FAILED", CareTask.REFERRAL_FAILED, trigger, when, Priority.URGENT,
                 text, focus)  # fmt: skip
