"""Assessment-driven transitions (rules.md §4): T-CRISIS (op/iop/none, never over a pending
PHP or inpatient referral), T-OP-WORSE (PHP at ≥ 20), T-IOP-WORSE (two scores, or one
with a safety signal), T-PHP-BETTER / T-IOP-BETTER (baseline, no signal, no
contraindication), one referral per event, supersession (L-SUPERSEDED, higher priority
kept, never below a pending step-up) and the cool-down."""

from __future__ import annotations

import pytest

from pipeline.codes import STEP_DOWN, STEP_UP, CareTask, Priority, Status
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord
from tests.unit.core_kit import Journey, statuses, t

U, R, S = Priority.URGENT, Priority.ROUTINE, Priority.STAT
FULFILL = CareTask.FULFILL


def at(level: str, when: str = "2026-03-02T00:00") -> Journey:
    j = Journey()
    j.enroll(when, level)
    return j


def new_referrals(step_outputs: list[object]) -> list[ReferralRecord]:
    return [o for o in step_outputs if isinstance(o, ReferralRecord) and o.status == Status.ACTIVE]


# -- T-CRISIS ---------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["op", "iop"])
def test_t_crisis_fires_at_op_and_iop(level: str) -> None:
    j = at(level)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.active() == [("T-CRISIS", "inpatient", STEP_UP, S)]
    task = j.task(FULFILL)
    assert task.due == t("2026-03-05T14:00") and task.target is Level.INPATIENT
    assert "C-SSRS risk high on 2026-03-05" in task.description


def test_t_crisis_not_at_php() -> None:
    """v2.2 reads the level list as written (op, iop, none): a PHP patient gets the stat
    crisis Task; PHP is already daily care."""
    j = at("php")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.active() == [] and j.task(CareTask.CRISIS).priority == S


def test_t_crisis_with_no_level_in_bh_care() -> None:
    """v2.2: from `none` too, for a patient in BH care (here: after an in-scope ED visit)."""
    j = Journey()
    j.ed_visit("2026-03-02T10:00")
    j.assess("2026-03-03T10:00", "cssrs", 3)
    assert j.active() == [("T-CRISIS", "inpatient", STEP_UP, S)]


def test_t_crisis_not_at_inpatient_nor_outside_bh_care() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.outputs == []
    j = Journey()
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.outputs == []


