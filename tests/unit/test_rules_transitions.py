"""Assessment-driven transitions: T-CRISIS, T-OP-WORSE, T-IOP-WORSE, T-PHP-BETTER,
T-IOP-BETTER; supersession (L-SUPERSEDED) and the no-referral cases."""

from __future__ import annotations

import pytest

from pipeline.levels import Level
from tests.unit.core_kit import Journey, t


def at(level: str, when: str = "2026-03-02T00:00") -> Journey:
    j = Journey()
    j.enroll(when, level)
    return j


def active(j: Journey) -> list[tuple[str, str, str, str]]:
    return [
        (r.rule, r.level.value, r.direction, r.priority)
        for r in j.referrals()
        if r.status == "active"
    ]


# -- T-CRISIS ---------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_t_crisis_fires_below_inpatient(level: str) -> None:
    j = at(level)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert active(j) == [("T-CRISIS", "inpatient", "step-up", "stat")]
    task = j.task("fulfill")
    assert task.due == t("2026-03-05T14:00")
    assert task.description.startswith("C-SSRS risk high on 2026-03-05 at")


def test_t_crisis_not_at_inpatient_nor_without_level() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.referrals() == [] and j.task("crisis-evaluation").status == "requested"
    j = Journey()
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.referrals() == [] and j.task("crisis-evaluation").status == "requested"


def test_t_crisis_at_pending_effective_level() -> None:
    """After discharge, the effective level is the pending target (rules.md §1)."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.assess("2026-03-09T10:00", "cssrs", 3)
    rules = {(r.rule, r.status) for r in j.referrals()}
    assert rules == {("T-DISCHARGE", "revoked"), ("T-CRISIS", "active")}


# -- T-OP-WORSE -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("inst", "value", "fires"),
    [
        ("phq9", 15, True),
        ("phq9", 14, False),
        ("gad7", 15, True),
        ("gad7", 14, False),
        ("cssrs", 2, True),
        ("cssrs", 1, False),
        ("auditc", 12, False),
    ],
)
def test_t_op_worse(inst: str, value: int, fires: bool) -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", inst, value)
    assert active(j) == ([("T-OP-WORSE", "iop", "step-up", "urgent")] if fires else [])


def test_t_op_worse_not_at_iop() -> None:
    j = at("iop")
    j.assess("2026-03-05T10:00", "phq9", 19)
    j.assess("2026-03-06T10:00", "gad7", 21)
    assert active(j) == []


def test_no_referral_to_pending_target() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "phq9", 16)
    j.assess("2026-03-06T10:00", "gad7", 18)
    assert len(j.referrals()) == 1


# -- T-IOP-WORSE ------------------------------------------------------------------------
def test_t_iop_worse_two_severe_phq9() -> None:
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 21)
    assert active(j) == []
    j.assess("2026-03-10T10:00", "phq9", 23)
    assert active(j) == [("T-IOP-WORSE", "php", "step-up", "urgent")]
    assert j.task("fulfill").description == (
        "PHQ-9 23 on 2026-03-10 and 21 on 2026-03-03 are both ≥ 20 at IOP; refer to PHP."
    )
    assert len(j.referrals()[0].reasons) == 2


def test_t_iop_worse_needs_both_at_this_level() -> None:
    j = Journey()
    j.assess("2026-03-01T10:00", "phq9", 22)  # before the level began
    j.enroll("2026-03-02T00:00", "iop")
    j.assess("2026-03-03T10:00", "phq9", 22)
    assert active(j) == []


def test_t_iop_worse_not_when_one_below() -> None:
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 21)
    j.assess("2026-03-04T10:00", "phq9", 19)
    j.assess("2026-03-05T10:00", "phq9", 20)
    assert active(j) == []


def test_t_iop_worse_late_value_completes_the_pair() -> None:
    j = at("iop")
    j.assess("2026-03-10T10:00", "phq9", 23)
    j.attend("2026-03-11T09:00")
    j.assess("2026-03-03T10:00", "phq9", 21)  # late, older than the clock
    assert active(j) == [("T-IOP-WORSE", "php", "step-up", "urgent")]
    assert j.referrals()[0].authored == t("2026-03-03T10:00")


def test_late_value_older_than_the_pair_does_not_decide() -> None:
    j = at("iop")
    j.assess("2026-03-09T10:00", "phq9", 21)
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.assess("2026-03-11T10:00", "phq9", 22)
    j.assess("2026-03-05T10:00", "phq9", 25)  # late and older than the last two
    assert active(j) == []


# -- T-PHP-BETTER / T-IOP-BETTER ---------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "rule", "target"), [("php", "T-PHP-BETTER", "iop"), ("iop", "T-IOP-BETTER", "op")]
)
def test_better_fires(level: str, rule: str, target: str) -> None:
    j = at(level)
    j.assess("2026-03-03T15:00", "phq9", 9)
    j.assess("2026-03-10T15:00", "phq9", 7)
    assert active(j) == [(rule, target, "step-down", "routine")]
    assert "taken 7 days apart" in j.task("fulfill").description


@pytest.mark.parametrize("level", ["php", "iop"])
def test_better_needs_seven_days(level: str) -> None:
    j = at(level)
    j.assess("2026-03-03T15:00", "phq9", 9)
    j.assess("2026-03-10T14:59", "phq9", 7)
    assert active(j) == []


@pytest.mark.parametrize("level", ["php", "iop"])
def test_better_needs_both_below_ten(level: str) -> None:
    j = at(level)
    j.assess("2026-03-03T15:00", "phq9", 10)
    j.assess("2026-03-10T15:00", "phq9", 7)
    assert active(j) == []


@pytest.mark.parametrize("risk", [2, 3])
def test_better_blocked_by_cssrs_since_level(risk: int) -> None:
    j = at("php")
    j.assess("2026-03-04T10:00", "cssrs", risk)
    for r in j.referrals():
        j.update(r.task_id, "cancelled", "2026-03-04T11:00")
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert active(j) == []


def test_better_allows_cssrs_before_level_and_low_risk() -> None:
    j = Journey()
    j.assess("2026-02-20T10:00", "cssrs", 2)
    j.enroll("2026-03-02T00:00", "php")
    j.assess("2026-03-04T10:00", "cssrs", 1)
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert active(j) == [("T-PHP-BETTER", "iop", "step-down", "routine")]


def test_no_referral_to_effective_level() -> None:
    """Pending IOP after discharge: an improvement test at IOP may go to OP, never to IOP."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.assess("2026-03-09T10:00", "phq9", 16)  # effective level iop: T-OP-WORSE does not apply
    assert [r.rule for r in j.referrals()] == ["T-DISCHARGE"]
    j.assess("2026-03-10T10:00", "phq9", 8)
    j.assess("2026-03-17T10:00", "phq9", 6)
    assert active(j) == [("T-IOP-BETTER", "op", "step-down", "routine")]


