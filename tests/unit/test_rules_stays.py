"""Stays, ED visits and deaths (rules.md §2, §3, §5, §6): scope (out-of-scope stays change
nothing except an expired discharge), one admission per Encounter, C-READMIT,
C-ED-FOLLOWUP, C-ED-REVIEW, C-DEATH-REVIEW (death events only), L-DECEASED and its
reversal (record-correction-review)."""

from __future__ import annotations

import pytest

from pipeline.codes import CareTask, Priority, Status
from pipeline.levels import Level
from pipeline.scope import OUT_OF_SCOPE_STAY
from tests.unit.core_kit import Journey, statuses, t

U = Priority.URGENT


# -- scope ------------------------------------------------------------------------------
def test_out_of_scope_stay_changes_nothing() -> None:
    """A knee replacement: no level, no referral, no follow-up, no readmission window."""
    j = Journey()
    step = j.admit("2026-03-01T08:00", bh=False, ref="Encounter/knee")
    assert step.ignored and OUT_OF_SCOPE_STAY in str(step.reason)
    step = j.discharge("2026-03-05T10:00", bh=False, ref="Encounter/knee")
    assert step.ignored and OUT_OF_SCOPE_STAY in str(step.reason)
    assert j.outputs == []
    assert j.state is not None and j.state.level is None and j.state.last_discharge is None
    j.admit("2026-03-10T08:00")  # an in-scope admission 5 days later is no readmission
    assert j.tasks(CareTask.READMISSION) == []


def test_out_of_scope_discharge_without_admission_changes_nothing() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "phq9", 16)  # pending iop
    step = j.discharge("2026-03-04T10:00", bh=False)
    assert step.ignored and step.outputs == []
    assert j.active() == [("T-OP-WORSE", "iop", "step-up", U)]
    assert j.state is not None and j.state.level is Level.OP


def test_out_of_scope_expired_discharge_is_a_death() -> None:
    """Whatever the scope, `exp` applies L-DECEASED (§2); it opens no death review."""
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "auditc", 6)
    j.admit("2026-03-04T08:00", bh=False, ref="Encounter/hip")
    step = j.discharge("2026-03-05T10:00", "exp", bh=False, ref="Encounter/hip")
    assert statuses(step.outputs) == [(CareTask.SUD, "C-SUD", Status.CANCELLED)]
    assert j.task(CareTask.SUD).status_reason == "deceased on 2026-03-05"
    assert j.state is not None and j.state.deceased
    assert j.tasks(CareTask.DEATH_REVIEW) == []


def test_in_scope_discharge_after_an_out_of_scope_admission() -> None:
    """§7: applies the admission effects first (here: the pending step-up is cancelled,
    the medical-stay suspension ends), then T-DISCHARGE."""
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "phq9", 16)  # pending iop
    j.admit("2026-03-04T08:00", bh=False, ref="Encounter/e1")
    assert j.state is not None and j.state.medical is not None
    j.discharge("2026-03-08T10:00", bh=True, ref="Encounter/e1")
    old = next(r for r in j.referrals() if r.rule == "T-OP-WORSE")
    assert (old.status, old.status_reason) == (Status.REVOKED, "readmitted on 2026-03-08")
    assert ("T-DISCHARGE", "iop", "step-down", Priority.ROUTINE) in j.active()
    assert j.task(CareTask.FOLLOWUP_7D).open


def test_discharge_in_scope_by_its_admission() -> None:
    """§2: a discharge is in scope when the admission of the same Encounter id was."""
    j = Journey()
    j.admit("2026-03-01T08:00", bh=True, ref="Encounter/e1")
    step = j.discharge("2026-03-08T15:00", bh=False, ref="Encounter/e1")
    assert not step.ignored
    assert j.active() == [("T-DISCHARGE", "iop", "step-down", Priority.ROUTINE)]


def test_one_admission_per_encounter() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00", ref="Encounter/e1", eid="e1-v1")
    step = j.admit("2026-03-01T08:00", ref="Encounter/e1", eid="e1-v2")
    assert step.ignored and "admission already applied" in str(step.reason)


