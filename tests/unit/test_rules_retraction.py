"""L-RETRACTED (rules.md §6, §7): an applied assessment or condition entered-in-error, or
a later version with another value: it leaves the state; a requested Task it triggered is
cancelled and an active referral it triggered revoked (pending freed, no
C-REFERRAL-FAILED); a Task a person works gets businessStatus source corrected."""

from __future__ import annotations

from pipeline.codes import STEP_UP, Business, CareTask, Priority, Status
from tests.unit.core_kit import Journey, statuses, t

FULFILL, CRISIS = CareTask.FULFILL, CareTask.CRISIS
IN_ERROR, CORRECTED = "source entered in error", "source corrected"


def crisis_at_op() -> Journey:
    """Scenario 15a: a C-SSRS high at OP (crisis Task, stat inpatient referral)."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.assess("2026-06-02T10:00", "cssrs", 3, ref="Observation/c1")
    return j


def test_entered_in_error_withdraws_what_it_triggered() -> None:
    j = crisis_at_op()
    step = j.retract("Observation/c1", "2026-06-02T11:00")
    assert sorted(statuses(step.outputs)) == sorted(
        [
            (CRISIS, "C-CRISIS", Status.CANCELLED),
            (FULFILL, "T-CRISIS", Status.CANCELLED),
            ("SR", "T-CRISIS", Status.REVOKED),
        ]
    )
    assert all(o.status_reason == IN_ERROR for o in step.outputs)
    assert j.tasks(CareTask.REFERRAL_FAILED) == []
    s = j.state
    assert s is not None and s.pending is None and s.obs == () and s.cooldowns == ()
    j.assess("2026-06-03T10:00", "phq9", 16)  # pending was freed
    assert j.active() == [("T-OP-WORSE", "iop", STEP_UP, Priority.URGENT)]


def test_a_task_being_worked_gets_source_corrected() -> None:
    j = crisis_at_op()
    j.update(j.task(CRISIS).id, Status.IN_PROGRESS, "2026-06-02T10:30")
    j.update(j.task(FULFILL).id, Status.ACCEPTED, "2026-06-02T10:40")
    j.retract("Observation/c1", "2026-06-02T11:00")
    for code in (CRISIS, FULFILL):
        task = j.task(code)
        assert task.status != Status.CANCELLED
        assert task.business_status == Business.SOURCE_CORRECTED
        assert task.last_modified == t("2026-06-02T11:00")


def test_retraction_without_a_time_uses_the_latest_event_time() -> None:
    j = crisis_at_op()
    j.attend("2026-06-02T15:00", "op", 45)
    j.retract("Observation/c1")
    assert j.task(CRISIS).last_modified == t("2026-06-02T15:00")


def test_retraction_of_something_never_applied_is_ignored() -> None:
    j = crisis_at_op()
    step = j.retract("Observation/other", "2026-06-02T11:00")
    assert step.ignored and step.outputs == [] and "never applied" in str(step.reason)


def test_corrected_value_withdraws_and_applies_anew() -> None:
    """Scenario 15b: 22 then 23 at IOP → PHP; the 23 is corrected to 13: its referral is
    withdrawn and 22, 13 refer nowhere."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.assess("2026-06-02T10:00", "phq9", 22, ref="Observation/q1")
    j.assess("2026-06-09T10:00", "phq9", 23, ref="Observation/q2")
    assert j.active() == [("T-IOP-WORSE", "php", STEP_UP, Priority.URGENT)]
    step = j.assess("2026-06-09T10:00", "phq9", 13, ref="Observation/q2", version="2")
    assert ("SR", "T-IOP-WORSE", Status.REVOKED) in statuses(step.outputs)
    assert j.task(FULFILL).status_reason == CORRECTED
    assert j.active() == []
    assert j.state is not None
    assert [(o.ref, o.value) for o in j.state.obs] == [
        ("Observation/q1", 22),
        ("Observation/q2", 13),
    ]


def test_corrected_value_that_still_triggers_refers_again() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.assess("2026-06-02T10:00", "phq9", 16, ref="Observation/q1")  # → iop
    j.assess("2026-06-02T10:00", "phq9", 22, ref="Observation/q1", version="2")  # → php
    assert j.active() == [("T-OP-WORSE", "php", STEP_UP, Priority.URGENT)]


def test_a_later_version_with_the_same_value_is_a_no_op() -> None:
    j = crisis_at_op()
    step = j.assess("2026-06-02T10:00", "cssrs", 3, ref="Observation/c1", version="2")
    assert step.ignored and step.outputs == [] and "same value" in str(step.reason)


def test_a_corrected_version_never_applied_is_a_plain_assessment() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "op")
    j.assess("2026-06-02T10:00", "phq9", 16, ref="Observation/q9", version="3")
    assert j.active() == [("T-OP-WORSE", "iop", STEP_UP, Priority.URGENT)]


def test_evidence_read_from_history_is_not_re_decided() -> None:
    """T-DISCHARGE's trigger is the discharge; the PHQ-9 it read is evidence only."""
    j = Journey()
    j.admit("2026-06-01T08:00")
    j.assess("2026-06-03T10:00", "phq9", 22, ref="Observation/q1")
    j.discharge("2026-06-05T10:00", ref="Encounter/e1")
    step = j.retract("Observation/q1", "2026-06-05T12:00")
    assert step.outputs == []
    assert j.active() == [("T-DISCHARGE", "php", "step-down", Priority.URGENT)]


def test_retracted_item9_no_longer_holds_a_step_down() -> None:
    j = Journey()
    j.admit("2026-06-01T08:00")
    j.assess("2026-06-03T10:00", "phq9-item9", 2, ref="Observation/i1")
    j.retract("Observation/i1", "2026-06-04T10:00")
    j.discharge("2026-06-05T10:00")
    assert j.active() == [("T-DISCHARGE", "iop", "step-down", Priority.ROUTINE)]


def test_a_retracted_referral_closes_its_stalled_task() -> None:
    j = crisis_at_op()
    j.tick("2026-06-03T10:00")  # stat: stalled after 24 h
    j.retract("Observation/c1", "2026-06-03T11:00")
    stall = j.task(CareTask.STALLED)
    assert stall.status == Status.CANCELLED and IN_ERROR in str(stall.status_reason)


def test_condition_entered_in_error_cancels_its_contraindication_review() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.condition("2026-06-02T10:00", "psychosis", ref="Condition/p1")
    j.retract("Condition/p1", "2026-06-02T12:00")
    task = j.task(CareTask.CONTRA)
    assert (task.status, task.status_reason) == (Status.CANCELLED, IN_ERROR)
    assert j.state is not None and j.state.contras == ()
