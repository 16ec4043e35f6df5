"""Attendance: weekly minutes and days, last attended session, no-show streaks, and the
rules L-FOLLOWUP-MET, L-FOLLOWUP-LATE, C-NO-SHOW, C-DISENGAGED, plus enrollment by
attendance (rules.md §2, §3, §5, §6).

A session with a level of care or a BH service code (``bh``) meets follow-ups and may
enroll; a session with no service codes at all counts toward the attendance (minutes,
days, no-show streak) of a patient who holds a level, and does nothing else.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.clock import day_number, local_date, week_key
from pipeline.codes import CareTask, Priority, Status
from pipeline.describe import lv
from pipeline.events import SessionAttended, SessionMissed
from pipeline.levels import Level
from pipeline.outputs import TaskRecord
from pipeline.rules.context import Ctx
from pipeline.rules.placement import arm_inactive, enroll
from pipeline.rules.signals import OUTPATIENT_LEVELS, signal_source
from pipeline.state import digest

#: No-show times kept per streak (enough for any configured streak description).
STREAK_KEEP = 12


def _counts(ctx: Ctx, bh: bool) -> bool:
    """Whether a session counts: a BH session always; an uncoded one for a level holder."""
    return bh or ctx.s.level is not None


def _in_medical_stay(ctx: Ctx, t: datetime) -> bool:
    m = ctx.s.medical
    return m is not None and m[0] <= t and (m[1] is None or t <= m[1])


def on_attended(ctx: Ctx, ev: SessionAttended) -> str | None:
    s = ctx.s
    if not _counts(ctx, ev.bh):
        return f"{ev.ref or 'session'}: no service codes and no level of care held"
    count_minutes(ctx, ev)
    if s.last_attended is None or ev.time > s.last_attended:
        s.last_attended = ev.time
        arm_inactive(ctx)
    if s.no_shows:
        last = s.last_attended
        s.no_shows = tuple(t for t in s.no_shows if t > last)
    if not ev.bh:
        return None
    if ev.level is not Level.INPATIENT and (s.last_bh is None or ev.time > s.last_bh):
        s.last_bh = ev.time
    followup_met(ctx, ev)
    attend_level(ctx, ev)
    return None


def attend_level(ctx: Ctx, ev: SessionAttended) -> None:
    """Attendance at L (rules.md §3): L = the pending target → enrollment at L (whatever
    the level); no level and (no pending referral, or L above the pending target) →
    enrollment at L; else the session only counts. Choice: a session older than the moment
    the level became none does not enroll, nor does one older than the pending referral
    fulfil it (a late session from before the referral is no placement)."""
    s, level = ctx.s, ev.level
    if level is None or level is Level.INPATIENT:
        return
    p = s.pending
    if p is not None and p.level == level and ev.time >= p.authored:
        enroll(ctx, level, ev.time, ev.event_id, ev.ref)
        return
    if s.level is not None or (s.level_since is not None and ev.time < s.level_since):
        return
    if p is None or level > p.level:
        enroll(ctx, level, ev.time, ev.event_id, ev.ref)


def count_minutes(ctx: Ctx, ev: SessionAttended) -> None:
    """Add the session's minutes and its local day to its local week unless one of its
    Appointments was counted already (an Encounter for a counted Appointment is the same
    session, contract §3); a session that names no Appointment is identified by its own
    resource."""
    s = ctx.s
    ids = ev.appointments or ((ev.ref,) if ev.ref is not None else ())
    d = local_date(ev.time, ctx.tz)
    week = d.toordinal() - d.weekday()
    oldest = week_key(s.clock, ctx.tz) - 7 * (ctx.cfg.attendance.low_hours_weeks + 1)
    if week < oldest:
        return  # no week check reads it any more
    if ids:
        keys = [digest(a) for a in ids]
        before = s.counted
        seen = not before.keys().isdisjoint(keys)
        counted = dict(before)
        if counted and min(counted.values()) < oldest:  # bounded: the weeks a check reads
            counted = {k: w for k, w in counted.items() if w >= oldest}
        counted.update(dict.fromkeys(keys, week))
        s.counted = counted
        if seen:
            return
    kept: list[tuple[int, int, int]] = []
    old = None
    for w in s.weeks:  # one pass over a handful of weeks: the others kept, this one found
        if w[0] != week:
            if w[0] >= oldest:
                kept.append(w)
        elif old is None:
            old = w
    minutes, days = (old[1], old[2]) if old is not None else (0, 0)
    kept.append((week, minutes + ev.minutes, days | 1 << d.weekday()))
    kept.sort()
    s.weeks = tuple(kept)


def followup_met(ctx: Ctx, ev: SessionAttended) -> None:
    """L-FOLLOWUP-MET: a BH session (any level below inpatient, telehealth included) on day
    1–7 after the discharge date (ED: day 0–7 after the visit) completes the open
    ``follow-up-7d`` / ``follow-up-ed-7d``. L-FOLLOWUP-LATE: a BH session on day 8–30
    completes ``follow-up-missed`` (reason: seen on day N).

    Rationale: HEDIS FUH/FUM count a visit within 7 days (FUH: not on the discharge date;
    FUM: the ED visit date counts) and keep a 30-day rate; a late visit ends the chase.
    Source: reference/clinical-rules.md §7 (HEDIS FUH, FUM), §8 rule 22; rules.md §6.
    """
    s = ctx.s
    start = s.followup_from
    if start is None or ev.time < start or ev.level is Level.INPATIENT:
        return
    n = day_number(ev.time, start, ctx.tz)
    first = 0 if s.followup_ed else 1
    f = ctx.cfg.followup
    code = CareTask.FOLLOWUP_ED_7D if s.followup_ed else CareTask.FOLLOWUP_7D
    task = s.open_task(code)
    if task is not None and first <= n <= f.window_days and ev.time < task.due:
        ctx.set_status(task, Status.COMPLETED, ev.time,
                       f"follow-up visit attended on {ctx.day(ev.time)}")  # fmt: skip
        return
    missed = s.open_task(CareTask.FOLLOWUP_MISSED)
    if missed is not None and f.window_days < n <= f.lost_days:
        ctx.set_status(missed, Status.COMPLETED, ev.time, f"seen on day {n} after the discharge")


def met_before(ctx: Ctx, task: TaskRecord, start: datetime, first_day: int) -> None:
    """L-FOLLOWUP-MET for a discharge or ED visit that arrives after the session: the
    latest BH session already recorded, on day ``first_day``–7 after the date of ``start``
    (and after ``start``), completes the new follow-up Task at the session's time.

    Rationale: the visit happened; the order in which the feeds delivered it must not
    send a case manager after a patient who was seen. Source: rules.md §6;
    reference/clinical-rules.md §7 (HEDIS FUH, FUM)."""
    seen = ctx.s.last_bh
    if seen is None or seen < start or seen >= task.due:
        return
    if day_number(seen, start, ctx.tz) < first_day:
        return
    ctx.set_status(task, Status.COMPLETED, seen, f"follow-up visit attended on {ctx.day(seen)}")


def on_no_show(ctx: Ctx, ev: SessionMissed) -> str | None:
    s = ctx.s
    if not _counts(ctx, ev.bh):
        return f"{ev.ref or 'session'}: no service codes and no level of care held"
    if _in_medical_stay(ctx, ev.time):
        return None
    no_show_outreach(ctx, ev)
    if s.last_attended is not None and ev.time <= s.last_attended:
        return None
    i = len(s.no_shows)
    while i and s.no_shows[i - 1] > ev.time:
        i -= 1
    keep = max(STREAK_KEEP, ctx.cfg.attendance.disengaged_no_shows)
    s.no_shows = (*s.no_shows[:i], ev.time, *s.no_shows[i:])[-keep:]
    disengaged(ctx, ev)
    return None


def no_show_outreach(ctx: Ctx, ev: SessionMissed) -> None:
    """C-NO-SHOW: a BH no-show at effective level OP, IOP or PHP → a ``no-show-outreach``
    Task: routine, due in one day; with a safety signal asap, due at the end of the local
    day (one open at a time).

    Rationale: prompt outreach after a missed session is the usual engagement practice; a
    patient with an unresolved suicide-risk signal who misses a session is reached the
    same day. Source: reference/clinical-rules.md §5 (IWG), §8 rules 3, 17.
    """
    level = ctx.s.effective_level()
    if level not in OUTPATIENT_LEVELS:
        return
    signal = signal_source(ctx, ev.time) is not None
    if signal:
        priority, due = Priority.ASAP, ctx.end_of_day(ev.time)
    else:
        priority = Priority.ROUTINE
        due = ctx.plus_days(ev.time, ctx.cfg.attendance.no_show_due_days)
    why = " with an unresolved safety signal" if signal else ""
    text = f"Missed the session on {ctx.day(ev.time)} at {lv(level)}{why}; reach the patient."
    ctx.new_task("C-NO-SHOW", CareTask.NO_SHOW, ev.event_id, ev.time, priority, text, ev.ref, due)


def disengaged(ctx: Ctx, ev: SessionMissed) -> None:
    """C-DISENGAGED: the BH no-show streak since the last attended session reaches 3 → an
    urgent ``engagement-review`` Task due in one day, once per streak.

    Rationale: three consecutive absences without contact are the common program threshold
    for presumed drop-out; a review comes before any administrative discharge. Source:
    reference/clinical-rules.md §5 (Rockville APP, MHS DBT, IWG), §8 rule 18.
    """
    n = ctx.cfg.attendance.disengaged_no_shows
    if len(ctx.s.no_shows) == n:
        dates = ", ".join(ctx.day(t) for t in ctx.s.no_shows[-n:])
        text = (
            f"{n} consecutive no-shows ({dates}) since the last attended session; "
            f"review engagement."
        )
        ctx.new_task("C-DISENGAGED", CareTask.ENGAGEMENT, ev.event_id, ev.time, Priority.URGENT,
                     text, ev.ref)  # fmt: skip
