"""Attendance (rules.md §2, §5, §6): L-FOLLOWUP-MET (discharge and ED), C-NO-SHOW (asap
with a safety signal), C-DISENGAGED, C-LOW-HOURS by minutes and days, C-HIGH-HOURS,
C-INACTIVE, C-OP-INACTIVE, the medical-stay suspension and the minutes bookkeeping."""

from __future__ import annotations

import pytest

from pipeline.codes import Business, CareTask, Priority, Status
from pipeline.events import SessionAttended
from pipeline.levels import Level
from tests.unit.core_kit import Journey, t

FU, FU_ED, MISSED = CareTask.FOLLOWUP_7D, CareTask.FOLLOWUP_ED_7D, CareTask.FOLLOWUP_MISSED
NO_SHOW, ENGAGE = CareTask.NO_SHOW, CareTask.ENGAGEMENT
INTENSITY, DISCHARGE_REVIEW = CareTask.INTENSITY, CareTask.DISCHARGE_REVIEW


def discharged() -> Journey:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.discharge("2026-03-08T15:00")  # follow-up window: 2026-03-09 00:00 .. 2026-03-16 00:00
    return j


# -- L-FOLLOWUP-MET ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "level", "bh", "met"),
    [
        ("2026-03-09T00:00", "iop", True, True),  # day 1
        ("2026-03-15T23:59", "op", True, True),  # day 7
        ("2026-03-12T10:00", None, True, True),  # a BH service code without a level
        ("2026-03-12T10:00", "php", True, True),
        ("2026-03-08T18:00", "iop", True, False),  # the discharge date does not count
        ("2026-03-12T10:00", "inpatient", True, False),
        ("2026-03-12T10:00", None, False, False),  # no service codes: not a follow-up (v2.2)
    ],
)
def test_l_followup_met(when: str, level: str | None, bh: bool, met: bool) -> None:
    j = discharged()
    j.attend(when, level, bh=bh)
    fu = j.task(FU)
    assert fu.status == (Status.COMPLETED if met else Status.REQUESTED)
    if met:
        assert fu.last_modified == t(when)
        assert fu.status_reason == f"follow-up visit attended on {when[:10]}"


def test_followup_met_by_late_attendance_before_deadline() -> None:
    j = discharged()
    j.assess("2026-03-14T10:00", "phq9", 5)
    j.attend("2026-03-12T10:00", "iop")  # late, but the deadline has not passed
    assert j.task(FU).status == Status.COMPLETED


@pytest.mark.parametrize(
    ("when", "met"),
    [
        ("2026-03-08T22:00", True),  # day 0: the visit date counts for FUM
        ("2026-03-15T23:59", True),  # day 7
        ("2026-03-08T17:00", False),  # before the visit
    ],
)
def test_l_followup_met_after_an_ed_visit(when: str, met: bool) -> None:
    j = Journey()
    j.ed_visit("2026-03-08T20:00")
    ed = j.task(FU_ED)
    assert (ed.rule, ed.priority, ed.due) == ("C-ED-FOLLOWUP", Priority.URGENT, t("2026-03-16"))
    j.attend(when, "op")
    assert j.task(FU_ED).status == (Status.COMPLETED if met else Status.REQUESTED)


def test_ed_follow_up_missed_then_late() -> None:
    j = Journey()
    j.ed_visit("2026-03-08T20:00")
    j.tick("2026-03-16T00:00")
    assert j.task(FU_ED).status == Status.FAILED
    missed = j.task(MISSED)
    assert missed.focus == f"Task/{j.task(FU_ED).id}"
    j.attend("2026-04-07T10:00", "op")  # day 30 after the visit date
    assert j.task(MISSED).status == Status.COMPLETED


def test_ed_follow_up_lost_at_day_30_of_the_visit() -> None:
    j = Journey()
    j.ed_visit("2026-03-08T20:00")
    j.tick("2026-04-07T23:59")
    assert j.tasks(CareTask.LOST) == []
    j.tick("2026-04-08T00:00")
    assert j.task(MISSED).status == Status.FAILED
    assert j.task(CareTask.LOST).status == Status.REQUESTED


# -- C-NO-SHOW / C-DISENGAGED -----------------------------------------------------------
@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_c_no_show(level: str) -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", level)
    j.no_show("2026-06-03T09:00", level)
    task = j.task(NO_SHOW)
    assert (task.rule, task.priority, task.due) == (
        "C-NO-SHOW",
        Priority.ROUTINE,
        t("2026-06-04T09:00"),
    )


