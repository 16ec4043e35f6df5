"""The per-patient clock and the local calendar (contract §8, rules.md §1, §7, §8):
calendar helpers in UTC and in a DST zone, deadlines by local days across a DST change,
ticks between events, late events."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from pipeline.clock import (
    day_number,
    day_start,
    days_after,
    local_date,
    midnight,
    next_monday,
    plus_days,
    week_key,
    week_start,
    zone,
)
from pipeline.codes import CareTask, Priority, Status
from pipeline.config import DEFAULT_RULES
from pipeline.decide import advance, next_deadline
from pipeline.outputs import Output
from pipeline.state import new_state
from tests.unit.core_kit import NEW_YORK, Journey, local, rules, t

NY = zone(NEW_YORK)
IN_NY = rules(site={"timezone": NEW_YORK})


# -- calendar helpers -------------------------------------------------------------------
def test_calendar_helpers_in_utc() -> None:
    assert zone("UTC") is UTC
    assert day_start(t("2026-03-08T15:00"), UTC) == t("2026-03-08")
    assert week_start(week_key(t("2026-06-07T23:59"), UTC), UTC) == t("2026-06-01")  # a Sunday
    assert week_start(week_key(t("2026-06-08T00:00"), UTC), UTC) == t("2026-06-08")
    assert next_monday(t("2026-06-08T00:00"), UTC) == t("2026-06-15")
    assert next_monday(t("2026-06-03T12:00"), UTC) == t("2026-06-08")
    assert week_key(t("2026-06-01"), UTC) == week_key(t("2026-06-07T23:59:59"), UTC)
    assert week_key(t("2026-06-08"), UTC) - week_key(t("2026-06-01"), UTC) == 7
    assert week_start(week_key(t("1969-12-31"), UTC), UTC) == t("1969-12-29")
    assert days_after(t("2026-03-08T15:00"), 8, UTC) == t("2026-03-16")
    assert day_number(t("2026-03-16T00:00"), t("2026-03-08T23:59"), UTC) == 8


def test_unknown_zone() -> None:
    with pytest.raises(KeyError):
        zone("Mars/Olympus_Mons")


def test_local_days_across_the_spring_dst_change() -> None:
    """2026-03-08 in New York is 23 hours long (02:00 EST → 03:00 EDT)."""
    assert midnight(date(2026, 3, 8), NY) == t("2026-03-08T05:00")
    assert midnight(date(2026, 3, 9), NY) == t("2026-03-09T04:00")
    assert days_after(local("2026-03-07T12:00"), 1, NY) - days_after(
        local("2026-03-07T12:00"), 0, NY
    ) == timedelta(hours=24)
    assert midnight(date(2026, 3, 9), NY) - midnight(date(2026, 3, 8), NY) == timedelta(hours=23)
    # "N days" keep the local wall time: +1 day across the change is 23 hours
    assert plus_days(local("2026-03-07T12:00"), 1, NY) == local("2026-03-08T12:00")
    assert plus_days(local("2026-03-07T12:00"), 1, NY) - local("2026-03-07T12:00") == timedelta(
        hours=23
    )
    # a local time that does not exist moves forward by the gap (02:30 → 03:30 EDT)
    assert plus_days(local("2026-03-07T02:30"), 1, NY) == t("2026-03-08T07:30")
    assert local_date(t("2026-03-09T03:30"), NY) == date(2026, 3, 8)  # Sunday 23:30 EDT


def test_local_days_across_the_autumn_dst_change() -> None:
    """2026-11-01 is 25 hours long; an ambiguous 01:30 takes the earlier offset (EDT)."""
    assert midnight(date(2026, 11, 2), NY) - midnight(date(2026, 11, 1), NY) == timedelta(hours=25)
    assert plus_days(local("2026-10-31T01:30"), 1, NY) == t("2026-11-01T05:30")


def test_local_weeks_start_monday_00_00() -> None:
    sunday_late = local("2026-03-08T23:30")  # Monday 03:30 UTC
    assert week_start(week_key(sunday_late, NY), NY) == local("2026-03-02T00:00")
    assert next_monday(local("2026-03-04T10:00"), NY) == t("2026-03-09T04:00")


# -- deadlines in the site's zone -------------------------------------------------------
def test_follow_up_due_at_local_midnight_after_dst() -> None:
    """Discharged Friday 03-06 22:00 EST (03-07 UTC): the end of the 7th local day after
    03-06 is 03-14 00:00 EDT (in UTC days it would be 03-15 00:00 UTC)."""
    j = Journey(cfg=IN_NY)
    j.discharge(local("2026-03-06T22:00"))
    assert j.task(CareTask.FOLLOWUP_7D).due == local("2026-03-14T00:00") == t("2026-03-14T04:00")
    assert "2026-03-06" in j.task(CareTask.FOLLOWUP_7D).description  # local dates shown
    j.attend(local("2026-03-06T23:30"), "op", 45)  # day 0 in local dates (03-07 in UTC)
    assert j.task(CareTask.FOLLOWUP_7D).status == Status.REQUESTED
    j.attend(local("2026-03-13T23:30"), "op", 45)  # day 7 (03-14 in UTC)
    assert j.task(CareTask.FOLLOWUP_7D).status == Status.COMPLETED


def test_lost_to_follow_up_at_the_end_of_local_day_30_over_dst() -> None:
    """Day 30 after Friday 02-06 is Sunday 03-08, the 23-hour day (scenario o25)."""
    j = Journey(cfg=IN_NY)
    j.discharge(local("2026-02-06T22:00"))
    j.tick(t("2026-03-09T03:59"))
    assert j.tasks(CareTask.LOST) == []
    j.tick(t("2026-03-09T04:00"))
    assert j.task(CareTask.LOST).authored == local("2026-03-09T00:00")


def test_dues_by_local_days_and_absolute_hours() -> None:
    j = Journey(cfg=IN_NY)
    j.enroll(local("2026-03-02T00:00"), "op")
    j.assess(local("2026-03-07T12:00"), "cssrs", 2)  # safety-plan: urgent, +1 local day
    assert j.task(CareTask.SAFETY_PLAN).due == local("2026-03-08T12:00")
    j.assess(local("2026-03-07T23:30"), "phq9-item9", 1)  # end of the local day
    assert j.task(CareTask.SI_SCREEN).due == local("2026-03-08T00:00")
    j.assess(local("2026-03-08T00:30"), "cssrs", 3)  # stat: +4 hours, across the gap
    crisis = j.task(CareTask.CRISIS)
    assert crisis.due - crisis.authored == timedelta(hours=4)
    assert crisis.due == local("2026-03-08T05:30")


def test_week_of_a_session_is_local() -> None:
    j = Journey(cfg=IN_NY)
    j.enroll(local("2026-03-02T00:00"), "iop")
    assert j.state is not None and j.state.week_due == local("2026-03-09T00:00")
    j.attend(local("2026-03-08T23:00"), "iop", 180)  # Sunday local, Monday in UTC
    monday = date(2026, 3, 2).toordinal()
    assert j.state is not None and j.state.week(monday) == (180, 1)
    step = j.tick(local("2026-03-09T00:00"))
    assert step.state.week_due == local("2026-03-16T00:00")


def test_intensity_in_the_dst_week_counts_local_weeks() -> None:
    """Two local weeks of 1200 minutes (the first ends with a Sunday-night session) are
    above IOP intensity (C-HIGH-HOURS); in UTC weeks the Sunday session would move to the
    next week and leave the first at 800."""
    j = Journey(cfg=IN_NY)
    j.enroll(local("2026-03-02T00:00"), "iop")
    for day in ("03-02", "03-04", "03-08", "03-09", "03-11", "03-13"):
        hour = "23:00" if day == "03-08" else "10:00"
        j.attend(local(f"2026-{day}T{hour}"), "iop", 400)
    j.tick(local("2026-03-16T00:00"))
    assert j.task(CareTask.INTENSITY).rule == "C-HIGH-HOURS"


@pytest.mark.parametrize(
    ("discharged", "admitted", "readmit"),
    [
        ("2026-03-01T23:30", "2026-03-31T23:00", True),  # 30 local days
        ("2026-03-01T23:30", "2026-04-01T00:30", False),  # 31 local days (30 in UTC)
    ],
)
def test_readmission_window_in_local_dates(discharged: str, admitted: str, readmit: bool) -> None:
    j = Journey(cfg=IN_NY)
    j.stay(local("2026-02-25T10:00").isoformat(), local(discharged).isoformat())
    j.admit(local(admitted))
    assert len(j.tasks(CareTask.READMISSION)) == (1 if readmit else 0)


# -- the clock --------------------------------------------------------------------------
def test_clock_moves_forward_only() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.assess("2026-03-05T10:00", "phq9", 3)
    j.assess("2026-03-04T10:00", "phq9", 3)  # late
    assert j.state is not None and j.state.clock == t("2026-03-05T10:00")
    j.tick("2026-03-01")
    assert j.state.clock == t("2026-03-05T10:00")


def test_next_deadline_is_the_earliest() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # routine referral stalls 03-15 15:00, follow-up 03-16
    assert j.state is not None and next_deadline(j.state) == t("2026-03-15T15:00")
    j.update(j.task(CareTask.FULFILL).id, Status.ACCEPTED, "2026-03-09T09:00")
    assert next_deadline(j.state) == t("2026-03-16T00:00")
    j.enroll("2026-03-09T10:00", "iop")  # completes it; week check 03-16
    j.attend("2026-03-10T10:00")  # meets the follow-up; inactive 03-24 10:00
    assert next_deadline(j.state) == t("2026-03-16")
    j.tick("2026-03-16")
    assert next_deadline(j.state) == t("2026-03-23")
    assert j.state.inactive_due == t("2026-03-24T10:00")
    j.discharge("2026-03-24T09:00", "exp")
    assert next_deadline(j.state) is None


def test_ticks_between_events_equal_no_ticks() -> None:
    """Outputs do not depend on how many ticks arrive in between (replay vs live)."""

    def run(ticks: bool) -> list[Output]:
        j = Journey()
        j.admit("2026-03-01T08:00", eid="a", ref="Encounter/e1")
        j.discharge("2026-03-08T15:00", eid="d", ref="Encounter/e1")
        if ticks:
            for day in range(9, 31):
                j.tick(f"2026-03-{day:02d}T12:00")
        j.attend("2026-03-31T10:00", "iop", eid="x")
        j.tick("2026-05-30")
        return j.outputs

    assert run(True) == run(False)


def test_late_event_applies_with_its_own_time() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.tick("2026-03-20")
    j.assess("2026-03-10T10:00", "phq9", 18)
    [sr] = j.referrals()
    assert sr.authored == t("2026-03-10T10:00")
    assert j.task(CareTask.FULFILL).due == t("2026-03-11T10:00")
    assert j.task(CareTask.FULFILL).priority == Priority.URGENT


def test_late_enrollment_arms_deadlines_that_fire_on_the_next_advance() -> None:
    j = Journey()
    j.assess("2026-06-20T10:00", "phq9", 3)
    j.enroll("2026-06-01T00:00", "iop")  # late: inactive due 06-15 already passed
    due = next_deadline(j.state) if j.state is not None else None
    assert due is not None and due <= t("2026-06-20T10:00")  # due already: the next tick
    step = j.tick("2026-06-20T10:00")
    assert {o.rule for o in step.outputs} == {"C-LOW-HOURS", "C-INACTIVE"}


def test_advance_on_fresh_state_and_no_mutation() -> None:
    s = new_state("p")
    step = advance(s, t("2026-01-01"), DEFAULT_RULES)
    assert step.outputs == [] and step.state.clock == t("2026-01-01")
    assert s.clock != step.state.clock