# -- C-READMIT --------------------------------------------------------------------------
def test_c_readmit() -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    step = j.admit("2026-03-20T08:00", ref="Encounter/e2")
    review = j.task(CareTask.READMISSION)
    assert (review.rule, review.priority, review.authored, review.due, review.focus) == (
        "C-READMIT",
        U,
        t("2026-03-20T08:00"),
        t("2026-03-21T08:00"),
        "Encounter/e2",
    )
    assert "12 days after the discharge on 2026-03-08" in review.description
    assert (CareTask.READMISSION, "C-READMIT", Status.REQUESTED) in statuses(step.outputs)


@pytest.mark.parametrize(
    ("disp", "bh", "readmit"),
    [("home", True, True), ("aadvice", True, True), ("psy", True, False), ("home", False, False)],
)
def test_c_readmit_counts_in_scope_discharges_to_the_community(
    disp: str, bh: bool, readmit: bool
) -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00", disp, bh=bh)
    j.admit("2026-03-20T08:00")
    assert len(j.tasks(CareTask.READMISSION)) == (1 if readmit else 0)


@pytest.mark.parametrize(
    ("admitted", "readmit"), [("2026-04-07T23:59", True), ("2026-04-08T00:00", False)]
)
def test_c_readmit_window_in_local_dates(admitted: str, readmit: bool) -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    j.admit(admitted)
    assert len(j.tasks(CareTask.READMISSION)) == (1 if readmit else 0)


def test_an_ed_visit_opens_no_readmission_window() -> None:
    j = Journey()
    j.ed_visit("2026-03-01T08:00")
    j.admit("2026-03-05T08:00")
    assert j.tasks(CareTask.READMISSION) == []


# -- ED visits --------------------------------------------------------------------------
def test_c_ed_followup_and_no_level_change() -> None:
    j = Journey()
    step = j.ed_visit("2026-03-08T20:00", ref="Encounter/ed1")
    fu = j.task(CareTask.FOLLOWUP_ED_7D)
    assert (fu.rule, fu.priority, fu.due, fu.focus) == (
        "C-ED-FOLLOWUP",
        U,
        t("2026-03-16T00:00"),
        "Encounter/ed1",
    )
    assert statuses(step.outputs) == [(CareTask.FOLLOWUP_ED_7D, "C-ED-FOLLOWUP", Status.REQUESTED)]
    assert j.state is not None and j.state.level is None and j.state.pending is None


def test_out_of_scope_ed_visit_is_ignored() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    step = j.ed_visit("2026-03-08T20:00", bh=False)
    assert step.ignored and step.outputs == []


@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_c_ed_review_at_an_outpatient_level(level: str) -> None:
    """Scenario 18b: an ED visit for self-poisoning during IOP is a level-of-care question."""
    j = Journey()
    j.enroll("2026-06-01T00:00", level)
    j.ed_visit("2026-06-03T22:00", ref="Encounter/ed1")
    review = j.task(CareTask.LEVEL_REVIEW)
    assert (review.rule, review.priority, review.due, review.focus) == (
        "C-ED-REVIEW",
        U,
        t("2026-06-04T22:00"),
        "Encounter/ed1",
    )


def test_c_ed_review_at_a_pending_level_but_not_without_one() -> None:
    j = Journey()
    j.discharge("2026-06-01T12:00")  # effective level iop
    j.ed_visit("2026-06-03T22:00")
    assert j.task(CareTask.LEVEL_REVIEW).open
    j = Journey()
    j.ed_visit("2026-06-03T22:00")
    assert j.tasks(CareTask.LEVEL_REVIEW) == []


def test_one_ed_visit_per_encounter() -> None:
    j = Journey()
    j.ed_visit("2026-06-03T22:00", ref="Encounter/ed1", eid="v1")
    step = j.ed_visit("2026-06-03T22:00", ref="Encounter/ed1", eid="v2")
    assert step.ignored and step.outputs == [] and len(j.tasks()) == 1


def test_readmission_cancels_the_ed_follow_up() -> None:
    j = Journey()
    j.ed_visit("2026-06-03T22:00")
    j.admit("2026-06-05T10:00")
    fu = j.task(CareTask.FOLLOWUP_ED_7D)
    assert (fu.status, fu.status_reason) == (Status.CANCELLED, "readmitted on 2026-06-05")
    j.tick("2026-07-30")
    assert j.tasks(CareTask.FOLLOWUP_MISSED) == []