def test_t_crisis_at_pending_effective_level() -> None:
    """After discharge, the effective level is the pending target (§1): IOP here."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.assess("2026-03-09T10:00", "cssrs", 3)
    rules = {(r.rule, r.status) for r in j.referrals()}
    assert rules == {("T-DISCHARGE", Status.REVOKED), ("T-CRISIS", Status.ACTIVE)}


def test_t_crisis_never_revokes_a_pending_php_referral() -> None:
    """Scenario 17: the screener stays high for months after an attempt; a repeat high after
    a discharge to PHP re-surfaces the crisis Task (merged) and leaves the referral."""
    j = Journey()
    j.admit("2026-05-01T09:00")
    j.assess("2026-05-04T10:00", "cssrs", 3)  # during the stay: recorded only
    j.discharge("2026-05-06T12:00")
    assert j.active() == [("T-DISCHARGE", "php", STEP_DOWN, S)]
    j.assess("2026-05-07T10:00", "cssrs", 3)
    j.assess("2026-05-08T10:00", "cssrs", 3)
    assert j.active() == [("T-DISCHARGE", "php", STEP_DOWN, S)]
    crisis = j.task(CareTask.CRISIS)
    assert crisis.open and crisis.priority == S


def test_t_crisis_not_over_a_pending_inpatient_referral() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    first = j.task(FULFILL)
    j.assess("2026-03-05T12:00", "cssrs", 3)
    assert [tk.id for tk in j.tasks(FULFILL)] == [first.id]


# -- T-OP-WORSE -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("inst", "value", "target"),
    [
        ("phq9", 15, "iop"),
        ("phq9", 14, None),
        ("phq9", 19, "iop"),
        ("phq9", 20, "php"),  # v2.2: severe depression at OP goes to PHP
        ("phq9", 27, "php"),
        ("gad7", 15, "iop"),
        ("gad7", 14, None),
        ("gad7", 21, "iop"),
        ("cssrs", 2, "iop"),
        ("cssrs", 1, None),
        ("auditc", 12, None),
        ("phq9-item9", 3, None),
    ],
)
def test_t_op_worse(inst: str, value: int, target: str | None) -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", inst, value)
    assert j.active() == ([("T-OP-WORSE", target, STEP_UP, U)] if target else [])


def test_t_op_worse_not_at_iop() -> None:
    j = at("iop")
    j.assess("2026-03-05T10:00", "phq9", 19)
    j.assess("2026-03-06T10:00", "gad7", 21)
    assert j.active() == []


def test_no_referral_to_pending_target() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "phq9", 16)
    j.assess("2026-03-06T10:00", "gad7", 18)
    assert len(j.referrals()) == 1


def test_step_up_above_a_pending_step_up_supersedes_it() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "phq9", 16)  # → iop
    j.assess("2026-03-06T10:00", "phq9", 22)  # → php
    assert j.active() == [("T-OP-WORSE", "php", STEP_UP, U)]
    old = next(r for r in j.referrals() if r.level is Level.IOP)
    assert old.status == Status.REVOKED


def test_no_step_up_below_a_pending_step_up() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "phq9", 22)  # → php
    j.assess("2026-03-06T10:00", "gad7", 18)  # → iop would be below it
    j.assess("2026-03-06T11:00", "cssrs", 2)
    assert j.active() == [("T-OP-WORSE", "php", STEP_UP, U)] and len(j.referrals()) == 1


# -- T-IOP-WORSE ------------------------------------------------------------------------
def test_t_iop_worse_two_severe_phq9() -> None:
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 21)
    assert j.active() == []
    j.assess("2026-03-10T10:00", "phq9", 23)
    assert j.active() == [("T-IOP-WORSE", "php", STEP_UP, U)]
    text = j.task(FULFILL).description
    assert "PHQ-9 23 on 2026-03-10" in text and "21 on 2026-03-03" in text
    assert len(j.referrals()[0].reasons) == 2


@pytest.mark.parametrize(
    ("before", "fires"),
    [
        ([("phq9-item9", 1)], True),  # an unresolved item 9
        ([("cssrs", 2)], True),
        ([("cssrs", 1)], False),
        ([("phq9-item9", 2), ("cssrs", 1)], False),  # answered before the PHQ-9
        ([], False),
    ],
)
def test_t_iop_worse_one_severe_phq9_with_a_signal(
    before: list[tuple[str, int]], fires: bool
) -> None:
    j = at("iop")
    for k, (inst, value) in enumerate(before):
        j.assess(f"2026-03-03T0{k + 8}:00", inst, value)
    j.assess("2026-03-03T10:00", "phq9", 24)
    assert j.active() == ([("T-IOP-WORSE", "php", STEP_UP, U)] if fires else [])


def test_t_iop_worse_on_an_item9_at_the_time_of_the_phq9() -> None:
    """Evaluated on every PHQ-9, item 9 and C-SSRS event (§7): the item 9 of the same form,
    arriving after the total, completes the rule."""
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 22)
    assert j.active() == []
    j.assess("2026-03-03T10:00", "phq9-item9", 1)
    assert j.active() == [("T-IOP-WORSE", "php", STEP_UP, U)]


def test_t_iop_worse_signal_after_the_phq9_is_not_at_its_time() -> None:
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 22)
    j.assess("2026-03-04T10:00", "phq9-item9", 1)
    assert j.active() == []


def test_t_iop_worse_needs_both_at_this_level() -> None:
    j = Journey()
    j.assess("2026-03-01T10:00", "phq9", 22)  # before the level began
    j.enroll("2026-03-02T00:00", "iop")
    j.assess("2026-03-03T10:00", "phq9", 22)
    assert j.active() == []


def test_t_iop_worse_not_when_one_below() -> None:
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 21)
    j.assess("2026-03-04T10:00", "phq9", 19)
    j.assess("2026-03-05T10:00", "phq9", 20)
    assert j.active() == []


def test_t_iop_worse_late_value_completes_the_pair() -> None:
    j = at("iop")
    j.assess("2026-03-10T10:00", "phq9", 23)
    j.attend("2026-03-11T09:00")
    j.assess("2026-03-03T10:00", "phq9", 21)  # late, older than the clock
    assert j.active() == [("T-IOP-WORSE", "php", STEP_UP, U)]
    assert j.referrals()[0].authored == t("2026-03-03T10:00")


def test_late_value_reads_the_last_two_at_this_level_not_those_before_it() -> None:
    """The last two PHQ-9 at this level are 25 (late, 03-05) and 12 (03-10): no pair, even
    though 21 and 25 were the last two on 03-05."""
    j = at("iop")
    j.assess("2026-03-04T10:00", "phq9", 21)
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.assess("2026-03-05T10:00", "phq9", 25)  # late
    assert j.active() == []


def test_late_value_older_than_the_pair_does_not_decide() -> None:
    j = at("iop")
    j.assess("2026-03-09T10:00", "phq9", 21)
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.assess("2026-03-11T10:00", "phq9", 22)
    j.assess("2026-03-05T10:00", "phq9", 25)  # late and older than the last two
    assert j.active() == []


# -- one referral per event -------------------------------------------------------------
def test_one_referral_per_event_the_most_intensive_wins() -> None:
    """A C-SSRS high at the instant of a PHQ-9 of 24 at IOP: T-IOP-WORSE (php) and T-CRISIS
    (inpatient) both fire on the event; one ServiceRequest, to inpatient."""
    j = at("iop")
    j.assess("2026-03-03T10:00", "phq9", 24)
    step = j.assess("2026-03-03T10:00", "cssrs", 3)
    assert [(r.rule, r.level) for r in new_referrals(step.outputs)] == [
        ("T-CRISIS", Level.INPATIENT)
    ]
    assert len(j.referrals()) == 1


# -- T-PHP-BETTER / T-IOP-BETTER ---------------------------------------------------------
BETTER = [("php", "T-PHP-BETTER", "iop"), ("iop", "T-IOP-BETTER", "op")]


def better(level: str, baseline: tuple[str, int] | None = ("2026-03-02T10:00", 15)) -> Journey:
    j = at(level)
    if baseline is not None:
        j.assess(baseline[0], "phq9", baseline[1])
    return j


@pytest.mark.parametrize(("level", "rule", "target"), BETTER)
def test_better_fires(level: str, rule: str, target: str) -> None:
    j = better(level)
    j.assess("2026-03-03T15:00", "phq9", 9)
    j.assess("2026-03-10T15:00", "phq9", 7)
    assert j.active() == [(rule, target, STEP_DOWN, R)]
    assert "7 days apart" in j.task(FULFILL).description


@pytest.mark.parametrize(
    ("baseline", "fires"),
    [
        (None, False),  # v2.2: no baseline, no improvement to speak of
        (("2026-03-02T10:00", 9), False),  # a baseline must be > 9
        (("2026-02-01T00:00", 16), True),  # 29 days before the level began
        (("2026-01-30T23:00", 16), False),  # 30 days and an hour before
    ],
)
@pytest.mark.parametrize(("level", "rule", "target"), BETTER)
def test_better_needs_a_baseline(
    level: str, rule: str, target: str, baseline: tuple[str, int] | None, fires: bool
) -> None:
    j = Journey()
    if baseline is not None:
        j.assess(baseline[0], "phq9", baseline[1])  # before the level: recorded only
    j.enroll("2026-03-02T00:00", level)
    j.assess("2026-03-03T15:00", "phq9", 9)
    j.assess("2026-03-10T15:00", "phq9", 7)
    assert j.active() == ([(rule, target, STEP_DOWN, R)] if fires else [])


@pytest.mark.parametrize("level", ["php", "iop"])
def test_better_needs_seven_days(level: str) -> None:
    j = better(level)
    j.assess("2026-03-03T15:00", "phq9", 9)
    j.assess("2026-03-10T14:59", "phq9", 7)
    assert j.active() == []


@pytest.mark.parametrize("level", ["php", "iop"])
def test_better_needs_both_below_ten(level: str) -> None:
    j = better(level)
    j.assess("2026-03-03T15:00", "phq9", 10)
    j.assess("2026-03-10T15:00", "phq9", 7)
    assert j.active() == []


@pytest.mark.parametrize(
    "signal",
    [
        [("cssrs", 2)],
        [("cssrs", 3)],
        [("phq9-item9", 1)],
        # answered by a later C-SSRS, but there was a signal since the level began
        [("phq9-item9", 1), ("cssrs", 0)],
    ],
)
def test_better_blocked_by_a_signal_since_the_level_began(signal: list[tuple[str, int]]) -> None:
    j = better("php")
    for k, (inst, value) in enumerate(signal):
        j.assess(f"2026-03-04T1{k}:00", inst, value)
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert j.active() == []


@pytest.mark.parametrize("code", [CareTask.SI_SCREEN, CareTask.SAFETY_PLAN])
def test_better_after_the_signal_was_answered_by_a_completed_task(code: str) -> None:
    """L-SCREEN-DONE: the item 9 / moderate signal it answered no longer holds step-downs."""
    j = better("php")
    inst, value = ("phq9-item9", 2) if code == CareTask.SI_SCREEN else ("cssrs", 2)
    j.assess("2026-03-04T10:00", inst, value)
    j.complete(code, "2026-03-04T16:00")
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert j.active() == [("T-PHP-BETTER", "iop", STEP_DOWN, R)]


def test_better_blocked_by_an_older_unresolved_signal() -> None:
    """§7: "no safety signal since effective since" includes the state at effective since."""
    j = Journey()
    j.assess("2026-02-20T10:00", "cssrs", 2)  # before the level: recorded only
    j.enroll("2026-03-02T00:00", "php")
    j.assess("2026-03-02T10:00", "phq9", 15)
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert j.active() == []


def test_better_allows_an_older_signal_answered_before_the_level() -> None:
    j = Journey()
    j.assess("2026-02-20T10:00", "cssrs", 2)
    j.assess("2026-02-25T10:00", "cssrs", 1)  # the latest C-SSRS at effective since: low
    j.enroll("2026-03-02T00:00", "php")
    j.assess("2026-03-02T10:00", "phq9", 15)
    j.assess("2026-03-04T10:00", "cssrs", 1)
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert j.active() == [("T-PHP-BETTER", "iop", STEP_DOWN, R)]


def test_better_blocked_by_an_active_contraindication() -> None:
    j = better("iop")
    j.condition("2026-03-04T10:00", "psychosis")
    j.assess("2026-03-05T15:00", "phq9", 9)
    j.assess("2026-03-12T15:00", "phq9", 7)
    assert j.active() == []


def test_no_referral_to_effective_level() -> None:
    """Pending IOP after discharge: an improvement test at IOP may go to OP, never to IOP."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.assess("2026-03-09T10:00", "phq9", 16)  # effective level iop: T-OP-WORSE does not apply
    assert [r.rule for r in j.referrals()] == ["T-DISCHARGE"]
    j.assess("2026-03-10T10:00", "phq9", 8)
    j.assess("2026-03-17T10:00", "phq9", 6)
    assert j.active() == [("T-IOP-BETTER", "op", STEP_DOWN, R)]


