"""The working context of one ``decide``/``advance`` call: a private copy of the state,
the outputs in emission order, and the primitives every rule uses to emit.

The copy is shallow; the two dicts of the state are copied on their first change, so the
caller's state is never mutated (``decide`` is pure) and unchanged containers are shared.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pipeline.config import RuleConfig
from pipeline.describe import lv
from pipeline.ids import output_id
from pipeline.levels import Level
from pipeline.outputs import Output, ReferralRecord, TaskRecord
from pipeline.state import PatientState, short_id


class Ctx:
    __slots__ = ("_own_closed", "_own_tasks", "cfg", "out", "s")

    def __init__(self, state: PatientState, cfg: RuleConfig) -> None:
        self.s = state.copy()
        self.cfg = cfg
        self.out: list[Output] = []
        self._own_tasks = False
        self._own_closed = False

    # -- containers -----------------------------------------------------------------------
    def _store(self, task: TaskRecord) -> None:
        """Keep an open Task by id; move a terminal one to ``closed`` (frees its slot)."""
        s = self.s
        if not self._own_tasks:
            s.tasks = dict(s.tasks)
            self._own_tasks = True
        if task.open:
            s.tasks[task.id] = task
            return
        s.tasks.pop(task.id, None)
        if not self._own_closed:
            s.closed = dict(s.closed)
            self._own_closed = True
        s.closed[short_id(task.id)] = task.status

    def mark_closed(self, task_id: str, status: str) -> None:
        """Record a new status for a Task that is already terminal (entered-in-error)."""
        if not self._own_closed:
            self.s.closed = dict(self.s.closed)
            self._own_closed = True
        self.s.closed[short_id(task_id)] = status

    # -- time -----------------------------------------------------------------------------
    def due_for(self, priority: str, when: datetime) -> datetime:
        """Default due by priority (rules.md §4): stat +4 h, asap/urgent +1 d, routine +7 d."""
        d = self.cfg.dues
        if priority == "stat":
            return when + timedelta(hours=d.stat_hours)
        if priority == "asap":
            return when + timedelta(days=d.asap_days)
        if priority == "urgent":
            return when + timedelta(days=d.urgent_days)
        return when + timedelta(days=d.routine_days)

    # -- Tasks ----------------------------------------------------------------------------
    def new_task(
        self,
        rule: str,
        code: str,
        trigger: str,
        when: datetime,
        priority: str,
        description: str,
        focus: str | None,
        due: datetime | None = None,
    ) -> TaskRecord | None:
        """Open a case-management Task unless one with this code is open or the patient
        is deceased (rules.md §4: at most one non-terminal Task per (patient, code))."""
        s = self.s
        if s.deceased or s.open_task(code) is not None:
            return None
        task = TaskRecord(
            output_id(rule, s.patient, trigger, "Task"), s.patient, rule, code, "requested",
            priority, when, due if due is not None else self.due_for(priority, when),
            description, focus,
        )  # fmt: skip
        self._store(task)
        self.out.append(task)
        return task

    def set_status(self, task: TaskRecord, status: str, when: datetime, reason: str) -> TaskRecord:
        """Publish the whole Task again with a new status (contract §5)."""
        new = replace(task, status=status, last_modified=when, status_reason=reason)
        self._store(new)
        self.out.append(new)
        return new

    # -- referrals ------------------------------------------------------------------------
    def finish_referral(self, status: str, when: datetime, reason: str) -> None:
        """End the pending ServiceRequest (``completed`` or ``revoked``) and clear it."""
        p = self.s.pending
        if p is None:
            return
        self.s.pending = None
        self.out.append(replace(p, status=status, last_modified=when, status_reason=reason))

    def close_pending(self, completed: bool, when: datetime, reason: str) -> None:
        """Complete, or cancel and revoke, the pending referral (its Task, then its SR)."""
        p = self.s.pending
        if p is None:
            return
        task = self.s.tasks.get(p.task_id)
        if task is not None:
            self.set_status(task, "completed" if completed else "cancelled", when, reason)
        self.finish_referral("completed" if completed else "revoked", when, reason)

    def refer(
        self,
        rule: str,
        trigger: str,
        when: datetime,
        target: Level,
        direction: str,
        priority: str,
        description: str,
        reasons: tuple[str, ...],
    ) -> bool:
        """Emit a ServiceRequest and its referral Task (rules.md §3), superseding the
        pending referral (L-SUPERSEDED); never to the effective level or the pending
        target. Returns whether a referral was made."""
        s = self.s
        if s.deceased or target == s.effective_level():
            return False
        if s.pending is not None:
            if s.pending.level == target:
                return False
            self.close_pending(False, when, f"superseded by the {rule} referral to {lv(target)}")
        sr_id = output_id(rule, s.patient, trigger, "ServiceRequest")
        task_id = output_id(rule, s.patient, trigger, "Task")
        s.pending = ReferralRecord(
            sr_id, s.patient, rule, target, direction, "active", priority, when, reasons, task_id
        )
        task = TaskRecord(
            task_id, s.patient, rule, "fulfill", "requested", priority, when,
            self.due_for(priority, when), description, f"ServiceRequest/{sr_id}", target=target,
        )  # fmt: skip
        self._store(task)
        self.out += (s.pending, task)
        return True
