"""Program exits and contraindications (rules.md §3–§5): T-EXIT (finished PHP/IOP: always
a step-down and a follow-up), C-DROPOUT (cancelled), C-EXIT-RISK (a safety signal or an
active contraindication), C-CONTRA (psychosis / withdrawal becoming active at an
outpatient level)."""

from __future__ import annotations

import pytest

from pipeline.codes import STEP_DOWN, CareTask, Priority, Status
from tests.unit.core_kit import Journey, statuses, t

U, R, ASAP = Priority.URGENT, Priority.ROUTINE, Priority.ASAP
SAFETY_REVIEW, ENGAGE = CareTask.DISCHARGE_SAFETY, CareTask.ENGAGEMENT
NEXT = {"php": "iop", "iop": "op"}


def at(level: str) -> Journey:
    j = Journey()
    j.enroll("2026-07-06T00:00", level)
    j.attend("2026-07-06T09:00", level, 300)
    return j


# -- T-EXIT -----------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["php", "iop"])
def test_t_exit_refers_one_level_down_with_a_follow_up(level: str) -> None:
    j = at(level)
    step = j.exit("2026-07-24T16:00", level)
    assert j.active() == [("T-EXIT", NEXT[level], STEP_DOWN, R)]
    fu = j.task(CareTask.FOLLOWUP_7D)
    assert (fu.rule, fu.priority, fu.due) == ("C-FOLLOWUP", U, t("2026-08-01T00:00"))
    assert j.tasks(SAFETY_REVIEW) == [] and j.tasks(ENGAGE) == []
    assert (CareTask.RECERT, "C-RECERT", Status.CANCELLED) in statuses(step.outputs)
    assert j.state is not None and j.state.level is None


@pytest.mark.parametrize(
    "risk",
    [
        [("phq9-item9", 2)],  # scenario 16c: an unresolved item 9
        [("cssrs", 2)],
        [("phq9-item9", 1), ("cssrs", 2)],
    ],
)
def test_t_exit_with_a_safety_signal_is_urgent_with_an_exit_risk_review(
    risk: list[tuple[str, int]],
) -> None:
    """v2.2: the riskiest exits need aftercare most: the step-down is made anyway."""
    j = at("iop")
    for inst, value in risk:
        j.assess("2026-07-20T15:00", inst, value)
    j.tick("2026-07-24T00:00")
    j.exit("2026-07-24T16:00", "iop")
    assert ("T-EXIT", "op", STEP_DOWN, U) in j.active()
    review = j.task(SAFETY_REVIEW)
    assert (review.rule, review.priority, review.due) == ("C-EXIT-RISK", U, t("2026-07-25T16:00"))
    assert j.task(CareTask.FOLLOWUP_7D).open


def test_t_exit_with_an_active_contraindication() -> None:
    j = at("php")
    j.condition("2026-07-20T10:00", "withdrawal")
    j.exit("2026-07-24T16:00", "php")
    assert j.active() == [("T-EXIT", "iop", STEP_DOWN, R)]  # no safety signal: routine
    assert j.task(SAFETY_REVIEW).rule == "C-EXIT-RISK"


def test_t_exit_not_over_a_pending_referral() -> None:
    j = at("iop")
    j.assess("2026-07-07T10:00", "phq9", 22)
    j.assess("2026-07-14T10:00", "phq9", 23)  # T-IOP-WORSE → php pending
    j.exit("2026-07-15T16:00", "iop")
    assert j.active() == [("T-IOP-WORSE", "php", "step-up", U)]
    assert j.task(CareTask.FOLLOWUP_7D).open


def test_finished_exit_from_op_has_no_step_down_or_follow_up() -> None:
    j = at("op")
    step = j.exit("2026-07-24T16:00", "op")
    assert step.outputs == [] and j.referrals() == []


# -- C-DROPOUT --------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["php", "iop"])
def test_c_dropout(level: str) -> None:
    j = at(level)
    j.exit("2026-07-24T12:00", level, finished=False)
    review = j.task(ENGAGE)
    assert (review.rule, review.priority, review.due) == ("C-DROPOUT", U, t("2026-07-25T12:00"))
    assert j.referrals() == [] and j.tasks(CareTask.FOLLOWUP_7D) == []
    assert j.tasks(SAFETY_REVIEW) == []