# -- supersession -----------------------------------------------------------------------
def test_supersession_chain() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "cssrs", 2)  # T-OP-WORSE → iop
    first = j.task("fulfill")
    step = j.assess("2026-03-06T10:00", "cssrs", 3)  # T-CRISIS → inpatient, supersedes
    kinds = [(type(o).__name__, o.rule, o.status) for o in step.outputs]
    assert kinds == [
        ("TaskRecord", "C-CRISIS", "requested"),
        ("TaskRecord", "T-OP-WORSE", "cancelled"),
        ("ReferralRecord", "T-OP-WORSE", "revoked"),
        ("ReferralRecord", "T-CRISIS", "active"),
        ("TaskRecord", "T-CRISIS", "requested"),
    ]
    old = next(tk for tk in j.tasks("fulfill") if tk.id == first.id)
    assert old.status_reason == "superseded by the T-CRISIS referral to inpatient"
    assert old.last_modified == t("2026-03-06T10:00")
    j.admit("2026-03-06T20:00")
    j.assess("2026-03-10T09:00", "cssrs", 1)  # reassessed before discharge
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.discharge("2026-03-12T10:00")
    statuses = sorted((r.rule, r.status) for r in j.referrals())
    assert statuses == [
        ("T-CRISIS", "completed"),
        ("T-DISCHARGE", "active"),
        ("T-OP-WORSE", "revoked"),
    ]
    assert j.state is not None and j.state.pending is not None
    assert j.state.pending.level is Level.IOP
    assert len([tk for tk in j.tasks("fulfill") if tk.open]) == 1


def test_supersession_at_pending_level_step_up() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.assess("2026-03-09T10:00", "phq9", 22)
    j.assess("2026-03-12T10:00", "phq9", 24)
    assert active(j) == [("T-IOP-WORSE", "php", "step-up", "urgent")]
    assert j.task("follow-up-7d").status == "requested"


def test_assessment_ties_in_time() -> None:
    """Two assessments at the same instant: both apply, in arrival order."""
    j = at("op")
    j.assess("2026-03-05T10:00", "cssrs", 2)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert active(j) == [("T-CRISIS", "inpatient", "step-up", "stat")]


def test_crisis_admission_without_reassessment_blocks_step_down() -> None:
    """The C-SSRS high that led to the admission is still the latest at discharge: no
    step-down referral, a new crisis evaluation instead (T-DISCHARGE's C-SSRS rule)."""
    j = at("op")
    j.assess("2026-03-06T10:00", "cssrs", 3)
    j.admit("2026-03-06T20:00")
    crisis = next(tk for tk in j.tasks("crisis-evaluation") if tk.open)
    j.update(crisis.id, "completed", "2026-03-07T10:00")
    j.discharge("2026-03-12T10:00")
    assert active(j) == []
    assert [tk.status for tk in j.tasks("crisis-evaluation")] == ["completed", "requested"]
