"""Deadline rules (contract §8): C-FOLLOWUP-MISSED, C-LOW-HOURS, C-INACTIVE.

``run_clock`` moves the patient's clock forward and fires every deadline the clock reaches,
in due-time order; each firing is authored at its due time and disarms its deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline import describe
from pipeline.clock import (
    DAY,
    FOLLOWUP,
    FOLLOWUP_CODE,
    INACTIVE,
    PROGRAM_LEVELS,
    WEEK,
    earliest_due,
    week_key,
)
from pipeline.levels import Level
from pipeline.rules.context import Ctx


def run_clock(ctx: Ctx, now: datetime) -> None:
    """Clock := max(clock, now); then fire the deadlines with due ≤ clock."""
    s = ctx.s
    if now > s.clock:
        s.clock = now
    while (hit := earliest_due(s, s.clock)) is not None:
        due, kind = hit
        if kind == FOLLOWUP:
            followup_missed(ctx, due)
        elif kind == INACTIVE:
            inactive(ctx, due)
        else:
            low_hours(ctx, due)


def followup_missed(ctx: Ctx, due: datetime) -> None:
    """C-FOLLOWUP-MISSED: when the clock reaches the end of day 7 after the discharge date
    with ``follow-up-7d`` still open, that Task → ``failed`` and an urgent
    ``follow-up-missed`` Task opens, due one day later.

    Rationale: the 7-day follow-up window is closed; the patient still needs a visit
    (HEDIS keeps a 30-day fallback), so the case manager is told at once.

    Source: reference/clinical-rules.md §7 (HEDIS FUH 7-day window,
    https://support.clinigence.com/support/solutions/articles/3000067750-follow-up-after-hospitalization-for-mental-illness-fuh-),
    §8 rule 22 (fallback follow-up by day 30).
    """
    task = ctx.s.open_task(FOLLOWUP_CODE)
    assert task is not None
    days = ctx.cfg.followup.window_days
    ctx.set_status(
        task, "failed", due, f"no follow-up visit by the end of day {days} after discharge"
    )
    text = describe.followup_missed(task.authored, due - DAY, days)
    trigger = f"deadline:{FOLLOWUP}:{task.id}"
    ctx.new_task("C-FOLLOWUP-MISSED", "follow-up-missed", trigger, due, "urgent", text,
                 f"Task/{task.id}")  # fmt: skip


def inactive(ctx: Ctx, due: datetime) -> None:
    """C-INACTIVE: at IOP or PHP, no attended session for 14 days since the later of
    ``level_since`` and the last attended session → an urgent ``discharge-review`` Task
    due in one day. Fires once per such period; the next attended session re-arms it.

    Rationale: programs treat prolonged absence without contact as drop-out, to be reviewed
    before an administrative discharge; 14 days is a program parameter. Source:
    reference/clinical-rules.md §5 (Rockville APP, Oklahoma ODMHSAS inactivity, TEDS),
    §8 rules 18, 20.
    """
    s = ctx.s
    s.inactive_due = None
    level = s.level
    if level not in PROGRAM_LEVELS or level is None:
        return
    days = ctx.cfg.attendance.inactive_days
    text = describe.inactive(due - timedelta(days=days), days, level)
    trigger = f"deadline:{INACTIVE}:{due.isoformat()}"
    ctx.new_task("C-INACTIVE", "discharge-review", trigger, due, "urgent", text, None)


def low_hours(ctx: Ctx, monday: datetime) -> None:
    """C-LOW-HOURS, checked when an ISO week ends (Monday 00:00 UTC): the level IOP (PHP)
    held for the last two whole weeks (held since the first one's Monday 00:00) and each
    week's attended minutes < 540 (PHP: < 1200) → a routine ``level-of-care-review`` Task
    due in 7 days.

    Rationale: CMS IOP is 9–19 h/week and PHP ≥ 20 h/week; one or two short weeks may be a
    taper, a repeated pattern triggers utilization review, not an automatic discharge.
    Source: reference/clinical-rules.md §3a, §3b (42 CFR 410.43(c)(1); CMS flags PHP claims
    under 20 h/week, https://revenuecycleadvisor.com/news-analysis/qa-how-do-we-meet-partial-hospitalization-program-requirements),
    §1a (Aetna ASAM: 1–2 short weeks), §8 rules 9–10.
    """
    s, a = ctx.s, ctx.cfg.attendance
    level, since = s.level, s.level_since
    s.week_due = monday + WEEK if level in PROGRAM_LEVELS else None
    n = a.low_hours_weeks
    first = monday - n * WEEK
    if level not in PROGRAM_LEVELS or level is None or since is None or since > first:
        return
    minimum = a.iop_weekly_minutes if level is Level.IOP else a.php_weekly_minutes
    weeks = [(first + k * WEEK, s.minutes_in(week_key(first + k * WEEK))) for k in range(n)]
    if all(m < minimum for _, m in weeks):
        text = describe.low_hours(weeks, minimum, level)
        trigger = f"deadline:week-end:{describe.day(monday)}"
        ctx.new_task("C-LOW-HOURS", "level-of-care-review", trigger, monday, "routine", text, None)
