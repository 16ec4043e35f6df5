"""Task updates from case managers (rules.md §5): the Task state machine, referral
outcomes (L-ENROLLED by a completed referral, C-REFERRAL-FAILED), freeing slots.

The output of a legal update is the Task itself re-published with the new status, time and
reason, so ``care.tasks`` always holds the latest version of every Task the pipeline owns.
"""

from __future__ import annotations

from pipeline import describe
from pipeline.events import TaskUpdated
from pipeline.outputs import TERMINAL, Rejected, TaskRecord
from pipeline.rules.context import Ctx
from pipeline.rules.placement import enroll
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
    moves = REFERRAL_MOVES if task_code == "fulfill" else CASE_MOVES
    return new in moves.get(old, frozenset())


def _rejected(ev: TaskUpdated, old: str) -> Rejected:
    return Rejected(
        ev.event_id,
        f"Task.status: {old} → {ev.status} is not an allowed transition (Task/{ev.task_id})",
        "Task.status",
    )


def on_task_update(ctx: Ctx, ev: TaskUpdated) -> Rejected | str:
    """Apply a case manager's status change; ``IGNORED`` for a Task id never emitted.

    Choices: re-sending the current status is a no-op (nothing emitted). A Task that is
    already terminal keeps only its id and status in the state, so a legal move of a
    terminal Task (to entered-in-error) is recorded but not re-published.
    """
    task = ctx.s.tasks.get(ev.task_id)
    if task is None:
        return _closed_update(ctx, ev)
    if ev.status == task.status:
        return APPLIED
    if not allowed(task.code, task.status, ev.status):
        return _rejected(ev, task.status)
    reason = ev.reason or f"{ev.status} by a case manager"
    new = ctx.set_status(task, ev.status, ev.time, reason)
    if new.code == "fulfill" and new.status in TERMINAL:
        referral_outcome(ctx, new, ev)
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


def referral_outcome(ctx: Ctx, task: TaskRecord, ev: TaskUpdated) -> None:
    """A referral Task reached a terminal status: ``completed`` is enrollment at its target
    from the update's time (ServiceRequest completed, C-RECERT); ``rejected``/``failed``
    revokes the ServiceRequest and opens C-REFERRAL-FAILED; ``cancelled`` or
    ``entered-in-error`` revokes the ServiceRequest. Either way the pending referral clears.
    """
    s = ctx.s
    if s.pending is None or s.pending.task_id != task.id or task.target is None:
        return
    if task.status == "completed":
        if s.level == task.target:
            ctx.finish_referral("completed", ev.time, f"enrolled at {describe.lv(task.target)}")
        else:
            enroll(ctx, task.target, ev.time, ev.event_id, ev.ref)
        return
    ctx.finish_referral("revoked", ev.time, f"referral Task {task.status}")
    if task.status in ("rejected", "failed"):
        referral_failed(ctx, task, ev)


def referral_failed(ctx: Ctx, task: TaskRecord, ev: TaskUpdated) -> None:
    """C-REFERRAL-FAILED: a referral Task updated to ``rejected`` or ``failed`` → an urgent
    ``referral-failed`` Task due in one day to find another placement.

    Rationale: when the indicated level is not available, place at the next available
    level and record the variance. Source: reference/clinical-rules.md §3d (Anthem
    CG-BEH-04, http://www.anthem.com/ca/medicalpolicies/guidelines/gl_pw_c164430.htm),
    §8 rule 11.
    """
    assert task.target is not None
    text = describe.referral_failed(task.target, task.status, ev.time)
    focus = ev.ref or f"Task/{task.id}"
    ctx.new_task("C-REFERRAL-FAILED", "referral-failed", ev.event_id, ev.time, "urgent", text,
                 focus)  # fmt: skip
