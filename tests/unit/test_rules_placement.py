"""Level changes (rules.md §2): enrollment (explicit, by attendance, by a completed
referral), program exit, L-ENROLLED and C-RECERT."""

from __future__ import annotations

import pytest

from pipeline.levels import Level
from tests.unit.core_kit import Journey, t


@pytest.mark.parametrize(("level", "days"), [("iop", 60), ("php", 18)])
def test_c_recert_on_enrollment(level: str, days: int) -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", level)
    task = j.task("recertification")
    assert (task.rule, task.priority, task.status) == ("C-RECERT", "routine", "requested")
    assert (task.due - task.authored).days == days
    assert task.authored == t("2026-03-02T00:00")
    assert j.state is not None and j.state.level is Level(level)


@pytest.mark.parametrize("level", ["op", "inpatient"])
def test_no_recert_at_other_levels(level: str) -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", level)
    assert j.tasks() == []


def test_enrollment_completes_pending_to_same_level() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.enroll("2026-03-09T00:00", "iop")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == ("completed", "enrolled at IOP on 2026-03-09")
    assert j.task("fulfill").status == "completed"
    assert j.task("recertification").status == "requested"


def test_enrollment_elsewhere_cancels_pending() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.enroll("2026-03-09T00:00", "php")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == ("revoked", "enrolled at PHP on 2026-03-09")
    assert j.task("fulfill").status == "cancelled"
    assert (j.task("recertification").due - t("2026-03-09T00:00")).days == 18


def test_enrollment_at_held_level_is_a_no_op() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    step = j.enroll("2026-03-05T00:00", "iop")
    assert step.outputs == []
    assert j.state is not None and j.state.level_since == t("2026-03-02T00:00")


def test_attendance_enrolls_when_no_level() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.attend("2026-03-10T14:00", "php", 300)
    assert j.state is not None and j.state.level is Level.PHP
    assert j.state.level_since == t("2026-03-10T14:00")
    assert j.task("fulfill").status == "cancelled"
    assert j.task("recertification").due == t("2026-03-28T14:00")


def test_attendance_does_not_change_held_level() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    j.attend("2026-03-03T09:00", "php")
    assert j.state is not None and j.state.level is Level.IOP
    assert len(j.tasks("recertification")) == 1


def test_attendance_without_level_or_before_level_none_does_not_enroll() -> None:
    j = Journey()
    j.attend("2026-03-03T09:00", None)
    assert j.state is not None and j.state.level is None
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.attend("2026-03-07T09:00", "iop")  # late: a session during the stay
    assert j.state is not None and j.state.level is None


def test_program_exit() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    j.exit("2026-03-05T00:00", "php")  # not the current level: nothing
    assert j.state is not None and j.state.level is Level.IOP
    j.exit("2026-03-06T00:00", "iop")
    assert j.state.level is None and j.state.level_since == t("2026-03-06T00:00")
    assert j.state.inactive_due is None and j.state.week_due is None
    j.tick("2026-06-01")
    assert {tk.code for tk in j.tasks()} == {"recertification"}


def test_referral_completed_by_case_manager_is_enrollment() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    task = j.task("fulfill")
    j.update(task.id, "accepted", "2026-03-09T09:00")
    step = j.update(task.id, "completed", "2026-03-10T09:00", "first session booked")
    kinds = [(type(o).__name__, o.rule, o.status) for o in step.outputs]
    assert kinds == [
        ("TaskRecord", "T-DISCHARGE", "completed"),
        ("ReferralRecord", "T-DISCHARGE", "completed"),
        ("TaskRecord", "C-RECERT", "requested"),
    ]
    assert j.task("fulfill").status_reason == "first session booked"
    assert j.state is not None and j.state.level is Level.IOP and j.state.pending is None
    assert j.state.level_since == t("2026-03-10T09:00")