def test_c_dropout_with_a_safety_signal() -> None:
    j = at("iop")
    j.assess("2026-07-20T15:00", "cssrs", 2)
    j.exit("2026-07-24T12:00", "iop", finished=False)
    review = j.task(ENGAGE)
    assert (review.priority, review.due) == (ASAP, t("2026-07-25T12:00"))
    assert j.task(SAFETY_REVIEW).rule == "C-EXIT-RISK"


def test_cancelled_exit_from_op_only_ends_the_level() -> None:
    j = at("op")
    step = j.exit("2026-07-24T12:00", "op", finished=False)
    assert step.outputs == [] and j.state is not None and j.state.level is None


def test_in_bh_care_for_30_days_after_an_exit() -> None:
    j = at("iop")
    j.exit("2026-07-24T12:00", "iop", finished=False)
    j.assess("2026-08-10T10:00", "cssrs", 2)
    assert j.task(CareTask.SAFETY_PLAN).open


# -- C-CONTRA ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "code"),
    [("psychosis", CareTask.CONTRA), ("withdrawal", CareTask.WITHDRAWAL)],
)
@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_c_contra(kind: str, code: str, level: str) -> None:
    j = at(level)
    j.condition("2026-07-08T10:00", kind, ref="Condition/c1")
    task = j.task(code)
    assert (task.rule, task.priority, task.due, task.focus) == (
        "C-CONTRA",
        U,
        t("2026-07-09T10:00"),
        "Condition/c1",
    )


def test_c_contra_at_a_pending_level_but_not_inpatient_or_without_level() -> None:
    j = Journey()
    j.discharge("2026-07-06T10:00")  # effective level iop
    j.condition("2026-07-07T10:00", "psychosis")
    assert j.task(CareTask.CONTRA).open
    j = Journey()
    j.admit("2026-07-06T10:00")
    j.condition("2026-07-07T10:00", "psychosis")
    assert j.tasks() == []
    j = Journey()
    j.condition("2026-07-07T10:00", "psychosis")
    assert j.tasks() == []


def test_c_contra_fires_when_a_kind_becomes_active() -> None:
    j = at("iop")
    j.condition("2026-07-08T10:00", "psychosis", ref="Condition/c1")
    j.complete(CareTask.CONTRA, "2026-07-08T15:00")
    j.condition("2026-07-09T10:00", "psychosis", code="F25.0", ref="Condition/c2")
    assert len(j.tasks(CareTask.CONTRA)) == 1  # the kind was active already
    j.condition("2026-07-10T10:00", "psychosis", active=False, ref="Condition/c1")
    j.condition("2026-07-11T10:00", "psychosis", active=False, ref="Condition/c2")
    j.condition("2026-07-12T10:00", "psychosis", ref="Condition/c3")
    assert [tk.status for tk in j.tasks(CareTask.CONTRA)] == [Status.COMPLETED, Status.REQUESTED]


def test_a_chronic_problem_list_entry_is_not_a_contraindication() -> None:
    """Onset more than contra.recent_days = 14 days before the event that reads it."""
    j = at("iop")
    j.condition("2026-06-01T10:00", "withdrawal")
    assert j.tasks(CareTask.WITHDRAWAL) == []
    j.assess("2026-07-08T10:00", "auditc", 5)
    assert j.task(CareTask.SUD).priority == R


def test_a_recent_contraindication_stops_counting_after_14_days() -> None:
    j = at("iop")
    j.condition("2026-07-08T10:00", "withdrawal")
    j.assess("2026-07-22T10:00", "auditc", 5)  # 14 days: still recent
    assert j.task(CareTask.SUD).priority == U
    j = at("iop")
    j.condition("2026-07-08T10:00", "withdrawal")
    j.assess("2026-07-22T10:01", "auditc", 5)
    assert j.task(CareTask.SUD).priority == R
