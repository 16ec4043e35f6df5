"""Discharge (rules.md §3, §4, §5): T-DISCHARGE v2 (lookback, C-SSRS high, item 9,
contraindication, readmission raise), C-DISCHARGE-RISK, C-FOLLOWUP and its path
(C-FOLLOWUP-MISSED, L-FOLLOWUP-LATE, C-FOLLOWUP-LOST), C-AMA, transfer, expired,
L-READMITTED, one discharge per Encounter, a discharge without a known admission."""

from __future__ import annotations

import pytest

from pipeline.codes import STEP_DOWN, Business, CareTask, Priority, Status
from pipeline.levels import Level
from tests.unit.core_kit import Journey, statuses, t

FU, MISSED, LOST = CareTask.FOLLOWUP_7D, CareTask.FOLLOWUP_MISSED, CareTask.LOST


def discharged(*assessments: tuple[str, str, int], disp: str = "home") -> Journey:
    """Admitted 03-01, assessed during the stay (recorded only: the inpatient team acts),
    discharged 2026-03-08 15:00."""
    j = Journey()
    j.admit("2026-03-01T08:00")
    for when, inst, value in assessments:
        j.assess(when, inst, value)
    j.discharge("2026-03-08T15:00", disp)
    return j


# -- T-DISCHARGE ------------------------------------------------------------------------
U, R, S = Priority.URGENT, Priority.ROUTINE, Priority.STAT


@pytest.mark.parametrize(
    ("assessments", "level", "priority"),
    [
        ([("2026-03-05T10:00", "phq9", 20)], "php", U),
        ([("2026-03-05T10:00", "phq9", 27)], "php", U),
        ([("2026-03-05T10:00", "phq9", 19)], "iop", R),
        ([("2026-03-05T10:00", "phq9", 10)], "iop", R),
        ([("2026-03-05T10:00", "phq9", 9)], "op", R),
        ([("2026-03-05T10:00", "phq9", 0)], "op", R),
        ([], "iop", R),  # no PHQ-9
        ([("2026-03-05T10:00", "phq9", 4), ("2026-03-06T10:00", "cssrs", 2)], "php", U),
        ([("2026-03-05T10:00", "cssrs", 1)], "iop", R),
        ([("2026-03-05T10:00", "gad7", 21)], "iop", R),
        # v2.2: C-SSRS high refers to PHP, stat (v1 made no referral)
        ([("2026-03-05T10:00", "phq9", 3), ("2026-03-06T10:00", "cssrs", 3)], "php", S),
        ([("2026-03-06T10:00", "cssrs", 3), ("2026-03-07T10:00", "phq9", 22)], "php", S),
        # an unresolved item 9 ≥ 1 is a safety signal (v1 ignored it)
        ([("2026-03-05T10:00", "phq9", 4), ("2026-03-05T10:00", "phq9-item9", 1)], "php", U),
        ([("2026-03-05T10:00", "cssrs", 1), ("2026-03-06T10:00", "phq9-item9", 2)], "php", U),
        # a C-SSRS after the item 9, or at the same instant, answers it
        ([("2026-03-05T10:00", "phq9-item9", 2), ("2026-03-06T10:00", "cssrs", 0)], "iop", R),
        ([("2026-03-05T10:00", "phq9-item9", 2), ("2026-03-05T10:00", "cssrs", 1)], "iop", R),
        ([("2026-03-05T10:00", "phq9-item9", 0), ("2026-03-05T11:00", "phq9", 5)], "op", R),
    ],
)
def test_t_discharge_level_by_assessments(
    assessments: list[tuple[str, str, int]], level: str, priority: str
) -> None:
    j = discharged(*assessments)
    [sr] = j.referrals()
    task = j.task(CareTask.FULFILL)
    assert (sr.rule, sr.level.value, sr.direction, sr.status) == (
        "T-DISCHARGE",
        level,
        STEP_DOWN,
        Status.ACTIVE,
    )
    assert (task.priority, sr.priority, task.target) == (priority, priority, Level(level))
    assert task.focus == f"ServiceRequest/{sr.id}" and sr.task_id == task.id
    assert task.authored == sr.authored == t("2026-03-08T15:00")
    hours = {S: 4, U: 24, R: 7 * 24}[priority]
    assert (task.due - task.authored).total_seconds() == hours * 3600


