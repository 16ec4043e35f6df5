"""Attendance: L-FOLLOWUP-MET, C-NO-SHOW, C-DISENGAGED, C-LOW-HOURS, C-INACTIVE and the
minutes bookkeeping."""

from __future__ import annotations

import pytest

from pipeline.events import SessionAttended
from pipeline.levels import Level
from tests.unit.core_kit import Journey, t


def discharged() -> Journey:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.discharge("2026-03-08T15:00")  # follow-up window: 2026-03-09 00:00 .. 2026-03-16 00:00
    return j


# -- L-FOLLOWUP-MET ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "level", "met"),
    [
        ("2026-03-09T00:00", "iop", True),  # day 1
        ("2026-03-15T23:59", "op", True),  # day 7
        ("2026-03-12T10:00", None, True),  # a session with no level
        ("2026-03-12T10:00", "php", True),
        ("2026-03-08T18:00", "iop", False),  # the discharge date does not count
        ("2026-03-12T10:00", "inpatient", False),
    ],
)
def test_l_followup_met(when: str, level: str | None, met: bool) -> None:
    j = discharged()
    j.attend(when, level)
    fu = j.task("follow-up-7d")
    assert fu.status == ("completed" if met else "requested")
    if met:
        assert fu.last_modified == t(when)
        assert fu.status_reason == f"follow-up visit attended on {when[:10]}"


def test_followup_met_by_late_attendance_before_deadline() -> None:
    j = discharged()
    j.assess("2026-03-14T10:00", "phq9", 5)
    j.attend("2026-03-12T10:00", "iop")  # late, but the deadline has not passed
    assert j.task("follow-up-7d").status == "completed"


# -- C-NO-SHOW / C-DISENGAGED -----------------------------------------------------------
@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_c_no_show(level: str) -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", level)
    j.no_show("2026-06-03T09:00", level)
    task = j.task("no-show-outreach")
    assert (task.rule, task.priority, task.due) == ("C-NO-SHOW", "routine", t("2026-06-04T09:00"))


def test_c_no_show_at_pending_level_but_not_without_level() -> None:
    j = Journey()
    j.discharge("2026-06-01T12:00")  # effective level iop (pending)
    j.no_show("2026-06-03T09:00")
    assert j.task("no-show-outreach").status == "requested"
    j = Journey()
    j.no_show("2026-06-03T09:00")
    assert j.tasks("no-show-outreach") == []
    j = Journey()
    j.admit("2026-06-01T00:00")
    j.no_show("2026-06-03T09:00")
    assert j.tasks("no-show-outreach") == []


def test_c_disengaged_on_third_consecutive() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00")
    j.no_show("2026-06-03T09:00")
    j.no_show("2026-06-04T09:00")
    assert j.tasks("engagement-review") == []
    j.no_show("2026-06-05T09:00")
    task = j.task("engagement-review")
    assert (task.rule, task.priority, task.due) == (
        "C-DISENGAGED",
        "urgent",
        t("2026-06-06T09:00"),
    )
    assert task.description.startswith(
        "3 consecutive no-shows (2026-06-03, 2026-06-04, 2026-06-05)"
    )
    j.update(task.id, "completed", "2026-06-05T12:00")
    j.no_show("2026-06-08T09:00")  # a 4th in the same streak: no new review
    assert len(j.tasks("engagement-review")) == 1
    assert len(j.tasks("no-show-outreach")) == 1


def test_attendance_resets_the_streak() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.no_show("2026-06-02T09:00")
    j.no_show("2026-06-03T09:00")
    j.attend("2026-06-04T09:00")
    j.no_show("2026-06-05T09:00")
    j.no_show("2026-06-08T09:00")
    assert j.tasks("engagement-review") == []
    j.no_show("2026-06-09T09:00")
    assert j.task("engagement-review").status == "requested"


def test_late_no_show_before_last_attendance_does_not_count() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-05T09:00")
    j.no_show("2026-06-06T09:00")
    j.no_show("2026-06-07T09:00")
    j.no_show("2026-06-03T09:00")  # late, before the attended session
    assert j.tasks("engagement-review") == []
    j.no_show("2026-06-08T09:00")
    assert j.task("engagement-review").status == "requested"


def test_late_attendance_splits_the_streak() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.no_show("2026-06-02T09:00")
    j.no_show("2026-06-04T09:00")
    j.attend("2026-06-03T09:00")  # late: only the 06-04 no-show is after it
    j.no_show("2026-06-05T09:00")
    assert j.tasks("engagement-review") == []
    j.no_show("2026-06-06T09:00")
    assert j.task("engagement-review").status == "requested"


# -- C-LOW-HOURS ------------------------------------------------------------------------
def iop_weeks(minutes_week1: int, minutes_week2: int, level: str = "iop") -> Journey:
    """Enrolled Monday 2026-06-01 00:00; sessions in the weeks of 06-01 and 06-08."""
    j = Journey()
    j.enroll("2026-06-01T00:00", level)
    for week, total in (("2026-06-0", minutes_week1), ("2026-06-1", minutes_week2)):
        day = 2 if week.endswith("0") else 10
        if total:
            j.attend(f"{week[:-1]}{day:02d}T09:00", level, total)
    return j


