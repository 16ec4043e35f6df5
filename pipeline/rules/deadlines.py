"""Deadline rules (contract §8, rules.md §5, §8): C-FOLLOWUP-MISSED, C-FOLLOWUP-LOST,
C-REFERRAL-EXPIRED, L-OVERDUE, C-REFERRAL-STALLED, C-INACTIVE, C-OP-INACTIVE and the
week checks C-LOW-HOURS / C-HIGH-HOURS.

``run_clock`` moves the patient's clock forward and fires every deadline the clock
reaches, in due-time order; at one instant the deadlines that close a Task come first,
then L-OVERDUE, then those that open a Task, ties in rule-table order (§8). Each re-checks
its precondition when it fires and is authored at its due time. A clock jump fires each
recurring week check once, for the latest week it covers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from pipeline.clock import days, hours, week_key, week_start
from pipeline.codes import SAFETY_CODES, Business, CareTask, Priority, Status
from pipeline.describe import lv
from pipeline.levels import Level
from pipeline.outputs import TaskRecord
from pipeline.rules.context import Ctx
from pipeline.rules.placement import PROGRAM_LEVELS
from pipeline.rules.tasks import failed
from pipeline.state import PatientState

# kinds, in their (class, rule-table) order: the closers, L-OVERDUE, then the openers in
# the order of the rules.md §5 table (week checks, C-INACTIVE / C-OP-INACTIVE, C-REFERRAL-STALLED)
MISSED, LOST, EXPIRED, OVERDUE, WEEK, INACTIVE, STALLED = range(7)
_FOLLOWUPS = (CareTask.FOLLOWUP_7D, CareTask.FOLLOWUP_ED_7D)
_NO_OVERDUE = (CareTask.FULFILL, *_FOLLOWUPS)


class Due(NamedTuple):
    due: datetime
    kind: int
    task: TaskRecord | None = None


def referral_times(ctx: Ctx) -> tuple[datetime, datetime] | None:
    """(stall, expiry) times of the pending referral, from its authored time and its
    priority at authoring (``referral.accept_hours_*``, ``expire_days`` local days)."""
    p = ctx.s.pending
    if p is None:
        return None
    stall = _stall_hours(ctx, p.priority)
    return p.authored + hours(stall), ctx.plus_days(p.authored, ctx.cfg.referral.expire_days)


def candidates(ctx: Ctx) -> list[Due]:
    """Every armed deadline of the state."""
    s = ctx.s
    out: list[Due] = []
    for task in s.tasks.values():
        if task.code in (CareTask.FOLLOWUP_7D, CareTask.FOLLOWUP_ED_7D):
            out.append(Due(task.due, MISSED, task))
        elif task.code not in _NO_OVERDUE and not task.overdue:
            out.append(Due(task.due, OVERDUE, task))
    if s.lost_due is not None:
        out.append(Due(s.lost_due, LOST))
    times = referral_times(ctx)
    if times is not None and s.pending is not None:
        ref_task = s.tasks.get(s.pending.task_id)
        status = ref_task.status if ref_task is not None else None
        if status in (Status.REQUESTED, Status.ACCEPTED):
            out.append(Due(times[1], EXPIRED, ref_task))
        if status == Status.REQUESTED and not s.stalled:
            out.append(Due(times[0], STALLED, ref_task))
    if s.inactive_due is not None:
        out.append(Due(s.inactive_due, INACTIVE))
    if s.week_due is not None:
        out.append(Due(_week_due(ctx, s.week_due), WEEK))
    return out


def _week_due(ctx: Ctx, week_due: datetime) -> datetime:
    """When the week check fires: ``week_due``, or, when the clock has jumped past it, the
    latest Monday the jump covers — the check fires once, for that week (§8), and so in
    due-time order with the other deadlines of the jump."""
    clock = ctx.s.clock
    if week_due > clock:
        return week_due
    return week_start(week_key(clock, ctx.tz), ctx.tz)


def next_deadline(ctx: Ctx) -> datetime | None:
    """The earliest armed deadline (for the live tick index)."""
    if ctx.s.deceased:
        return None
    due = [d.due for d in candidates(ctx)]
    return min(due) if due else None


def _any_reached(s: PatientState, clock: datetime, ctx: Ctx) -> bool:
    """A cheap test that no deadline can be due (the common case of an event): exact for
    every deadline but expiry, which is tested a day early (a DST day is 23–25 hours)."""
    for v in (s.week_due, s.inactive_due, s.lost_due):
        if v is not None and v <= clock:
            return True
    for task in s.tasks.values():
        if task.due <= clock and (
            task.code in _FOLLOWUPS or not (task.overdue or task.code == CareTask.FULFILL)
        ):
            return True
    p = s.pending
    if p is None:
        return False
    r = ctx.cfg.referral
    if p.authored + days(r.expire_days - 1) <= clock:
        return True
    return not s.stalled and p.authored + hours(_stall_hours(ctx, p.priority)) <= clock


def _stall_hours(ctx: Ctx, priority: str) -> int:
    r = ctx.cfg.referral
    if priority == Priority.STAT:
        return r.accept_hours_stat
    if priority == Priority.ASAP:
        return r.accept_hours_asap
    if priority == Priority.URGENT:
        return r.accept_hours_urgent
    return r.accept_hours_routine


def run_clock(ctx: Ctx, now: datetime) -> None:
    """Clock := max(clock, now); then fire the deadlines with due ≤ clock, in order."""
    s = ctx.s
    if now > s.clock:
        s.clock = now
    # ``_any_reached`` never misses a reached deadline: it is asked again before each
    # (costlier) look at the candidates, also after a firing
    while not s.deceased and _any_reached(s, s.clock, ctx):
        reached = [d for d in candidates(ctx) if d.due <= s.clock]
        if not reached:
            return
        fire(ctx, min(reached, key=lambda d: (d.due, d.kind)))


def fire(ctx: Ctx, d: Due) -> None:
    if d.kind == MISSED:
        assert d.task is not None
        followup_missed(ctx, d.task)
    elif d.kind == LOST:
        lost(ctx, d.due)
    elif d.kind == EXPIRED:
        assert d.task is not None
        expired(ctx, d.task, d.due)
    elif d.kind == OVERDUE:
        assert d.task is not None
        overdue(ctx, d.task, d.due)
    elif d.kind == STALLED:
        stalled(ctx, d.due)
    elif d.kind == INACTIVE:
        inactive(ctx, d.due)
    else:
        week_check(ctx)


def followup_missed(ctx: Ctx, task: TaskRecord) -> None:
    """C-FOLLOWUP-MISSED: when the clock reaches the end of the 7th local day after the
    discharge (ED visit) date with ``follow-up-7d`` (``follow-up-ed-7d``) still open, that
    Task → ``failed`` and an urgent ``follow-up-missed`` Task opens, due one day later.

    Rationale: the 7-day window is closed; the patient still needs a visit (HEDIS keeps a
    30-day rate), so the case manager is told at once. Source: reference/clinical-rules.md
    §7 (HEDIS FUH/FUM), §8 rule 22.
    """
    days = ctx.cfg.followup.window_days
    due = task.due
    ctx.set_status(task, Status.FAILED, due, f"no follow-up visit by the end of day {days}")
    start = ctx.s.followup_from or task.authored
    what = "emergency department visit" if task.code == CareTask.FOLLOWUP_ED_7D else "discharge"
    text = (
        f"No follow-up visit was attended by the end of {ctx.day(due - timedelta(hours=12))}, "
        f"{days} days after the {what} on {ctx.day(start)}; reach the patient."
    )
    ctx.new_task("C-FOLLOWUP-MISSED", CareTask.FOLLOWUP_MISSED, f"deadline:missed:{task.id}", due,
                 Priority.URGENT, text, f"Task/{task.id}")  # fmt: skip


def lost(ctx: Ctx, due: datetime) -> None:
    """C-FOLLOWUP-LOST: the end of the 30th local day after the discharge (ED visit) date
    passes with ``follow-up-missed`` open → it is ``failed`` and an urgent
    ``lost-to-follow-up`` Task opens.

    Rationale: HEDIS FUH/FUM close their 30-day window here; a patient unseen a month after
    a psychiatric discharge is lost to follow-up and needs active outreach. Source:
    reference/clinical-rules.md §7, §8 rule 22; rules.md §5.
    """
    s = ctx.s
    s.lost_due = None
    missed = s.open_task(CareTask.FOLLOWUP_MISSED)
    if missed is None:
        return
    days = ctx.cfg.followup.lost_days
    ctx.set_status(missed, Status.FAILED, due, f"no follow-up visit by the end of day {days}")
    start = s.followup_from or missed.authored
    text = (
        f"Not seen in the {days} days after the {_what(s)} on {ctx.day(start)}; the patient "
        f"is lost to follow-up: reach the patient and re-establish care."
    )
    ctx.new_task("C-FOLLOWUP-LOST", CareTask.LOST, f"deadline:lost:{missed.id}", due,
                 Priority.URGENT, text, f"Task/{missed.id}")  # fmt: skip


def _what(s: PatientState) -> str:
    return "emergency department visit" if s.followup_ed else "discharge"


def expired(ctx: Ctx, task: TaskRecord, due: datetime) -> None:
    """C-REFERRAL-EXPIRED: a referral whose Task is still ``requested`` or ``accepted``
    ``referral.expire_days`` after it was authored → the Task ``failed`` (reason: not
    started within 30 days), its ServiceRequest ``revoked``; then C-REFERRAL-FAILED.

    Rationale: a referral nobody started within a month is not going to happen; saying so
    sends the case manager to find another placement instead of leaving a patient waiting
    on a dead referral. Source: rules.md §5, §7.
    """
    p = ctx.s.pending
    assert p is not None
    days = ctx.cfg.referral.expire_days
    reason = f"not started within {days} days"
    ctx.close_pending(False, due, reason, task_status=Status.FAILED)
    failed(ctx, p, Status.FAILED, due, f"deadline:expired:{p.id}", f"Task/{task.id}")


def overdue(ctx: Ctx, task: TaskRecord, due: datetime) -> None:
    """L-OVERDUE: a non-terminal case-management Task whose due time is reached is
    published once more with ``businessStatus`` overdue; its priority never changes
    (lateness is not urgency); a safety-code Task also gets ``owner`` =
    ``routing.escalation`` when configured. Referral Tasks and the 7-day follow-ups are
    exempt.

    Rationale: a late Task must surface again, but a late routine Task must not outrank a
    new urgent one; a late safety Task goes to whoever is on call. Source: rules.md §5, §7."""
    changes: dict[str, object] = {"business_status": Business.OVERDUE, "overdue": True}
    escalation = ctx.cfg.routing.escalation
    if escalation and task.code in SAFETY_CODES:
        changes["owner"] = escalation
    ctx.republish(task, due, **changes)


def stalled(ctx: Ctx, due: datetime) -> None:
    """C-REFERRAL-STALLED: a referral Task still ``requested`` ``referral.accept_hours``
    after it was authored (by its priority at authoring: stat 24, urgent 72, routine 168)
    → an urgent ``referral-stalled`` Task (its focus the ServiceRequest; it closes with
    the referral, L-STALL-CLOSED).

    Rationale: an unaccepted referral is the commonest way a patient is lost between
    levels; the receiving program is chased before the patient falls through. Source:
    rules.md §5, §7.
    """
    s = ctx.s
    p = s.pending
    assert p is not None
    s.stalled = True
    hours = int((due - p.authored).total_seconds() // 3600)
    text = (
        f"The {p.priority} referral to {lv(p.level)} of {ctx.day(p.authored)} is not accepted "
        f"after {hours} hours; chase the receiving program."
    )
    ctx.new_task("C-REFERRAL-STALLED", CareTask.STALLED, f"deadline:stalled:{p.id}", due,
                 Priority.URGENT, text, f"ServiceRequest/{p.id}")  # fmt: skip


def inactive(ctx: Ctx, due: datetime) -> None:
    """C-INACTIVE (IOP/PHP, 14 days, urgent) and C-OP-INACTIVE (OP, 90 days, routine +7
    days): no attended session since the later of ``level_since`` and the last attended
    session → a ``discharge-review`` Task. Fires once per inactive period; the next
    session re-arms it.

    Rationale: programs treat prolonged absence as drop-out, to be reviewed before an
    administrative discharge; an OP patient unseen for 90 days is inactive by ODMHSAS
    rules. Source: reference/clinical-rules.md §5 (Rockville APP, ODMHSAS inactivity,
    TEDS), §8 rules 18, 20.
    """
    s, a = ctx.s, ctx.cfg.attendance
    s.inactive_due = None
    level = s.level
    if level is None or level is Level.INPATIENT:
        return
    op = level is Level.OP
    days = a.op_inactive_days if op else a.inactive_days
    rule, priority = ("C-OP-INACTIVE", Priority.ROUTINE) if op else ("C-INACTIVE", Priority.URGENT)
    since = ctx.plus_days(due, -days)
    text = (
        f"No attended session at {lv(level)} for {days} days since {ctx.day(since)}; review "
        f"for discharge."
    )
    ctx.new_task(rule, CareTask.DISCHARGE_REVIEW, f"deadline:inactive:{due.isoformat()}", due,
                 priority, text, None)  # fmt: skip


def week_check(ctx: Ctx) -> None:
    """C-LOW-HOURS and C-HIGH-HOURS, checked when a local week ends (Monday 00:00 local);
    a clock jump checks only the latest week it covers (§8).

    C-LOW-HOURS: level IOP (PHP) held for two whole consecutive weeks, each below intensity:
    attended minutes < 540 (PHP < 1200) or attended days < 3 (PHP < 4). C-HIGH-HOURS: IOP
    held two whole weeks, each with attended minutes > 1140. Either → a routine
    ``intensity-review`` Task due in 7 days. A week that overlaps a medical stay is not a
    whole week.

    Rationale: CMS IOP is 9–19 h/week over at least 3 days and PHP ≥ 20 h/week over at
    least 4 days; one 10-hour day a week is not IOP, and IOP above 19 h is PHP intensity.
    One or two short weeks may be a taper; a repeated pattern triggers utilization review,
    not an automatic change. Source: reference/clinical-rules.md §3a, §3b (42 CFR
    410.43(c)(1)), §1a (Aetna ASAM), §8 rules 9–10.
    """
    s, a, tz = ctx.s, ctx.cfg.attendance, ctx.tz
    monday_key = week_key(s.clock, tz)
    monday = week_start(monday_key, tz)
    level, since = s.level, s.level_since
    s.week_due = week_start(monday_key + 7, tz) if level in PROGRAM_LEVELS else None
    n = a.low_hours_weeks
    first_key = monday_key - 7 * n
    first = week_start(first_key, tz)
    if level not in PROGRAM_LEVELS or level is None or since is None or since > first:
        return
    m = s.medical
    if m is not None and (m[1] is None or m[1] > first) and m[0] < monday:
        return  # a week that overlaps a medical stay is not a whole week
    weeks = [(first_key + 7 * k, *s.week(first_key + 7 * k)) for k in range(n)]
    iop = level is Level.IOP
    low_min = a.iop_weekly_minutes if iop else a.php_weekly_minutes
    low_days = a.iop_weekly_days if iop else a.php_weekly_days
    if all(m < low_min or d < low_days for _, m, d in weeks):
        rule, bound = "C-LOW-HOURS", f"each under {low_min} minutes or {low_days} days"
    elif iop and all(m > a.iop_max_weekly_minutes for _, m, _ in weeks):
        rule, bound = "C-HIGH-HOURS", f"each over {a.iop_max_weekly_minutes} minutes"
    else:
        return
    when = ", ".join(f"{m} minutes on {d} days" for _, m, d in weeks)
    mondays = " and ".join(ctx.day(week_start(k, tz)) for k, _, _ in weeks)
    text = (
        f"At {lv(level)} attended {when} in the weeks of {mondays}, {bound}; review the "
        f"intensity of care."
    )
    ctx.new_task(rule, CareTask.INTENSITY, f"deadline:week-end:{ctx.day(monday)}", monday,
                 Priority.ROUTINE, text, None)  # fmt: skip