def test_assessments_during_the_stay_are_recorded_only() -> None:
    """§2: during an inpatient stay the inpatient team acts; nothing opens until discharge."""
    j = Journey()
    j.admit("2026-03-01T08:00")
    for inst, value in (("cssrs", 3), ("cssrs", 2), ("phq9-item9", 3), ("auditc", 10)):
        assert j.assess("2026-03-03T10:00", inst, value).outputs == []
    assert j.outputs == []


def test_t_discharge_uses_latest_phq9_within_lookback() -> None:
    j = discharged(("2026-02-01T10:00", "phq9", 25), ("2026-03-05T10:00", "phq9", 5))
    assert [r.level for r in j.referrals()] == [Level.OP]
    j = discharged(("2026-02-05T10:00", "phq9", 25))  # 31 days before: outside the lookback
    assert [r.level for r in j.referrals()] == [Level.IOP]
    j = discharged(("2026-02-06T15:00", "phq9", 25))  # exactly 30 days: inside
    assert [r.level for r in j.referrals()] == [Level.PHP]


def test_t_discharge_cssrs_high_outside_the_lookback_does_not_count() -> None:
    j = discharged(("2026-02-01T10:00", "cssrs", 3), ("2026-03-05T10:00", "phq9", 5))
    assert j.active() == [("T-DISCHARGE", "op", STEP_DOWN, R)]
    assert j.tasks(CareTask.DISCHARGE_SAFETY) == []


def test_t_discharge_ignores_assessments_after_discharge() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-09T10:00", "phq9", 25)  # recorded before the discharge arrives
    j.discharge("2026-03-08T15:00")
    assert [r.level for r in j.referrals()] == [Level.IOP]


def test_t_discharge_description_and_reasons() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "phq9", 22, ref="Observation/q1")
    j.discharge("2026-03-08T15:00", ref="Encounter/e1")
    [sr] = j.referrals()
    assert sr.reasons == ("Encounter/e1", "Observation/q1")
    text = j.task(CareTask.FULFILL).description
    assert "PHP" in text and "2026-03-08" in text and "PHQ-9 22 on 2026-03-05" in text


def test_cssrs_high_then_low_before_discharge_refers_by_the_latest() -> None:
    j = discharged(("2026-03-03T10:00", "cssrs", 3), ("2026-03-07T10:00", "cssrs", 1))
    assert [r.level for r in j.referrals()] == [Level.IOP]
    assert j.tasks(CareTask.DISCHARGE_SAFETY) == []


def test_item9_answered_by_a_completed_screen_does_not_hold_the_step_down() -> None:
    """L-SCREEN-DONE resolves the item 9 signal; T-DISCHARGE then reads no signal."""
    j = Journey()
    j.enroll("2026-02-20T00:00", "op")
    j.assess("2026-02-25T10:00", "phq9-item9", 1)
    j.complete(CareTask.SI_SCREEN, "2026-02-25T16:00")
    j.admit("2026-03-01T08:00")
    j.discharge("2026-03-08T15:00")
    assert j.active() == [("T-DISCHARGE", "iop", STEP_DOWN, R)]
    j = Journey()
    j.enroll("2026-02-20T00:00", "op")
    j.assess("2026-02-25T10:00", "phq9-item9", 1)  # never answered
    j.admit("2026-03-01T08:00")
    j.discharge("2026-03-08T15:00")
    assert j.active() == [("T-DISCHARGE", "php", STEP_DOWN, U)]


