"""The working context of one ``decide``/``advance`` call: a private copy of the state,
the outputs in emission order, and the primitives every rule uses to emit.

The copy is shallow; the two dicts of the state are copied on their first change, so the
caller's state is never mutated (``decide`` is pure) and unchanged containers are shared.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from pipeline.clock import day_start, days_after, hours, local_date, plus_days, zone
from pipeline.codes import (
    PRIORITY_RANK,
    SAFETY_CODES,
    STEP_UP,
    Business,
    CareTask,
    Priority,
    Status,
)
from pipeline.config import RuleConfig
from pipeline.describe import lv
from pipeline.ids import output_id
from pipeline.levels import Level
from pipeline.outputs import Output, ReferralRecord, TaskRecord
from pipeline.state import Cooldown, PatientState, short_id

#: Marker between a merged safety Task's first description and its newest trigger.
NEW_TRIGGER = " New trigger: "


class Ctx:
    __slots__ = ("_own_closed", "_own_tasks", "cfg", "out", "s", "tz")

    def __init__(self, state: PatientState, cfg: RuleConfig) -> None:
        self.s = state.copy()
        self.cfg = cfg
        self.tz: tzinfo = zone(cfg.site.timezone)
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
        self.mark_closed(task.id, task.status)

    def mark_closed(self, task_id: str, status: str) -> None:
        """Record the terminal status of a Task (kept as its short id only)."""
        if not self._own_closed:
            self.s.closed = dict(self.s.closed)
            self._own_closed = True
        self.s.closed[short_id(task_id)] = status

    # -- time -----------------------------------------------------------------------------
    def day(self, t: datetime) -> str:
        """The local date of ``t`` (descriptions show local dates, rules.md §1)."""
        return local_date(t, self.tz).isoformat()

    def end_of_day(self, t: datetime, n: int = 0) -> datetime:
        """The end of the ``n``-th local day after the date of ``t`` (00:00 of day n+1)."""
        return days_after(t, n + 1, self.tz)

    def day_start(self, t: datetime) -> datetime:
        return day_start(t, self.tz)

    def plus_days(self, t: datetime, n: int) -> datetime:
        return plus_days(t, n, self.tz)

    def due_for(self, priority: str, when: datetime) -> datetime:
        """Default due by priority (rules.md §5): stat +4 h, asap/urgent +1 day, routine
        +7 days; days are local calendar days, hours absolute (§7)."""
        d = self.cfg.dues
        if priority == Priority.STAT:
            return when + hours(d.stat_hours)
        if priority == Priority.ASAP:
            return self.plus_days(when, d.asap_days)
        if priority == Priority.URGENT:
            return self.plus_days(when, d.urgent_days)
        return self.plus_days(when, d.routine_days)

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
        """Open a case-management Task (rules.md §5): at most one non-terminal Task per
        (patient, code); for a safety code a new trigger merges into the open one. Nothing
        for a deceased patient (C-DEATH-REVIEW opens its Task before the flag is set)."""
        s = self.s
        if s.deceased:
            return None
        due = due if due is not None else self.due_for(priority, when)
        open_task = s.open_task(code)
        if open_task is not None:
            if code in SAFETY_CODES:
                self.merge(open_task, rule, when, priority, description, focus, due)
            return None
        owner = self.cfg.routing.case_management or None
        task = TaskRecord(
            output_id(rule, s.patient, trigger, "Task"), s.patient, rule, code,
            Status.REQUESTED, priority, when, due, description, focus, owner=owner,
            display=s.display,
        )  # fmt: skip
        self._store(task)
        self.out.append(task)
        return task

    def merge(
        self,
        task: TaskRecord,
        rule: str,
        when: datetime,
        priority: str,
        description: str,
        focus: str | None,
        due: datetime,
    ) -> None:
        """A safety Task's new trigger (rules.md §5): the open Task is published again with
        the trigger named in its description and ``focus``, ``businessStatus`` new
        trigger, the higher priority and the earlier due; a new high-risk screen is never
        silently dropped. Choice: the description keeps the first sentence and the newest
        trigger (not every one), so it stays readable."""
        first = task.description.split(NEW_TRIGGER)[0]
        higher = priority if PRIORITY_RANK[priority] > PRIORITY_RANK[task.priority] else None
        new = replace(
            task,
            description=f"{first}{NEW_TRIGGER}{description}",
            focus=focus or task.focus,
            business_status=Business.NEW_TRIGGER,
            priority=higher or task.priority,
            due=min(due, task.due),
            last_modified=when,
            overdue=task.overdue and due >= task.due,
        )
        self._store(new)
        self.out.append(new)

    def set_status(self, task: TaskRecord, status: str, when: datetime, reason: str) -> TaskRecord:
        """Publish the whole Task again with a new status (contract §5)."""
        new = replace(task, status=status, last_modified=when, status_reason=reason)
        self._store(new)
        self.out.append(new)
        return new

    def republish(self, task: TaskRecord, when: datetime, **changes: object) -> TaskRecord:
        """Publish the Task again with other fields (businessStatus, owner, note)."""
        new = replace(task, last_modified=when, **changes)  # type: ignore[arg-type]
        self._store(new)
        self.out.append(new)
        return new

    def close_code(self, code: str, status: str, when: datetime, reason: str) -> None:
        """Set the open Task with this code (if any) to ``status``."""
        task = self.s.open_task(code)
        if task is not None:
            self.set_status(task, status, when, reason)

    # -- referrals ------------------------------------------------------------------------
    def close_pending(
        self, completed: bool, when: datetime, reason: str, *, task_status: str | None = None
    ) -> None:
        """Complete, or cancel and revoke, the pending referral (its Task, then its SR), and
        close an open ``referral-stalled`` Task for it (L-STALL-CLOSED, rules.md §7)."""
        p = self.s.pending
        if p is None:
            return
        task = self.s.tasks.get(p.task_id)
        if task is not None:
            status = task_status or (Status.COMPLETED if completed else Status.CANCELLED)
            self.set_status(task, status, when, reason)
        self.finish_referral(Status.COMPLETED if completed else Status.REVOKED, when, reason)

    def finish_referral(self, status: str, when: datetime, reason: str) -> None:
        """End the pending ServiceRequest (``completed`` or ``revoked``), clear it, and
        close its ``referral-stalled`` Task (L-STALL-CLOSED: ``completed`` with the
        referral, else ``cancelled``).

        Rationale: a chase for a referral that has ended is noise on the worklist.
        Source: rules.md §7."""
        p = self.s.pending
        if p is None:
            return
        self.s.pending = None
        self.s.stalled = False
        self.out.append(replace(p, status=status, last_modified=when, status_reason=reason))
        stall = self.s.open_task(CareTask.STALLED)
        if stall is not None and stall.focus == f"ServiceRequest/{p.id}":
            done = Status.COMPLETED if status == Status.COMPLETED else Status.CANCELLED
            self.set_status(stall, done, when, f"the referral to {lv(p.level)}: {reason}")

    def cooling(self, target: Level, when: datetime, phq9: int | None) -> bool:
        """Whether a step-up to ``target`` is in its cool-down (rules.md §4): a referral to
        it was rejected, failed or expired within ``referral.cooldown_days`` (local days),
        and the PHQ-9 has not risen by ``cooldown_phq9_rise`` since that referral."""
        r = self.cfg.referral
        for c in self.s.cooldowns:
            if c.level is not target or self.plus_days(c.time, r.cooldown_days) <= when:
                continue
            rose = phq9 is not None and c.phq9 is not None and phq9 - c.phq9 >= r.cooldown_phq9_rise
            if not rose:
                return True
        return False

    def cool(self, level: Level, when: datetime, phq9: int | None) -> None:
        keep = [c for c in self.s.cooldowns if c.level is not level]
        self.s.cooldowns = (*keep, Cooldown(level, when, phq9))

    def can_refer(self, target: Level, direction: str) -> bool:
        """rules.md §4: never to the effective level, nor the pending target, nor (a
        step-up) below a pending step-up's target."""
        s = self.s
        if s.deceased or target == s.effective_level():
            return False
        p = s.pending
        if p is None:
            return True
        if p.level == target:
            return False
        return not (direction == STEP_UP and p.direction == STEP_UP and target < p.level)

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
        """Emit a ServiceRequest and its referral Task (rules.md §4), superseding the
        pending referral (L-SUPERSEDED) and keeping the higher of the two priorities.
        Returns whether a referral was made.

        Rationale: a patient has one open transition at a time; the newer evidence decides,
        and a superseding referral must not look less urgent than the one it replaces.
        Source: rules.md §4, §6, §7."""
        s = self.s
        if not self.can_refer(target, direction):
            return False
        if s.pending is not None:
            old = s.pending
            if PRIORITY_RANK[old.priority] > PRIORITY_RANK[priority]:
                priority = old.priority
            self.close_pending(False, when, f"superseded by the {rule} referral to {lv(target)}")
        routing = self.cfg.routing
        performer = routing.programs.get(target.value) or None
        sr_id = output_id(rule, s.patient, trigger, "ServiceRequest")
        task_id = output_id(rule, s.patient, trigger, "Task")
        s.pending = ReferralRecord(
            sr_id, s.patient, rule, target, direction, Status.ACTIVE, priority, when, reasons,
            task_id, performer=performer, requester=routing.requester or None, display=s.display,
        )  # fmt: skip
        s.stalled = False
        task = TaskRecord(
            task_id, s.patient, rule, CareTask.FULFILL, Status.REQUESTED, priority, when,
            self.due_for(priority, when), description, f"ServiceRequest/{sr_id}", target=target,
            owner=performer, display=s.display,
        )  # fmt: skip
        self._store(task)
        self.out += (s.pending, task)
        return True
