"""Level changes (rules.md §3): enrollment (explicit, by attendance, by a completed
referral), L-ENROLLED (a bridge session or enrollment never closes a pending step-up;
attending at the pending target enrolls), level-bound Tasks closed on a level change and
on a program exit, C-RECERT and its repeats."""

from __future__ import annotations

import pytest

from pipeline.codes import STEP_DOWN, STEP_UP, CareTask, Priority, Status
from pipeline.levels import Level
from tests.unit.core_kit import Journey, statuses, t

FULFILL, RECERT = CareTask.FULFILL, CareTask.RECERT
U, S = Priority.URGENT, Priority.STAT


def step_up_pending(target: str) -> Journey:
    """At OP since 03-02 with a pending step-up: PHQ-9 22 → PHP, or C-SSRS high → inpatient."""
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    if target == "php":
        j.assess("2026-03-03T10:00", "phq9", 22)
    else:
        j.assess("2026-03-03T10:00", "cssrs", 3)
    return j


# -- C-RECERT ---------------------------------------------------------------------------
@pytest.mark.parametrize(("level", "days"), [("iop", 60), ("php", 18)])
def test_c_recert_on_enrollment(level: str, days: int) -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", level)
    task = j.task(RECERT)
    assert (task.rule, task.priority, task.status) == (
        "C-RECERT",
        Priority.ROUTINE,
        Status.REQUESTED,
    )
    assert (task.due - task.authored).days == days
    assert task.authored == t("2026-03-02T00:00")
    assert j.state is not None and j.state.level is Level(level)


@pytest.mark.parametrize("level", ["op", "inpatient"])
def test_no_recert_at_other_levels(level: str) -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", level)
    assert j.tasks() == []


def test_recert_disabled() -> None:
    from tests.unit.core_kit import rules

    j = Journey(cfg=rules(recert={"enabled": False}))
    j.enroll("2026-03-02T00:00", "iop")
    assert j.tasks() == []


@pytest.mark.parametrize(
    ("level", "completed", "next_due"),
    [
        ("iop", "2026-04-20T10:00", "2026-06-30T00:00"),  # early: after the due (05-01)
        ("iop", "2026-05-10T10:00", "2026-06-30T00:00"),
        ("iop", "2026-07-02T10:00", "2026-08-29T00:00"),  # after the second point
        ("php", "2026-03-19T10:00", "2026-04-19T00:00"),  # 18 days, then every 30
        ("php", "2026-03-25T10:00", "2026-04-19T00:00"),
        ("php", "2026-04-25T10:00", "2026-05-19T00:00"),
    ],
)
def test_c_recert_again_when_completed(level: str, completed: str, next_due: str) -> None:
    """The next due is the first schedule point after both the completion and the
    completed Task's due (§7), while the level is held."""
    j = Journey()
    j.enroll("2026-03-02T00:00", level)
    first = j.task(RECERT)
    j.update(first.id, Status.COMPLETED, completed)
    again = j.open(RECERT)
    assert again.id != first.id and again.rule == "C-RECERT"
    assert again.due == t(next_due) and again.authored == t(completed)
    assert again.focus == f"Task/{first.id}"


def test_recert_completed_after_the_level_changed_does_not_repeat() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    first = j.task(RECERT)
    j.update(first.id, Status.IN_PROGRESS, "2026-03-05T10:00")
    j.enroll("2026-03-10T00:00", "op")
    assert j.task(RECERT).status == Status.CANCELLED
    assert j.tasks(RECERT) == [j.task(RECERT)]


# -- enrollment and the pending referral (L-ENROLLED) -----------------------------------
def test_enrollment_completes_pending_to_same_level() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.enroll("2026-03-09T00:00", "iop")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == (Status.COMPLETED, "enrolled at IOP on 2026-03-09")
    assert j.task(FULFILL).status == Status.COMPLETED
    assert j.task(RECERT).status == Status.REQUESTED