@pytest.mark.parametrize(
    ("onset", "kind", "active", "level"),
    [
        ("2026-03-03T10:00", "psychosis", True, "php"),
        ("2026-03-03T10:00", "withdrawal", True, "php"),
        ("2026-02-22T16:00", "psychosis", True, "php"),  # onset + 14 days ≥ the discharge
        ("2026-02-20T10:00", "psychosis", True, "iop"),  # 16 days: a problem-list entry
        ("2026-03-03T10:00", "psychosis", False, "iop"),  # recorded inactive
    ],
)
def test_t_discharge_active_contraindication_refers_to_php(
    onset: str, kind: str, active: bool, level: str
) -> None:
    """contra.recent_days = 14 days of the event that reads it (the discharge)."""
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.condition(onset, kind, active=active)
    j.discharge("2026-03-08T15:00")
    assert [r.level.value for r in j.referrals()] == [level]
    if level == "php":
        assert j.task(CareTask.FULFILL).priority == U


def test_contraindication_ended_by_a_later_version_does_not_count() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.condition("2026-03-02T10:00", "withdrawal", ref="Condition/w1")
    j.condition("2026-03-06T10:00", "withdrawal", active=False, ref="Condition/w1")
    j.discharge("2026-03-08T15:00")
    assert [r.level for r in j.referrals()] == [Level.IOP]


# -- C-DISCHARGE-RISK -------------------------------------------------------------------
def test_c_discharge_risk_with_cssrs_high() -> None:
    j = discharged(("2026-03-05T10:00", "cssrs", 3))
    review = j.task(CareTask.DISCHARGE_SAFETY)
    assert (review.rule, review.priority, review.status) == (
        "C-DISCHARGE-RISK",
        S,
        Status.REQUESTED,
    )
    assert review.authored == t("2026-03-08T15:00") and review.due == t("2026-03-08T19:00")
    assert j.active() == [("T-DISCHARGE", "php", STEP_DOWN, S)]
    assert j.task(FU).status == Status.REQUESTED


def test_c_discharge_risk_is_not_blocked_by_an_open_crisis_task() -> None:
    """A crisis Task opened at OP is still open at discharge: the safety review is its own
    code, so it opens all the same (v1 dropped it)."""
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "cssrs", 3)  # C-CRISIS + T-CRISIS to inpatient
    crisis = j.task(CareTask.CRISIS)
    j.admit("2026-03-02T20:00")  # completes the inpatient referral
    j.discharge("2026-03-08T15:00")
    assert j.task(CareTask.CRISIS).id == crisis.id and j.task(CareTask.CRISIS).open
    assert j.task(CareTask.DISCHARGE_SAFETY).priority == S
    assert ("T-DISCHARGE", "php", STEP_DOWN, S) in j.active()


# -- readmission raise ------------------------------------------------------------------
def test_t_discharge_readmission_raises_one_level() -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    j.update(j.task(CareTask.FULFILL).id, Status.CANCELLED, "2026-03-09T09:00")
    j.admit("2026-03-20T08:00")  # 12 days later
    j.assess("2026-03-22T10:00", "phq9", 5)
    j.discharge("2026-03-25T12:00")
    assert j.active() == [("T-DISCHARGE", "iop", STEP_DOWN, U)]  # op, raised; urgent
    assert "readmitted" in j.open(CareTask.FULFILL).description


@pytest.mark.parametrize(("phq9", "level"), [(12, "php"), (22, "php")])
def test_t_discharge_readmission_never_above_php(phq9: int, level: str) -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    j.update(j.task(CareTask.FULFILL).id, Status.CANCELLED, "2026-03-09T09:00")
    j.admit("2026-03-30T08:00")
    j.assess("2026-04-01T10:00", "phq9", phq9)
    j.discharge("2026-04-03T12:00")
    assert j.active() == [("T-DISCHARGE", level, STEP_DOWN, U)]