# -- deaths -----------------------------------------------------------------------------
def test_death_while_holding_a_level() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.assess("2026-03-02T10:00", "cssrs", 2)  # safety-plan
    step = j.die("2026-03-05T10:00")
    review = j.task(CareTask.DEATH_REVIEW)
    assert (review.rule, review.priority, review.status, review.due) == (
        "C-DEATH-REVIEW",
        U,
        Status.REQUESTED,
        t("2026-03-06T10:00"),
    )
    cancelled = [o for o in step.outputs if o.status == Status.CANCELLED]
    assert {o.code for o in cancelled} == {CareTask.SAFETY_PLAN, CareTask.RECERT}
    assert all(o.status_reason == "deceased on 2026-03-05" for o in cancelled)
    assert j.state is not None and j.state.deceased
    for later in (j.no_show("2026-03-06T09:00"), j.assess("2026-03-06T10:00", "cssrs", 3)):
        assert later.outputs == [] and later.ignored
    assert j.tick("2026-04-30").outputs == []
    assert j.task(CareTask.DEATH_REVIEW).open  # it is not cancelled by its own death


@pytest.mark.parametrize(
    ("when", "review"), [("2026-04-07T15:00", True), ("2026-04-08T15:01", False)]
)
def test_death_within_30_days_after_a_discharge(when: str, review: bool) -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    j.update(j.task(CareTask.FULFILL).id, Status.CANCELLED, "2026-03-09T10:00")
    j.die(when)
    assert len(j.tasks(CareTask.DEATH_REVIEW)) == (1 if review else 0)
    assert j.state is not None and j.state.deceased


def test_death_outside_bh_care_opens_no_review() -> None:
    j = Journey()
    j.assess("2026-03-01T10:00", "phq9", 5)
    step = j.die("2026-03-05T10:00")
    assert step.outputs == [] and j.state is not None and j.state.deceased


def test_death_without_a_time() -> None:
    """§8: the fallback is the patient's latest event time; a patient never seen is
    ignored with a reason."""
    j = Journey()
    step = j.die()
    assert step.ignored and step.reason is not None and (j.state is None or not j.state.deceased)
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.attend("2026-03-03T10:00", "op", 45)
    j.die()
    review = j.task(CareTask.DEATH_REVIEW)
    assert review.authored == t("2026-03-03T10:00")


def test_death_reversed_by_the_patient_without_deceased() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.die("2026-03-05T10:00", ref="Patient/p1")
    step = j.patient_record("2026-03-06T09:00", deceased=False, ref="Patient/p1")
    fix = j.task(CareTask.RECORD_CORRECTION)
    assert (fix.rule, fix.priority, fix.status) == ("L-DECEASED", U, Status.REQUESTED)
    assert statuses(step.outputs) == [(CareTask.RECORD_CORRECTION, "L-DECEASED", Status.REQUESTED)]
    assert j.state is not None and not j.state.deceased
    assert j.task(CareTask.RECERT).status == Status.CANCELLED  # nothing is restored
    j.no_show("2026-03-09T09:00")  # the rules act again
    assert j.task(CareTask.NO_SHOW).open


def test_a_patient_without_deceased_of_another_resource_does_not_reverse() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.discharge("2026-03-05T10:00", "exp", ref="Encounter/e1")
    step = j.patient_record("2026-03-06T09:00", deceased=False)
    assert step.outputs == [] and j.state is not None and j.state.deceased


def test_death_reversed_by_the_death_encounter_entered_in_error() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.discharge("2026-03-05T10:00", "exp", ref="Encounter/e1")
    j.retract("Encounter/e1", "2026-03-06T09:00")
    assert j.state is not None and not j.state.deceased
    assert j.task(CareTask.RECORD_CORRECTION).open


def test_patient_display_name_is_carried_on_later_outputs() -> None:
    j = Journey()
    j.patient_record("2026-03-01T00:00", display="Ada Example")
    j.enroll("2026-03-02T00:00", "iop")
    assert j.task(CareTask.RECERT).display == "Ada Example"