# -- supersession -----------------------------------------------------------------------
def test_supersession_chain() -> None:
    j = at("op")
    j.assess("2026-03-05T10:00", "cssrs", 2)  # C-SAFETY; T-OP-WORSE → iop
    first = j.task(FULFILL)
    step = j.assess("2026-03-06T09:00", "cssrs", 3)  # T-CRISIS → inpatient, supersedes
    assert statuses(step.outputs) == [
        (CareTask.CRISIS, "C-CRISIS", Status.REQUESTED),
        (FULFILL, "T-OP-WORSE", Status.CANCELLED),
        ("SR", "T-OP-WORSE", Status.REVOKED),
        ("SR", "T-CRISIS", Status.ACTIVE),
        (FULFILL, "T-CRISIS", Status.REQUESTED),
    ]
    old = next(tk for tk in j.tasks(FULFILL) if tk.id == first.id)
    assert old.status_reason == "superseded by the T-CRISIS referral to inpatient"
    assert old.last_modified == t("2026-03-06T09:00")
    j.admit("2026-03-06T20:00")
    j.assess("2026-03-10T09:00", "cssrs", 1)  # reassessed before discharge
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.discharge("2026-03-12T10:00")
    assert sorted((r.rule, r.status) for r in j.referrals()) == [
        ("T-CRISIS", Status.COMPLETED),
        ("T-DISCHARGE", Status.ACTIVE),
        ("T-OP-WORSE", Status.REVOKED),
    ]
    assert j.state is not None and j.state.pending is not None
    assert j.state.pending.level is Level.IOP
    assert len([tk for tk in j.tasks(FULFILL) if tk.open]) == 1