@pytest.mark.parametrize(
    ("admitted", "raised"),
    [("2026-04-07T23:00", True), ("2026-04-08T01:00", False)],  # 30 and 31 days
)
def test_t_discharge_readmission_window_in_dates(admitted: str, raised: bool) -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00")
    j.update(j.task(CareTask.FULFILL).id, Status.CANCELLED, "2026-03-09T09:00")
    j.admit(admitted)
    j.assess("2026-04-09T10:00", "phq9", 5)
    j.discharge("2026-04-10T12:00")
    assert j.active() == [("T-DISCHARGE", "iop" if raised else "op", STEP_DOWN, U if raised else R)]


def test_transfer_out_opens_no_readmission_window() -> None:
    j = Journey()
    j.stay("2026-03-01T08:00", "2026-03-08T15:00", "psy")
    j.admit("2026-03-10T08:00")
    j.assess("2026-03-12T10:00", "phq9", 5)
    j.discharge("2026-03-14T12:00")
    assert j.tasks(CareTask.READMISSION) == []
    assert j.active() == [("T-DISCHARGE", "op", STEP_DOWN, R)]


# -- C-FOLLOWUP and its path ------------------------------------------------------------
def test_c_followup_due_end_of_day_7() -> None:
    j = discharged()
    fu = j.task(FU)
    assert (fu.rule, fu.priority, fu.status) == ("C-FOLLOWUP", U, Status.REQUESTED)
    assert fu.due == t("2026-03-16T00:00")
    assert fu.authored == t("2026-03-08T15:00")


def test_c_followup_missed_fires_at_due() -> None:
    j = discharged()
    j.tick("2026-03-15T23:59")
    assert j.task(FU).status == Status.REQUESTED and j.tasks(MISSED) == []
    step = j.tick("2026-03-16T00:00")
    assert statuses(step.outputs) == [
        (FU, "C-FOLLOWUP", Status.FAILED),
        (MISSED, "C-FOLLOWUP-MISSED", Status.REQUESTED),
    ]
    missed, fu = j.task(MISSED), j.task(FU)
    assert missed.authored == fu.last_modified == t("2026-03-16T00:00")
    assert missed.due == t("2026-03-17T00:00") and missed.priority == U
    assert missed.focus == f"Task/{fu.id}"
    assert not fu.overdue  # follow-up-7d never goes overdue: the miss closes it (§7)


def test_c_followup_missed_fires_before_an_event_at_due() -> None:
    """A visit at 00:00 on day 8 comes after the deadline (contract §8)."""
    j = discharged()
    step = j.attend("2026-03-16T00:00", "iop")
    rules = [o.rule for o in step.outputs if o.rule.startswith("C-FOLLOWUP")]
    assert rules[:2] == ["C-FOLLOWUP", "C-FOLLOWUP-MISSED"]
    assert j.task(FU).status == Status.FAILED
    # ... and that day-8 visit is the late follow-up (L-FOLLOWUP-LATE)
    missed = j.task(MISSED)
    assert (missed.status, missed.status_reason) == (
        Status.COMPLETED,
        "seen on day 8 after the discharge",
    )


def test_no_followup_missed_when_met() -> None:
    j = discharged()
    j.attend("2026-03-15T23:59", "op")
    j.tick("2026-04-30")
    assert j.task(FU).status == Status.COMPLETED
    assert j.tasks(MISSED) == [] and j.tasks(LOST) == []


@pytest.mark.parametrize(("day", "when"), [(8, "2026-03-16T10:00"), (30, "2026-04-07T23:59")])
def test_l_followup_late(day: int, when: str) -> None:
    j = discharged()
    j.attend(when, "op")
    missed = j.task(MISSED)
    assert (missed.status, missed.last_modified) == (Status.COMPLETED, t(when))
    assert missed.status_reason == f"seen on day {day} after the discharge"
    j.tick("2026-05-01")
    assert j.tasks(LOST) == []


def test_a_session_without_service_codes_is_no_follow_up() -> None:
    """§2 (v2.2): a lab draw on day 3 is not a follow-up visit."""
    j = discharged()
    j.attend("2026-03-11T09:00", None, 20, bh=False)
    assert j.task(FU).status == Status.REQUESTED
    j.tick("2026-03-16T00:00")
    assert j.task(FU).status == Status.FAILED