def test_enrollment_elsewhere_cancels_a_pending_step_down() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop (step-down)
    j.enroll("2026-03-09T00:00", "php")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == (Status.REVOKED, "enrolled at PHP on 2026-03-09")
    assert j.task(FULFILL).status == Status.CANCELLED
    assert (j.task(RECERT).due - t("2026-03-09T00:00")).days == 18


@pytest.mark.parametrize(("target", "bridge"), [("php", "op"), ("php", "iop"), ("inpatient", "op"),
                                                ("inpatient", "php")])  # fmt: skip
def test_bridge_enrollment_never_closes_a_pending_step_up(target: str, bridge: str) -> None:
    j = step_up_pending(target)
    j.enroll("2026-03-04T00:00", bridge)
    [sr] = j.referrals()
    assert (sr.level.value, sr.direction, sr.status) == (target, STEP_UP, Status.ACTIVE)
    assert j.state is not None and j.state.level is Level(bridge)


def test_enrollment_at_the_step_up_target_completes_it() -> None:
    j = step_up_pending("php")
    j.enroll("2026-03-04T00:00", "php")
    assert j.referrals()[0].status == Status.COMPLETED


def test_enrollment_above_a_pending_step_up_cancels_it() -> None:
    j = step_up_pending("php")
    j.enroll("2026-03-04T00:00", "inpatient")
    sr = j.referrals()[0]
    assert (sr.status, sr.status_reason) == (Status.REVOKED, "enrolled at inpatient on 2026-03-04")


def test_enrollment_at_held_level_is_a_no_op() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    step = j.enroll("2026-03-05T00:00", "iop")
    assert step.outputs == []
    assert j.state is not None and j.state.level_since == t("2026-03-02T00:00")


# -- attendance (§3 `attended` at L) ----------------------------------------------------
@pytest.mark.parametrize("level", ["op", "iop"])
def test_bridge_session_never_closes_a_pending_stat_inpatient_referral(level: str) -> None:
    """v1: a 45-minute OP visit cancelled a pending stat inpatient referral."""
    j = step_up_pending("inpatient")
    j.attend("2026-03-04T15:00", level, 45)
    assert j.active() == [("T-CRISIS", "inpatient", STEP_UP, S)]
    assert j.state is not None and j.state.level is Level.OP


def test_attending_at_the_pending_target_enrolls_whatever_the_level() -> None:
    """Scenario 12b: the first PHP session completes the PHP step-up of an OP patient."""
    j = step_up_pending("php")
    j.attend("2026-03-04T15:00", "op", 45)  # a bridge: counts, changes nothing
    j.enroll("2026-03-05T00:00", "op")
    j.attend("2026-03-06T09:00", "php", 300)
    sr = j.referrals()[0]
    assert (sr.status, sr.status_reason) == (Status.COMPLETED, "enrolled at PHP on 2026-03-06")
    assert j.state is not None and j.state.level is Level.PHP
    assert j.state.level_since == t("2026-03-06T09:00")
    assert j.task(RECERT).due == t("2026-03-24T09:00")


def test_attendance_enrolls_when_no_level() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.attend("2026-03-10T14:00", "php", 300)  # above the pending target
    assert j.state is not None and j.state.level is Level.PHP
    assert j.state.level_since == t("2026-03-10T14:00")
    assert j.task(FULFILL).status == Status.CANCELLED
    assert j.task(RECERT).due == t("2026-03-28T14:00")


def test_attendance_below_the_pending_target_does_not_enroll() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.attend("2026-03-10T14:00", "op", 45)
    assert j.state is not None and j.state.level is None
    assert j.active() == [("T-DISCHARGE", "iop", STEP_DOWN, Priority.ROUTINE)]
    assert j.task(CareTask.FOLLOWUP_7D).status == Status.COMPLETED  # but it is a follow-up


def test_attendance_with_no_level_and_no_pending_enrolls() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.exit("2026-03-05T00:00", "op")
    j.attend("2026-03-06T10:00", "op", 45)
    assert j.state is not None and j.state.level is Level.OP
    assert j.state.level_since == t("2026-03-06T10:00")


def test_attendance_does_not_change_held_level() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    j.attend("2026-03-03T09:00", "php")
    assert j.state is not None and j.state.level is Level.IOP
    assert len(j.tasks(RECERT)) == 1


