"""Attendance: weekly minutes, last attended session, no-show streaks, and the rules
L-FOLLOWUP-MET, C-NO-SHOW, C-DISENGAGED, plus enrollment by attendance (rules.md §2).
"""

from __future__ import annotations

from datetime import timedelta

from pipeline import describe
from pipeline.clock import FOLLOWUP_CODE, week_key
from pipeline.events import SessionAttended, SessionMissed
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.rules.placement import arm_inactive, enroll
from pipeline.state import digest

#: No-show times kept per streak (enough for any configured streak description).
STREAK_KEEP = 12


def on_attended(ctx: Ctx, ev: SessionAttended) -> None:
    """An attended session counts its minutes once, resets the no-show streak, meets the
    7-day follow-up, and enrolls a patient who has no level (rules.md §2).

    Choices: minutes of every attended session count for the week, whatever the session's
    level; a session older than the moment the level became none does not enroll.
    """
    s = ctx.s
    count_minutes(ctx, ev)
    if s.last_attended is None or ev.time > s.last_attended:
        s.last_attended = ev.time
        arm_inactive(ctx)
    if s.no_shows:
        last = s.last_attended
        s.no_shows = tuple(t for t in s.no_shows if t > last)
    followup_met(ctx, ev)
    if (
        s.level is None
        and ev.level is not None
        and (s.level_since is None or ev.time >= s.level_since)
    ):
        enroll(ctx, ev.level, ev.time, ev.event_id, ev.ref)


def count_minutes(ctx: Ctx, ev: SessionAttended) -> None:
    """Add the session's minutes to its ISO week unless one of its Appointments was counted
    already (an Encounter for a counted Appointment is the same session, contract §3).

    Choice: a session that names no Appointment (an Encounter without ``appointment``) is
    identified by its own resource, so a re-sent version of it is not counted twice.
    """
    s = ctx.s
    ids = ev.appointments or ((ev.ref,) if ev.ref is not None else ())
    if ids:
        keys = [digest(a) for a in ids]
        seen = any(k in s.counted for k in keys)
        s.counted = s.counted.union(keys)
        if seen:
            return
    week = week_key(ev.time)
    if ev.minutes > 0:
        s.weeks = add_minutes(s.weeks, week, ev.minutes, ctx)


def add_minutes(
    weeks: tuple[tuple[int, int], ...], week: int, minutes: int, ctx: Ctx
) -> tuple[tuple[int, int], ...]:
    """Weeks (in order) with ``minutes`` added to ``week``; when a week is added, weeks too
    old for any C-LOW-HOURS check are dropped (a session in such a week is not kept)."""
    if weeks and weeks[-1][0] == week:
        return (*weeks[:-1], (week, weeks[-1][1] + minutes))
    oldest = week_key(ctx.s.clock) - 7 * (ctx.cfg.attendance.low_hours_weeks + 1)
    if week < oldest:
        return weeks
    total = minutes + sum(m for w, m in weeks if w == week)
    kept = [w for w in weeks if w[0] != week and w[0] >= oldest]
    kept.append((week, total))
    kept.sort()
    return tuple(kept)


def followup_met(ctx: Ctx, ev: SessionAttended) -> None:
    """L-FOLLOWUP-MET: a session attended at any level below inpatient on day 1–7 after the
    discharge date completes the open ``follow-up-7d`` Task (a visit on the discharge date
    does not count; one at 00:00 on day 8 comes after the deadline).

    Rationale: a visit within 7 days of a psychiatric discharge (not on the discharge date)
    is the HEDIS FUH quality target; once met, the follow-up work is done.
    Choice: a session with no level (an Appointment without a service type) counts.
    Source: reference/clinical-rules.md §7 (HEDIS FUH 7-day follow-up), §8 rule 22.
    """
    task = ctx.s.open_task(FOLLOWUP_CODE)
    if task is None or ev.level is Level.INPATIENT:
        return
    window_start = task.due - timedelta(days=ctx.cfg.followup.window_days)
    if window_start <= ev.time < task.due:
        ctx.set_status(
            task, "completed", ev.time, f"follow-up visit attended on {describe.day(ev.time)}"
        )


def on_no_show(ctx: Ctx, ev: SessionMissed) -> None:
    s = ctx.s
    no_show_outreach(ctx, ev)
    if s.last_attended is not None and ev.time <= s.last_attended:
        return
    i = len(s.no_shows)
    while i and s.no_shows[i - 1] > ev.time:
        i -= 1
    s.no_shows = (*s.no_shows[:i], ev.time, *s.no_shows[i:])[
        -max(STREAK_KEEP, ctx.cfg.attendance.disengaged_no_shows) :
    ]
    disengaged(ctx, ev)


def no_show_outreach(ctx: Ctx, ev: SessionMissed) -> None:
    """C-NO-SHOW: a no-show at effective level OP, IOP or PHP → a routine
    ``no-show-outreach`` Task due in one day (one open at a time).

    Rationale: prompt outreach after a missed session is the usual engagement practice;
    there is no national standard, so the due is a program-policy parameter.

    Source: reference/clinical-rules.md §5 (IWG: "after each no-show, the clinician reaches
    out"; no national standard, a program-policy parameter), §8 rule 17.
    """
    level = ctx.s.effective_level()
    if level in (Level.OP, Level.IOP, Level.PHP):
        text = describe.no_show(ev.time, level)
        due = ev.time + timedelta(days=ctx.cfg.attendance.no_show_due_days)
        ctx.new_task("C-NO-SHOW", "no-show-outreach", ev.event_id, ev.time, "routine", text,
                     ev.ref, due)  # fmt: skip


def disengaged(ctx: Ctx, ev: SessionMissed) -> None:
    """C-DISENGAGED: the no-show streak since the last attended session reaches 3 → an
    urgent ``engagement-review`` Task due in one day.

    Rationale: three consecutive absences without contact are the common program
    threshold for presumed drop-out; a review (clinician and care-coordinator outreach, risk
    screen) comes before any administrative discharge.
    Choices: fires when the streak reaches the threshold, once per streak (a 4th no-show
    does not re-open a review the case manager closed); no level condition, as written.
    Source: reference/clinical-rules.md §5 (Rockville APP, MHS DBT, IWG: 3 consecutive
    absences without contact), §8 rule 18.
    """
    n = ctx.cfg.attendance.disengaged_no_shows
    if len(ctx.s.no_shows) == n:
        text = describe.disengaged(ctx.s.no_shows[-n:])
        ctx.new_task("C-DISENGAGED", "engagement-review", ev.event_id, ev.time, "urgent", text,
                     ev.ref)  # fmt: skip