def test_c_followup_lost_at_the_end_of_day_30() -> None:
    j = discharged()
    j.tick("2026-04-07T23:59")
    assert j.tasks(LOST) == []
    missed = j.task(MISSED)
    assert missed.open and missed.business_status == Business.OVERDUE
    assert missed.priority == U  # lateness never raises priority
    step = j.tick("2026-04-08T00:00")
    assert [(o.code, o.status) for o in step.outputs] == [
        (MISSED, Status.FAILED),
        (LOST, Status.REQUESTED),
    ]
    lost = j.task(LOST)
    assert (lost.rule, lost.priority, lost.authored, lost.due) == (
        "C-FOLLOWUP-LOST",
        U,
        t("2026-04-08T00:00"),
        t("2026-04-09T00:00"),
    )
    assert lost.focus == f"Task/{missed.id}"
    j.attend("2026-04-09T10:00", "op")  # day 32: too late to complete anything
    assert j.task(LOST).open


def test_follow_up_path_after_the_missed_task_is_closed_by_hand() -> None:
    """C-FOLLOWUP-LOST needs follow-up-missed open at the end of day 30."""
    j = discharged()
    j.tick("2026-03-16T00:00")
    j.complete(MISSED, "2026-03-18T10:00")
    j.tick("2026-04-20")
    assert j.tasks(LOST) == []


def test_c_ama() -> None:
    j = discharged(disp="aadvice")
    ama = j.task(CareTask.AMA)
    assert (ama.rule, ama.priority, ama.due) == ("C-AMA", U, t("2026-03-09T15:00"))
    assert j.task(FU).status == Status.REQUESTED
    assert [r.level for r in j.referrals()] == [Level.IOP]
    assert discharged().tasks(CareTask.AMA) == []


def test_transfer_makes_no_referral_or_followup() -> None:
    j = discharged(("2026-03-05T10:00", "phq9", 25), disp="psy")
    assert j.outputs == []
    assert j.state is not None and j.state.level is None


def test_discharge_without_admission_applies_admission_effects() -> None:
    j = Journey()
    j.enroll("2026-02-01T00:00", "op")
    j.assess("2026-02-10T10:00", "phq9", 16)  # T-OP-WORSE: pending iop
    j.update(j.task(CareTask.FULFILL).id, Status.ACCEPTED, "2026-02-10T12:00")
    j.discharge("2026-03-08T15:00")
    old, new = sorted(j.referrals(), key=lambda r: r.authored)
    assert (old.rule, old.status, old.status_reason) == (
        "T-OP-WORSE",
        Status.REVOKED,
        "readmitted on 2026-03-08",
    )
    assert (new.rule, new.status) == ("T-DISCHARGE", Status.ACTIVE)


def test_one_discharge_per_encounter() -> None:
    """A re-sent or reopened Encounter (a new version: another event id) applies nothing
    again and says why."""
    j = Journey()
    j.admit("2026-03-01T08:00", ref="Encounter/e1")
    j.discharge("2026-03-08T15:00", ref="Encounter/e1", eid="e1-v2")
    before = j.state
    step = j.discharge("2026-03-08T15:00", ref="Encounter/e1", eid="e1-v3")
    assert step.ignored and step.outputs == [] and "discharge already applied" in str(step.reason)
    assert before is not None and step.state.tasks == before.tasks
    assert step.state.pending == before.pending


# -- L-READMITTED -----------------------------------------------------------------------
def test_l_readmitted_cancels_pending_and_followup() -> None:
    j = discharged()
    j.admit("2026-03-10T20:00")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == (Status.REVOKED, "readmitted on 2026-03-10")
    assert j.task(CareTask.FULFILL).status == Status.CANCELLED
    assert j.task(FU).status == Status.CANCELLED
    j.tick("2026-05-01")
    assert j.tasks(MISSED) == [] and j.tasks(LOST) == []
    assert j.state is not None and j.state.level is Level.INPATIENT