def test_superseding_referral_keeps_the_higher_priority() -> None:
    """An urgent PHP step-down superseded by a routine T-PHP-BETTER to IOP stays urgent."""
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "phq9", 22)
    j.discharge("2026-03-08T15:00")  # → php, urgent
    j.assess("2026-03-09T10:00", "phq9", 8)
    j.assess("2026-03-16T10:00", "phq9", 6)
    assert j.active() == [("T-PHP-BETTER", "iop", STEP_DOWN, U)]
    assert j.open(FULFILL).priority == U


def test_supersession_at_pending_level_step_up() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # pending iop
    j.assess("2026-03-09T10:00", "phq9", 22)
    j.assess("2026-03-12T10:00", "phq9", 24)
    assert j.active() == [("T-IOP-WORSE", "php", STEP_UP, U)]
    assert j.task(CareTask.FOLLOWUP_7D).status == Status.REQUESTED


def test_assessment_ties_in_time() -> None:
    """Two assessments at the same instant: both apply, in arrival order."""
    j = at("op")
    j.assess("2026-03-05T10:00", "cssrs", 2)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.active() == [("T-CRISIS", "inpatient", STEP_UP, S)]


def test_crisis_admission_without_reassessment_steps_down_to_php() -> None:
    """The C-SSRS high that led to the admission is still the latest at discharge:
    T-DISCHARGE refers to PHP (stat) with a discharge safety review (v1: no referral)."""
    j = at("op")
    j.assess("2026-03-06T10:00", "cssrs", 3)
    j.admit("2026-03-06T20:00")
    j.discharge("2026-03-12T10:00")
    assert j.active() == [("T-DISCHARGE", "php", STEP_DOWN, S)]
    assert j.task(CareTask.DISCHARGE_SAFETY).priority == S