@pytest.mark.parametrize(
    ("signal", "priority", "due"),
    [
        ([("phq9-item9", 1)], Priority.ASAP, "2026-06-04T00:00"),  # end of the local day
        ([("cssrs", 2)], Priority.ASAP, "2026-06-04T00:00"),
        ([("cssrs", 3)], Priority.ASAP, "2026-06-04T00:00"),
        ([("phq9-item9", 1), ("cssrs", 1)], Priority.ROUTINE, "2026-06-04T09:00"),  # answered
        ([("cssrs", 1)], Priority.ROUTINE, "2026-06-04T09:00"),
    ],
)
def test_c_no_show_with_a_safety_signal(
    signal: list[tuple[str, int]], priority: str, due: str
) -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    for k, (inst, value) in enumerate(signal):
        j.assess(f"2026-06-02T1{k}:00", inst, value)
    j.no_show("2026-06-03T09:00")
    task = j.task(NO_SHOW)
    assert (task.priority, task.due) == (priority, t(due))


def test_c_no_show_signal_answered_by_a_completed_screen() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.assess("2026-06-02T10:00", "phq9-item9", 2)
    j.complete(CareTask.SI_SCREEN, "2026-06-02T16:00")  # L-SCREEN-DONE
    j.no_show("2026-06-03T09:00")
    assert j.task(NO_SHOW).priority == Priority.ROUTINE


def test_c_no_show_at_pending_level_but_not_without_level() -> None:
    j = Journey()
    j.discharge("2026-06-01T12:00")  # effective level iop (pending)
    j.no_show("2026-06-03T09:00")
    assert j.task(NO_SHOW).status == Status.REQUESTED
    j = Journey()
    j.no_show("2026-06-03T09:00")
    assert j.tasks(NO_SHOW) == []
    j = Journey()
    j.admit("2026-06-01T00:00")
    j.no_show("2026-06-03T09:00")
    assert j.tasks(NO_SHOW) == []


def test_uncoded_no_show_without_level_is_ignored() -> None:
    j = Journey()
    step = j.no_show("2026-06-03T09:00", None, bh=False)
    assert step.ignored and step.reason is not None and step.outputs == []


def test_c_disengaged_on_third_consecutive() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00")
    j.no_show("2026-06-03T09:00")
    j.no_show("2026-06-04T09:00")
    assert j.tasks(ENGAGE) == []
    j.no_show("2026-06-05T09:00")
    task = j.task(ENGAGE)
    assert (task.rule, task.priority, task.due) == (
        "C-DISENGAGED",
        Priority.URGENT,
        t("2026-06-06T09:00"),
    )
    assert task.description.startswith(
        "3 consecutive no-shows (2026-06-03, 2026-06-04, 2026-06-05)"
    )
    j.update(task.id, Status.COMPLETED, "2026-06-05T12:00")
    j.no_show("2026-06-08T09:00")  # a 4th in the same streak: no new review
    assert len(j.tasks(ENGAGE)) == 1
    assert len(j.tasks(NO_SHOW)) == 1  # the outreach is still open


def test_uncoded_no_shows_count_toward_the_streak_of_a_level_holder() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.no_show("2026-06-03T09:00", None, bh=False)
    j.no_show("2026-06-04T09:00", None, bh=False)
    j.no_show("2026-06-05T09:00")
    assert j.task(ENGAGE).status == Status.REQUESTED


def test_attendance_resets_the_streak() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.no_show("2026-06-02T09:00")
    j.no_show("2026-06-03T09:00")
    j.attend("2026-06-04T09:00", None, 30, bh=False)  # an uncoded session resets it too
    j.no_show("2026-06-05T09:00")
    j.no_show("2026-06-08T09:00")
    assert j.tasks(ENGAGE) == []
    j.no_show("2026-06-09T09:00")
    assert j.task(ENGAGE).status == Status.REQUESTED


def test_late_no_show_before_last_attendance_does_not_count() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-05T09:00")
    j.no_show("2026-06-06T09:00")
    j.no_show("2026-06-07T09:00")
    j.no_show("2026-06-03T09:00")  # late, before the attended session
    assert j.tasks(ENGAGE) == []
    j.no_show("2026-06-08T09:00")
    assert j.task(ENGAGE).status == Status.REQUESTED


def test_late_attendance_splits_the_streak() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.no_show("2026-06-02T09:00")
    j.no_show("2026-06-04T09:00")
    j.attend("2026-06-03T09:00")  # late: only the 06-04 no-show is after it
    j.no_show("2026-06-05T09:00")
    assert j.tasks(ENGAGE) == []
    j.no_show("2026-06-06T09:00")
    assert j.task(ENGAGE).status == Status.REQUESTED