def test_attendance_without_level_or_before_level_none_does_not_enroll() -> None:
    j = Journey()
    j.attend("2026-03-03T09:00", None)
    assert j.state is not None and j.state.level is None
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.attend("2026-03-07T09:00", "iop")  # late: a session during the stay
    assert j.state is not None and j.state.level is None


# -- level-bound Tasks ------------------------------------------------------------------
def with_level_bound_tasks() -> Journey:
    """At IOP since Monday 06-01 with nothing attended: by 06-16 recertification,
    intensity-review (2 weeks), discharge-review (14 days) and a safety plan are open."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.tick("2026-06-15T12:00")
    j.assess("2026-06-15T13:00", "cssrs", 2)
    assert {CareTask.INTENSITY, CareTask.DISCHARGE_REVIEW, RECERT} <= j.codes(open_only=True)
    return j


def test_level_change_cancels_level_bound_tasks() -> None:
    j = with_level_bound_tasks()
    step = j.enroll("2026-06-16T00:00", "php")
    closed = {(code, status) for code, _, status in statuses(step.outputs)}
    assert {
        (RECERT, Status.CANCELLED),
        (CareTask.INTENSITY, Status.CANCELLED),
        (CareTask.DISCHARGE_REVIEW, Status.CANCELLED),
    } <= closed
    cancelled = [o for o in step.outputs if o.status == Status.CANCELLED]
    assert all(o.status_reason == "level changed to PHP on 2026-06-16" for o in cancelled)
    assert j.open(CareTask.SAFETY_PLAN).status == Status.REQUESTED  # safety Tasks stay
    assert j.open(RECERT).due == t("2026-07-04T00:00")  # the PHP recertification


def test_program_exit_cancels_level_bound_tasks() -> None:
    j = with_level_bound_tasks()
    j.exit("2026-06-16T10:00", "iop", finished=False)
    for code in (RECERT, CareTask.INTENSITY, CareTask.DISCHARGE_REVIEW):
        task = j.task(code)
        assert (task.status, task.status_reason) == (
            Status.CANCELLED,
            "program ended on 2026-06-16",
        )
    assert j.open(CareTask.SAFETY_PLAN).status == Status.REQUESTED
    assert j.state is not None and j.state.level is None
    assert j.state.inactive_due is None and j.state.week_due is None


def test_program_exit_from_op_closes_level_bound_tasks() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.tick("2026-05-31T00:00")  # 90 days: C-OP-INACTIVE
    step = j.exit("2026-06-02T00:00", "op")
    assert statuses(step.outputs) == [
        (CareTask.DISCHARGE_REVIEW, "C-OP-INACTIVE", Status.CANCELLED)
    ]
    assert j.referrals() == []  # no T-EXIT from OP


def test_program_exit_at_a_level_not_held_changes_nothing() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    step = j.exit("2026-03-05T00:00", "php")
    assert step.ignored and step.outputs == [] and step.reason is not None
    assert j.state is not None and j.state.level is Level.IOP


def test_referral_completed_by_case_manager_is_enrollment() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    task = j.task(FULFILL)
    j.update(task.id, Status.ACCEPTED, "2026-03-09T09:00")
    step = j.update(task.id, Status.COMPLETED, "2026-03-10T09:00", "first session booked")
    assert statuses(step.outputs) == [
        (FULFILL, "T-DISCHARGE", Status.COMPLETED),
        ("SR", "T-DISCHARGE", Status.COMPLETED),
        (RECERT, "C-RECERT", Status.REQUESTED),
    ]
    assert j.task(FULFILL).status_reason == "first session booked"
    assert j.state is not None and j.state.level is Level.IOP and j.state.pending is None
    assert j.state.level_since == t("2026-03-10T09:00")


def test_admission_keeps_level_since_when_already_inpatient() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.admit("2026-03-02T08:00")  # another Encounter while inpatient
    assert j.state is not None and j.state.level_since == t("2026-03-01T08:00")
    assert U  # priority constants used above