@pytest.mark.parametrize(
    ("w1", "w2", "level", "fires"),
    [
        (539, 539, "iop", True),
        (540, 0, "iop", False),
        (0, 540, "iop", False),
        (0, 0, "iop", True),
        (1199, 1199, "php", True),
        (1200, 600, "php", False),
        (600, 600, "iop", False),
    ],
)
def test_c_low_hours(w1: int, w2: int, level: str, fires: bool) -> None:
    j = iop_weeks(w1, w2, level)
    assert j.tasks("level-of-care-review") == []
    j.tick("2026-06-15T00:00")
    found = j.tasks("level-of-care-review")
    assert len(found) == (1 if fires else 0)
    if fires:
        task = found[0]
        assert (task.rule, task.priority) == ("C-LOW-HOURS", "routine")
        assert task.authored == t("2026-06-15T00:00") and task.due == t("2026-06-22T00:00")
        assert "ISO weeks of 2026-06-01 and 2026-06-08" in task.description


def test_c_low_hours_needs_whole_weeks() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:01", "iop")  # not held since Monday 00:00
    j.tick("2026-06-15T00:00")
    assert j.tasks("level-of-care-review") == []
    j.tick("2026-06-22T00:00")  # weeks of 06-08 and 06-15 are whole
    assert j.task("level-of-care-review").authored == t("2026-06-22T00:00")


def test_c_low_hours_not_after_level_change() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.enroll("2026-06-10T00:00", "php")
    j.tick("2026-06-22T00:00")
    assert j.tasks("level-of-care-review") == []
    j.tick("2026-06-29T00:00")
    assert j.task("level-of-care-review").description.endswith(
        "under 1200 at PHP; review the level of care."
    )


def test_c_low_hours_counts_a_session_once() -> None:
    """An Encounter for an already counted Appointment is the same session (scenario 10)."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    for d in ("01", "03", "05", "08", "10", "12"):
        j.attend(f"2026-06-{d}T13:00", "iop", 150, [f"a-{d}"])
    j.attend("2026-06-01T13:00", "iop", 150, ["a-01"])  # the Encounter for a-01
    j.attend("2026-06-02T13:00", "iop", 150, ["a-01", "a-x"])
    j.tick("2026-06-15T00:00")
    assert "Attended 450 and 450 minutes" in j.task("level-of-care-review").description


def test_low_hours_week_checks_every_monday() -> None:
    j = Journey()
    j.enroll("2026-06-03T10:00", "iop")
    assert j.state is not None and j.state.week_due == t("2026-06-08T00:00")
    j.tick("2026-06-09T00:00")
    assert j.state.week_due == t("2026-06-15T00:00")
    j.tick("2026-07-01T00:00")
    assert j.state.week_due == t("2026-07-06T00:00")


# -- C-INACTIVE -------------------------------------------------------------------------
def test_c_inactive_from_last_session() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00")
    j.tick("2026-06-15T08:59")
    assert j.tasks("discharge-review") == []
    j.tick("2026-06-15T09:00")
    task = j.task("discharge-review")
    assert (task.rule, task.priority, task.due) == ("C-INACTIVE", "urgent", t("2026-06-16T09:00"))
    assert task.description == (
        "No attended session at IOP for 14 days since 2026-06-01 09:00 UTC; review for discharge."
    )
    j.update(task.id, "completed", "2026-06-16T09:00")
    j.tick("2026-07-30")
    assert len(j.tasks("discharge-review")) == 1


def test_c_inactive_from_level_since_and_rearmed_by_attendance() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "php")
    j.tick("2026-06-15T00:00")
    first = j.task("discharge-review")
    j.update(first.id, "completed", "2026-06-15T10:00")
    j.attend("2026-06-16T09:00", "php", 300)
    j.tick("2026-06-30T09:00")
    assert [tk.status for tk in j.tasks("discharge-review")] == ["completed", "requested"]


def test_c_inactive_not_at_op_or_pending() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.tick("2026-07-01")
    assert j.tasks() == []
    j = Journey()
    j.discharge("2026-06-01T00:00")  # pending iop: level is none
    j.tick("2026-07-01")
    assert j.tasks("discharge-review") == []


def test_late_attendance_older_than_last_does_not_rearm() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-02T09:00")
    j.tick("2026-06-16T09:00")
    j.attend("2026-06-01T09:00")  # late
    j.tick("2026-07-01")
    assert len(j.tasks("discharge-review")) == 1


def test_encounter_without_appointment_counted_once_across_versions() -> None:
    """Two versions of the same Encounter (no Appointment named) are one session."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    for version in ("v1", "v2"):
        j.send(
            SessionAttended(
                f"Encounter|e1|{version}",
                "p1",
                t("2026-06-02T09:00"),
                "Encounter/e1",
                Level.IOP,
                300,
                (),
            )
        )
    assert j.state is not None and j.state.weeks[-1][1] == 300
