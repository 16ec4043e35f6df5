"""Level changes (rules.md §2) and the lifecycle rules they drive (§5): L-READMITTED,
L-ENROLLED, plus C-RECERT, which fires on every enrollment at IOP or PHP.

Level changes emit nothing of their own; what they emit is the pending referral closing
and the Tasks they open or cancel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline import describe
from pipeline.clock import FOLLOWUP_CODE, PROGRAM_LEVELS, next_monday
from pipeline.levels import Level
from pipeline.rules.context import Ctx


def set_level(ctx: Ctx, level: Level | None, when: datetime) -> None:
    """Move to ``level`` from ``when``; re-arm the C-INACTIVE deadline and the C-LOW-HOURS
    week check (the end of the ISO week of ``when``)."""
    s = ctx.s
    s.level = level
    s.level_since = when
    s.week_due = next_monday(when) if level in PROGRAM_LEVELS else None
    arm_inactive(ctx)


def arm_inactive(ctx: Ctx) -> None:
    """Arm the C-INACTIVE deadline: ``inactive_days`` after the later of ``level_since``
    and the last attended session, while the level is IOP or PHP."""
    s = ctx.s
    if s.level not in PROGRAM_LEVELS or s.level_since is None:
        s.inactive_due = None
        return
    anchor = s.level_since
    if s.last_attended is not None and s.last_attended > anchor:
        anchor = s.last_attended
    s.inactive_due = anchor + timedelta(days=ctx.cfg.attendance.inactive_days)


def admit(ctx: Ctx, when: datetime) -> None:
    """L-READMITTED: an admission completes a pending referral to inpatient and cancels any
    other (reason: readmitted); an open ``follow-up-7d`` is cancelled, since only the last
    discharge of a stay counts for 7-day follow-up.

    Rationale: a readmission fulfils or overtakes any plan made for after the previous
    stay; the follow-up clock restarts at the next discharge.

    Source: reference/clinical-rules.md §7 (HEDIS FUH: "if readmitted ... within 30 days,
    only the last discharge counts", https://ncqa.org/hedis/exchange-faqs-all/?faq=000016142);
    rules.md §2 and §5. Admission while already inpatient keeps ``level_since``.
    """
    s = ctx.s
    if s.pending is not None:
        to_inpatient = s.pending.level is Level.INPATIENT
        word = "admitted" if to_inpatient else "readmitted"
        ctx.close_pending(to_inpatient, when, f"{word} on {describe.day(when)}")
    followup = s.open_task(FOLLOWUP_CODE)
    if followup is not None:
        ctx.set_status(followup, "cancelled", when, f"readmitted on {describe.day(when)}")
    if s.level is not Level.INPATIENT:
        set_level(ctx, Level.INPATIENT, when)


def enroll(ctx: Ctx, level: Level, when: datetime, trigger: str, focus: str | None) -> None:
    """L-ENROLLED: enrollment at ``level`` (explicit, by attendance, or by a completed
    referral Task) completes a pending referral to that level and cancels/revokes any other
    (reason: enrolled at L), then C-RECERT at IOP/PHP.

    Rationale: the patient has been placed, so the referral is done (or moot when the
    placement is elsewhere) and must leave the referral queue.
    Choice: enrollment at the level the patient already holds is a no-op (a re-sent or
    updated EpisodeOfCare neither restarts ``level_since`` nor cancels a pending referral).
    Source: rules.md §2, §5 (L-ENROLLED).
    """
    s = ctx.s
    if s.level == level:
        if s.pending is not None and s.pending.level == level:
            ctx.close_pending(
                True, when, f"enrolled at {describe.lv(level)} on {describe.day(when)}"
            )
        return
    if s.pending is not None:
        done = s.pending.level == level
        ctx.close_pending(done, when, f"enrolled at {describe.lv(level)} on {describe.day(when)}")
    set_level(ctx, level, when)
    recert(ctx, level, when, trigger, focus)


def recert(ctx: Ctx, level: Level, since: datetime, trigger: str, focus: str | None) -> None:
    """C-RECERT: on enrollment at IOP or PHP, a routine ``recertification`` Task due
    ``level_since`` + 60 days (IOP) or + 18 days (PHP).

    Rationale: Medicare requires physician recertification of IOP need "no less often than
    every other month" and of PHP as of the 18th day (the PHP day is [UNCONFIRMED]).
    Source: reference/clinical-rules.md §3a (CY 2024 OPPS, Hancock Daniel:
    https://hancockdaniel.com/2023/11/behavioral-health-newsletter-2), §3b (42 CFR 424.24(e)),
    §8 rules 14–15.
    """
    if level not in PROGRAM_LEVELS:
        return
    days = ctx.cfg.recert.iop_days if level is Level.IOP else ctx.cfg.recert.php_days
    due = since + timedelta(days=days)
    text = describe.recert(level, since, due)
    ctx.new_task("C-RECERT", "recertification", trigger, since, "routine", text, focus, due)


def exit_program(ctx: Ctx, level: Level, when: datetime) -> None:
    """``program-exit`` at the current level: level = none (rules.md §2). An exit from a
    level the patient does not hold changes nothing. Open Tasks stay open for the case
    manager to close."""
    if ctx.s.level == level:
        set_level(ctx, None, when)