# -- C-LOW-HOURS / C-HIGH-HOURS ---------------------------------------------------------
def weeks(week1: tuple[int, int], week2: tuple[int, int], level: str = "iop") -> Journey:
    """Enrolled Monday 2026-06-01 00:00; (minutes, days) in the weeks of 06-01 and 06-08,
    the minutes spread evenly over the first days of the week."""
    j = Journey()
    j.enroll("2026-06-01T00:00", level)
    for monday, (minutes, days) in ((1, week1), (8, week2)):
        for k in range(days):
            share = minutes // days + (minutes % days if k == 0 else 0)
            j.attend(f"2026-06-{monday + k:02d}T09:00", level, share)
    return j


@pytest.mark.parametrize(
    ("w1", "w2", "level", "rule"),
    [
        ((539, 3), (539, 3), "iop", "C-LOW-HOURS"),
        ((540, 3), (540, 3), "iop", None),
        ((540, 3), (0, 0), "iop", None),
        ((0, 0), (540, 3), "iop", None),
        ((0, 0), (0, 0), "iop", "C-LOW-HOURS"),
        ((600, 2), (900, 2), "iop", "C-LOW-HOURS"),  # v2.2: enough hours on too few days
        ((600, 2), (600, 3), "iop", None),
        ((1199, 4), (1199, 4), "php", "C-LOW-HOURS"),
        ((1200, 4), (1200, 4), "php", None),
        ((1500, 3), (1500, 3), "php", "C-LOW-HOURS"),  # PHP needs 4 days
        ((600, 3), (600, 3), "iop", None),
        ((1141, 3), (1200, 4), "iop", "C-HIGH-HOURS"),  # IOP above 19 h is PHP intensity
        ((1140, 3), (1200, 4), "iop", None),
        ((1500, 5), (1500, 5), "php", None),  # no upper bound at PHP
    ],
)
def test_c_low_and_high_hours(
    w1: tuple[int, int], w2: tuple[int, int], level: str, rule: str | None
) -> None:
    j = weeks(w1, w2, level)
    j.tick("2026-06-14T23:59")
    assert j.tasks(INTENSITY) == []
    j.tick("2026-06-15T00:00")
    found = j.tasks(INTENSITY)
    assert [tk.rule for tk in found] == ([rule] if rule else [])
    if rule:
        task = found[0]
        assert task.priority == Priority.ROUTINE
        assert task.authored == t("2026-06-15T00:00") and task.due == t("2026-06-22T00:00")
        assert "2026-06-01" in task.description and "2026-06-08" in task.description


def test_c_low_hours_needs_whole_weeks() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:01", "iop")  # not held since Monday 00:00
    j.tick("2026-06-15T00:00")
    assert j.tasks(INTENSITY) == []
    j.tick("2026-06-22T00:00")  # weeks of 06-08 and 06-15 are whole
    assert j.task(INTENSITY).authored == t("2026-06-22T00:00")


def test_c_low_hours_not_after_level_change() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.enroll("2026-06-10T00:00", "php")
    j.tick("2026-06-22T00:00")
    assert j.tasks(INTENSITY) == []
    j.tick("2026-06-29T00:00")
    assert "1200" in j.task(INTENSITY).description and "PHP" in j.task(INTENSITY).description


def test_c_low_hours_counts_a_session_once() -> None:
    """An Encounter for an already counted Appointment is the same session (scenario 10)."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    for d in ("01", "03", "05", "08", "10", "12"):
        j.attend(f"2026-06-{d}T13:00", "iop", 150, [f"a-{d}"])
    j.attend("2026-06-01T13:00", "iop", 150, ["a-01"])  # the Encounter for a-01
    j.attend("2026-06-02T13:00", "iop", 150, ["a-01", "a-x"])
    j.tick("2026-06-15T00:00")
    assert j.state is not None and j.state.week(t("2026-06-01").date().toordinal()) == (450, 3)
    assert "450 minutes on 3 days" in j.task(INTENSITY).description


def test_week_checks_every_monday() -> None:
    j = Journey()
    j.enroll("2026-06-03T10:00", "iop")
    assert j.state is not None and j.state.week_due == t("2026-06-08T00:00")
    j.tick("2026-06-09T00:00")
    assert j.state.week_due == t("2026-06-15T00:00")
    j.tick("2026-07-01T00:00")
    assert j.state.week_due == t("2026-07-06T00:00")


def test_clock_jump_fires_the_week_check_once_for_the_latest_week() -> None:
    """§8: a jump fires each recurring check at most once, for the latest period."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    step = j.tick("2026-08-05T00:00")
    checks = [o for o in step.outputs if o.code == INTENSITY]
    assert len(checks) == 1 and checks[0].authored == t("2026-08-03T00:00")
    assert j.state is not None and j.state.week_due == t("2026-08-10T00:00")


