"""Level changes (rules.md §3) and the lifecycle rules they drive (§6): L-READMITTED,
L-ENROLLED, program exit, plus C-RECERT on enrollment at IOP or PHP.

Level changes emit nothing of their own; what they emit is the pending referral closing
and the Tasks they open or cancel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.clock import next_monday, plus_days
from pipeline.codes import LEVEL_BOUND, STEP_UP, CareTask, Priority, Status
from pipeline.describe import lv
from pipeline.levels import Level
from pipeline.rules.context import Ctx

#: Levels with weekly hours and a 14-day inactivity watch (C-LOW-HOURS, C-INACTIVE).
PROGRAM_LEVELS = (Level.IOP, Level.PHP)
#: Follow-up Tasks an admission cancels (FUH counts the last discharge only).
FOLLOWUPS = (CareTask.FOLLOWUP_7D, CareTask.FOLLOWUP_ED_7D, CareTask.FOLLOWUP_MISSED)


def set_level(ctx: Ctx, level: Level | None, when: datetime) -> None:
    """Move to ``level`` from ``when``; re-arm the inactivity deadline and the week check
    (the end of the local week of ``when``)."""
    s = ctx.s
    s.level = level
    s.level_since = when
    s.week_due = next_monday(when, ctx.tz) if level in PROGRAM_LEVELS else None
    arm_inactive(ctx)


def arm_inactive(ctx: Ctx) -> None:
    """Arm C-INACTIVE (IOP/PHP, ``attendance.inactive_days``) or C-OP-INACTIVE (OP,
    ``op_inactive_days``): that many local days after the later of ``level_since``, the
    last attended session and the end of a medical stay; disarmed during a medical stay."""
    s, a = ctx.s, ctx.cfg.attendance
    if s.level is None or s.level is Level.INPATIENT or s.level_since is None:
        s.inactive_due = None
        return
    if s.medical is not None and s.medical[1] is None:
        s.inactive_due = None
        return
    anchor = s.level_since
    for t in (s.last_attended, s.medical[1] if s.medical is not None else None):
        if t is not None and t > anchor:
            anchor = t
    days = a.op_inactive_days if s.level is Level.OP else a.inactive_days
    s.inactive_due = plus_days(anchor, days, ctx.tz)


def admit(ctx: Ctx, when: datetime) -> None:
    """L-READMITTED: an in-scope admission completes a pending referral to inpatient and
    cancels any other (reason: readmitted on DATE); open ``follow-up-7d``,
    ``follow-up-ed-7d`` and ``follow-up-missed`` are cancelled (FUH counts the last
    discharge only), and the follow-up path ends.

    Rationale: a readmission fulfils or overtakes any plan made for after the previous
    stay; the follow-up clock restarts at the next discharge. Source:
    reference/clinical-rules.md §7 (HEDIS FUH: "if readmitted ... within 30 days, only the
    last discharge counts"); rules.md §3, §6. An admission while inpatient keeps
    ``level_since``.
    """
    s = ctx.s
    if s.pending is not None:
        to_inpatient = s.pending.level is Level.INPATIENT
        word = "admitted" if to_inpatient else "readmitted"
        ctx.close_pending(to_inpatient, when, f"{word} on {ctx.day(when)}")
    for code in FOLLOWUPS:
        ctx.close_code(code, Status.CANCELLED, when, f"readmitted on {ctx.day(when)}")
    s.followup_from = None
    s.lost_due = None
    if s.level is not Level.INPATIENT:
        set_level(ctx, Level.INPATIENT, when)
        s.stay_start = when


def close_level_tasks(ctx: Ctx, when: datetime, reason: str) -> None:
    """Cancel the Tasks bound to the level held (recertification, intensity-review,
    discharge-review); safety and contraindication Tasks stay open (rules.md §3)."""
    for task in list(ctx.s.tasks.values()):
        if task.code in LEVEL_BOUND:
            ctx.set_status(task, Status.CANCELLED, when, reason)


def enroll(ctx: Ctx, level: Level, when: datetime, trigger: str, focus: str | None) -> None:
    """L-ENROLLED: enrollment at ``level`` (explicit, by attendance, or by a completed
    referral Task). The pending referral: target = L → completed; a step-up with a target
    above L → stays open (a bridge placement never cancels a step-up); otherwise →
    cancelled (enrolled at L). The previous level's level-bound Tasks are cancelled, and
    C-RECERT fires at IOP/PHP.

    Rationale: the patient has been placed, so the referral is done (or moot when the
    placement is elsewhere) — but a stat inpatient referral must not be closed by an OP
    visit while it waits (v1 did). Choice: enrollment at the level already held changes
    nothing but completes a pending referral to it. Source: rules.md §3, §6 (L-ENROLLED).
    """
    s = ctx.s
    reason = f"enrolled at {lv(level)} on {ctx.day(when)}"
    p = s.pending
    if p is not None:
        if p.level == level:
            ctx.close_pending(True, when, reason)
        elif not (p.direction == STEP_UP and p.level > level):
            ctx.close_pending(False, when, reason)
    if s.level == level:
        return
    close_level_tasks(ctx, when, f"level changed to {lv(level)} on {ctx.day(when)}")
    set_level(ctx, level, when)
    recert(ctx, level, when, when, trigger, focus)


def recert(
    ctx: Ctx,
    level: Level,
    since: datetime,
    after: datetime,
    trigger: str,
    focus: str | None,
    when: datetime | None = None,
) -> None:
    """C-RECERT: at IOP or PHP, a routine ``recertification`` Task due at the first
    schedule point after ``after``: ``since`` + k × 60 days (IOP), or + 18 days then every
    30 days (PHP). Authored at ``when``, the triggering event's time (contract §5), else
    at ``after``.

    Rationale: Medicare requires physician recertification of IOP need "no less often than
    every other month" and of PHP as of the 18th day, then at least every 30 days.
    Source: reference/clinical-rules.md §3a (CY 2024 OPPS, Hancock Daniel:
    https://hancockdaniel.com/2023/11/behavioral-health-newsletter-2), §3b (42 CFR 424.24(e)),
    §8 rules 14–15.
    """
    r = ctx.cfg.recert
    if not r.enabled or level not in PROGRAM_LEVELS:
        return
    due = next_recert(ctx, level, since, after)
    text = (
        f"Enrolled at {lv(level)} since {ctx.day(since)}; recertify the need for "
        f"{lv(level)} by {ctx.day(due)}."
    )
    authored = when or after
    ctx.new_task("C-RECERT", CareTask.RECERT, trigger, authored, Priority.ROUTINE, text, focus,
                 due)  # fmt: skip


def next_recert(ctx: Ctx, level: Level, since: datetime, after: datetime) -> datetime:
    """The first recertification point strictly after ``after`` (local days)."""
    r = ctx.cfg.recert
    first, every = (
        (r.iop_days, r.iop_days) if level is Level.IOP else (r.php_days, r.php_every_days)
    )
    every = max(every, 1)
    elapsed = (after - since) // timedelta(days=1)
    k = 0 if elapsed < first else (elapsed - first) // every
    due = plus_days(since, first + k * every, ctx.tz)
    while due <= after:
        k += 1
        due = plus_days(since, first + k * every, ctx.tz)
    return due


def exit_program(ctx: Ctx, level: Level, when: datetime) -> bool:
    """``program-exit`` at the current level: level = none and the level-bound Tasks are
    cancelled (reason: program ended on DATE). An exit from a level the patient does not
    hold changes nothing (returns False)."""
    if ctx.s.level != level:
        return False
    close_level_tasks(ctx, when, f"program ended on {ctx.day(when)}")
    set_level(ctx, None, when)
    return True