def test_l_readmitted_cancels_follow_up_missed() -> None:
    """FUH counts the last discharge only (§3, §7)."""
    j = discharged()
    j.tick("2026-03-17T00:00")
    step = j.admit("2026-03-20T08:00")
    assert (MISSED, "C-FOLLOWUP-MISSED", Status.CANCELLED) in statuses(step.outputs)
    j.tick("2026-05-01")
    assert j.tasks(LOST) == []


def test_l_readmitted_completes_referral_to_inpatient() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    j.admit("2026-03-05T18:00")
    [sr] = j.referrals()
    assert (sr.rule, sr.status) == ("T-CRISIS", Status.COMPLETED)
    assert j.task(CareTask.FULFILL).status == Status.COMPLETED


def test_readmission_then_new_discharge_refers_again() -> None:
    j = discharged()
    j.admit("2026-03-10T20:00")
    j.assess("2026-03-12T10:00", "phq9", 3)
    j.discharge("2026-03-14T10:00")
    # PHQ-9 3 → OP, one level up for the readmission (v1: OP) → IOP, urgent
    assert j.active() == [("T-DISCHARGE", "iop", STEP_DOWN, U)]
    assert [tk.status for tk in j.tasks(FU)] == [Status.CANCELLED, Status.REQUESTED]


# -- expired ----------------------------------------------------------------------------
def test_expired_discharge_cancels_everything_and_silences_patient() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "auditc", 8)
    j.assess("2026-03-03T10:00", "phq9", 16)  # pending iop
    j.tick("2026-03-10T05:00")
    step = j.discharge("2026-03-10T06:00", "exp")
    assert {o.status for o in step.outputs} == {Status.CANCELLED, Status.REVOKED}
    assert all(tk.status == Status.CANCELLED for tk in j.tasks())
    assert all(r.status == Status.REVOKED for r in j.referrals())
    assert all("deceased on 2026-03-10" in str(o.status_reason) for o in step.outputs)
    # an in-hospital death (exp discharge) opens no death review: C-DEATH-REVIEW is for
    # death events (§3: "that is L-DECEASED only")
    assert j.tasks(CareTask.DEATH_REVIEW) == []
    assert j.state is not None and j.state.deceased
    for later in (
        j.no_show("2026-03-12T10:00"),
        j.assess("2026-03-12T10:00", "cssrs", 3),
        j.admit("2026-03-13T10:00"),
        j.tick("2026-06-01"),
    ):
        assert later.outputs == []


def test_deceased_followup_deadline_does_not_fire() -> None:
    j = discharged()
    j.discharge("2026-03-09T06:00", "exp")
    assert j.task(FU).status == Status.CANCELLED
    assert j.tick("2026-04-01").outputs == []


def test_late_discharge_after_a_visit_in_the_window_is_met() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.attend("2026-03-10T09:00", None)  # a BH visit with no level: no enrollment
    j.discharge("2026-03-08T15:00")  # late
    fu = j.task(FU)
    assert (fu.status, fu.last_modified) == (Status.COMPLETED, t("2026-03-10T09:00"))
    j.tick("2026-04-01")
    assert j.tasks(MISSED) == []


def test_late_discharge_after_a_day_0_session_is_not_met() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.attend("2026-03-08T18:00", "op")  # day 0: the discharge date does not count
    j.discharge("2026-03-08T15:00")
    assert j.task(FU).status == Status.REQUESTED


def test_late_ed_visit_after_a_session_the_same_day_is_met() -> None:
    """FUM: a session on day 0–7 after the ED visit, even one that arrived first."""
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.attend("2026-03-08T22:00", "op", 45)
    j.ed_visit("2026-03-08T20:00")
    fu = j.task(CareTask.FOLLOWUP_ED_7D)
    assert (fu.status, fu.last_modified) == (Status.COMPLETED, t("2026-03-08T22:00"))