# -- medical stays (§2) -----------------------------------------------------------------
def test_medical_stay_suspends_no_show_inactivity_and_weeks() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00")
    assert j.admit("2026-06-03T10:00", bh=False, ref="Encounter/knee").ignored
    assert j.state is not None and j.state.level is Level.IOP  # the level is kept
    assert j.no_show("2026-06-08T09:00").outputs == []
    j.no_show("2026-06-09T09:00")
    j.no_show("2026-06-10T09:00")
    j.tick("2026-06-30T11:00")
    assert j.codes() == {CareTask.RECERT}  # no outreach, review, intensity or inactivity
    j.discharge("2026-06-30T12:00", bh=False, ref="Encounter/knee")
    j.tick("2026-07-14T11:59")
    assert j.codes() == {CareTask.RECERT}
    j.tick("2026-07-14T12:00")  # the inactivity clock restarted at the discharge
    review = j.task(DISCHARGE_REVIEW)
    assert (review.rule, review.authored) == ("C-INACTIVE", t("2026-07-14T12:00"))
    assert j.tasks(INTENSITY) == []  # 07-13: the week of 06-29 overlaps the stay
    j.tick("2026-07-20T00:00")  # weeks of 07-06 and 07-13 are whole again
    assert j.task(INTENSITY).rule == "C-LOW-HOURS"


def test_medical_stay_suspends_op_inactivity() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.admit("2026-08-20T10:00", bh=False, ref="Encounter/hip")
    j.tick("2026-09-15")
    assert j.tasks(DISCHARGE_REVIEW) == []
    j.discharge("2026-09-16T10:00", bh=False, ref="Encounter/hip")
    j.tick("2026-12-15T09:59")
    assert j.tasks(DISCHARGE_REVIEW) == []
    j.tick("2026-12-15T10:00")  # 90 days after the medical discharge
    assert j.task(DISCHARGE_REVIEW).rule == "C-OP-INACTIVE"


def test_medical_stay_of_a_patient_without_a_level_changes_nothing() -> None:
    j = Journey()
    step = j.admit("2026-06-03T10:00", bh=False)
    assert step.ignored and "out of scope" in str(step.reason)
    assert j.state is not None and j.state.level is None and j.state.medical is None


# -- C-INACTIVE / C-OP-INACTIVE ---------------------------------------------------------
def test_c_inactive_from_last_session() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00")
    j.tick("2026-06-15T08:59")
    assert j.tasks(DISCHARGE_REVIEW) == []
    j.tick("2026-06-15T09:00")
    task = j.task(DISCHARGE_REVIEW)
    assert (task.rule, task.priority, task.due) == (
        "C-INACTIVE",
        Priority.URGENT,
        t("2026-06-16T09:00"),
    )
    assert "IOP" in task.description and "14 days" in task.description
    j.update(task.id, Status.COMPLETED, "2026-06-16T09:00")
    j.tick("2026-07-30")
    assert len(j.tasks(DISCHARGE_REVIEW)) == 1  # once per inactive period


def test_c_inactive_from_level_since_and_rearmed_by_attendance() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "php")
    j.tick("2026-06-15T00:00")
    first = j.task(DISCHARGE_REVIEW)
    j.update(first.id, Status.COMPLETED, "2026-06-15T10:00")
    j.attend("2026-06-16T09:00", "php", 300)
    j.tick("2026-06-30T09:00")
    assert [tk.status for tk in j.tasks(DISCHARGE_REVIEW)] == [Status.COMPLETED, Status.REQUESTED]


def test_c_op_inactive_after_90_days() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.attend("2026-06-10T10:00", "op", 45)
    j.tick("2026-09-08T09:59")
    assert j.tasks() == []
    j.tick("2026-09-08T10:00")
    task = j.task(DISCHARGE_REVIEW)
    assert (task.rule, task.priority, task.due) == (
        "C-OP-INACTIVE",
        Priority.ROUTINE,
        t("2026-09-15T10:00"),
    )


def test_no_inactivity_for_a_pending_level() -> None:
    j = Journey()
    j.discharge("2026-06-01T00:00")  # pending iop: level is none
    j.tick("2026-09-30")
    assert j.tasks(DISCHARGE_REVIEW) == []


def test_late_attendance_older_than_last_does_not_rearm() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-02T09:00")
    j.tick("2026-06-16T09:00")
    j.attend("2026-06-01T09:00")  # late
    j.tick("2026-07-01")
    assert len(j.tasks(DISCHARGE_REVIEW)) == 1


def test_overdue_discharge_review_keeps_its_priority() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.tick("2026-06-16T00:00")
    task = j.task(DISCHARGE_REVIEW)
    assert task.business_status == Business.OVERDUE and task.priority == Priority.URGENT


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
                True,
            )
        )
    assert j.state is not None and j.state.weeks[-1][1] == 300