# -- cool-down --------------------------------------------------------------------------
def rejected_iop() -> Journey:
    """At OP: PHQ-9 10, then GAD-7 16 → IOP (urgent), rejected on 03-04 10:00."""
    j = at("op")
    j.assess("2026-03-02T10:00", "phq9", 10)
    j.assess("2026-03-03T10:00", "gad7", 16)
    j.update(j.task(FULFILL).id, Status.REJECTED, "2026-03-04T10:00")
    return j


def test_cool_down_after_a_rejected_step_up() -> None:
    j = rejected_iop()
    assert j.task(CareTask.REFERRAL_FAILED).status == Status.REQUESTED
    j.assess("2026-03-06T10:00", "gad7", 17)
    j.assess("2026-03-07T10:00", "cssrs", 2)  # a lifetime-moderate C-SSRS, every week
    j.assess("2026-03-14T10:00", "cssrs", 2)
    j.assess("2026-03-15T10:00", "phq9", 14)
    assert j.active() == []


def test_cool_down_ends_after_14_days() -> None:
    j = rejected_iop()
    j.assess("2026-03-18T09:59", "gad7", 17)
    assert j.active() == []
    j.assess("2026-03-18T10:00", "gad7", 17)
    assert j.active() == [("T-OP-WORSE", "iop", STEP_UP, U)]


def test_cool_down_yields_to_a_phq9_rise_of_5() -> None:
    j = rejected_iop()
    j.assess("2026-03-07T10:00", "phq9", 15)  # 10 when the referral was made: +5
    assert j.active() == [("T-OP-WORSE", "iop", STEP_UP, U)]


def test_cool_down_is_per_level() -> None:
    j = rejected_iop()
    j.assess("2026-03-07T10:00", "phq9", 21)  # → php, not cooling
    assert j.active() == [("T-OP-WORSE", "php", STEP_UP, U)]


def test_cool_down_after_an_expired_referral() -> None:
    j = at("op")
    j.assess("2026-03-03T10:00", "gad7", 16)
    j.tick("2026-04-02T10:00")  # 30 days: expired, failed
    assert j.task(FULFILL).status == Status.FAILED
    j.assess("2026-04-05T10:00", "gad7", 17)
    assert j.active() == []


def test_cool_down_does_not_hold_a_step_down() -> None:
    j = rejected_iop()
    j.admit("2026-03-05T10:00")
    j.assess("2026-03-07T10:00", "phq9", 12)
    j.discharge("2026-03-08T10:00")
    assert j.active() == [("T-DISCHARGE", "iop", STEP_DOWN, R)]
