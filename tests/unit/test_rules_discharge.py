"""Discharge: T-DISCHARGE, C-FOLLOWUP, C-FOLLOWUP-MISSED, C-AMA, L-DECEASED, L-READMITTED,
transfer, C-CRISIS at discharge, discharge without a known admission."""

from __future__ import annotations

import pytest

from pipeline.levels import Level
from tests.unit.core_kit import Journey, t


def discharged(*assessments: tuple[str, str, int], disp: str = "home") -> Journey:
    j = Journey()
    j.admit("2026-03-01T08:00")
    for when, inst, value in assessments:
        j.assess(when, inst, value)
    j.discharge("2026-03-08T15:00", disp)
    return j


@pytest.mark.parametrize(
    ("assessments", "level", "priority"),
    [
        ([("2026-03-05T10:00", "phq9", 20)], "php", "urgent"),
        ([("2026-03-05T10:00", "phq9", 27)], "php", "urgent"),
        ([("2026-03-05T10:00", "phq9", 19)], "iop", "routine"),
        ([("2026-03-05T10:00", "phq9", 10)], "iop", "routine"),
        ([("2026-03-05T10:00", "phq9", 9)], "op", "routine"),
        ([("2026-03-05T10:00", "phq9", 0)], "op", "routine"),
        ([], "iop", "routine"),
        ([("2026-03-05T10:00", "phq9", 4), ("2026-03-06T10:00", "cssrs", 2)], "php", "urgent"),
        ([("2026-03-05T10:00", "cssrs", 1)], "iop", "routine"),
        ([("2026-03-05T10:00", "gad7", 21)], "iop", "routine"),
    ],
)
def test_t_discharge_level_by_assessments(
    assessments: list[tuple[str, str, int]], level: str, priority: str
) -> None:
    j = discharged(*assessments)
    [sr] = j.referrals()
    task = j.task("fulfill")
    assert (sr.rule, sr.level.value, sr.direction, sr.status) == (
        "T-DISCHARGE",
        level,
        "step-down",
        "active",
    )
    assert (task.priority, sr.priority, task.target) == (priority, priority, Level(level))
    assert task.focus == f"ServiceRequest/{sr.id}" and sr.task_id == task.id
    assert task.authored == sr.authored == t("2026-03-08T15:00")
    days = 1 if priority == "urgent" else 7
    assert (task.due - task.authored).days == days


def test_t_discharge_uses_latest_phq9_within_lookback() -> None:
    j = discharged(("2026-02-01T10:00", "phq9", 25), ("2026-03-05T10:00", "phq9", 5))
    assert [r.level for r in j.referrals()] == [Level.OP]
    j = discharged(("2026-02-05T10:00", "phq9", 25))  # 31 days before: outside the lookback
    assert [r.level for r in j.referrals()] == [Level.IOP]
    j = discharged(("2026-02-06T15:00", "phq9", 25))  # exactly 30 days: inside
    assert [r.level for r in j.referrals()] == [Level.PHP]


def test_t_discharge_ignores_assessments_after_discharge() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-09T10:00", "phq9", 25)  # recorded before the discharge arrives
    j.discharge("2026-03-08T15:00")
    assert [r.level for r in j.referrals()] == [Level.IOP]


def test_t_discharge_description_and_reasons() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "phq9", 22, eid="obs-1")
    j.discharge("2026-03-08T15:00", ref="Encounter/e1")
    [sr] = j.referrals()
    assert sr.reasons[0] == "Encounter/e1" and len(sr.reasons) == 2
    assert j.task("fulfill").description == (
        "Discharged on 2026-03-08 with PHQ-9 22 on 2026-03-05 (≥ 20) in the 30 days before; "
        "refer to PHP."
    )


def test_cssrs_high_at_discharge_no_referral_crisis_task() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    crisis = j.task("crisis-evaluation")
    j.update(crisis.id, "completed", "2026-03-05T12:00")
    j.assess("2026-03-06T10:00", "phq9", 12)
    j.discharge("2026-03-08T15:00")
    assert j.referrals() == []
    tasks = j.tasks("crisis-evaluation")
    assert [tk.status for tk in tasks] == ["completed", "requested"]
    new = next(tk for tk in tasks if tk.status == "requested")
    assert (new.rule, new.priority, new.authored) == ("C-CRISIS", "stat", t("2026-03-08T15:00"))
    assert new.due == t("2026-03-08T19:00")
    assert "no step-down referral" in new.description
    assert j.task("follow-up-7d").status == "requested"


def test_cssrs_high_then_low_before_discharge_refers() -> None:
    j = discharged(("2026-03-03T10:00", "cssrs", 3), ("2026-03-07T10:00", "cssrs", 1))
    assert [r.level for r in j.referrals()] == [Level.IOP]


def test_c_followup_due_end_of_day_7() -> None:
    j = discharged()
    fu = j.task("follow-up-7d")
    assert (fu.rule, fu.priority, fu.status) == ("C-FOLLOWUP", "urgent", "requested")
    assert fu.due == t("2026-03-16T00:00")
    assert fu.authored == t("2026-03-08T15:00")


def test_c_followup_missed_fires_at_due() -> None:
    j = discharged()
    assert not j.tick("2026-03-15T23:59").outputs
    step = j.tick("2026-03-16T00:00")
    assert [(o.rule, o.status) for o in step.outputs] == [
        ("C-FOLLOWUP", "failed"),
        ("C-FOLLOWUP-MISSED", "requested"),
    ]
    missed = j.task("follow-up-missed")
    fu = j.task("follow-up-7d")
    assert missed.authored == fu.last_modified == t("2026-03-16T00:00")
    assert missed.due == t("2026-03-17T00:00") and missed.priority == "urgent"
    assert missed.focus == f"Task/{fu.id}"
    assert not j.tick("2026-04-30").outputs


def test_c_followup_missed_fires_before_an_event_at_due() -> None:
    """A visit at 00:00 on day 8 comes after the deadline (contract §8)."""
    j = discharged()
    step = j.attend("2026-03-16T00:00", "iop")
    assert [o.rule for o in step.outputs][:2] == ["C-FOLLOWUP", "C-FOLLOWUP-MISSED"]
    assert j.task("follow-up-7d").status == "failed"


def test_no_followup_missed_when_met_or_cancelled() -> None:
    j = discharged()
    j.attend("2026-03-15T23:59", "op")
    j.tick("2026-04-01")
    assert j.task("follow-up-7d").status == "completed"
    assert j.tasks("follow-up-missed") == []


def test_c_ama() -> None:
    j = discharged(disp="aadvice")
    ama = j.task("ama-outreach")
    assert (ama.rule, ama.priority, ama.due) == ("C-AMA", "urgent", t("2026-03-09T15:00"))
    assert j.task("follow-up-7d").status == "requested"
    assert [r.level for r in j.referrals()] == [Level.IOP]
    assert discharged().tasks("ama-outreach") == []


def test_transfer_makes_no_referral_or_followup() -> None:
    j = discharged(("2026-03-05T10:00", "phq9", 25), disp="psy")
    assert j.outputs == []
    assert j.state is not None and j.state.level is None


def test_discharge_without_admission_applies_admission_effects() -> None:
    j = Journey()
    j.enroll("2026-02-01T00:00", "op")
    j.assess("2026-02-10T10:00", "phq9", 16)  # T-OP-WORSE: pending iop
    j.discharge("2026-03-08T15:00")
    old, new = sorted(j.referrals(), key=lambda r: r.authored)
    assert (old.rule, old.status, old.status_reason) == (
        "T-OP-WORSE",
        "revoked",
        "readmitted on 2026-03-08",
    )
    assert (new.rule, new.status) == ("T-DISCHARGE", "active")


def test_l_readmitted_cancels_pending_and_followup() -> None:
    j = discharged()
    j.admit("2026-03-10T20:00")
    [sr] = j.referrals()
    assert (sr.status, sr.status_reason) == ("revoked", "readmitted on 2026-03-10")
    assert j.task("fulfill").status == "cancelled"
    assert j.task("follow-up-7d").status == "cancelled"
    assert not j.tick("2026-04-01").outputs
    assert j.state is not None and j.state.level is Level.INPATIENT


def test_l_readmitted_completes_referral_to_inpatient() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "iop")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    j.admit("2026-03-05T18:00")
    [sr] = j.referrals()
    assert (sr.rule, sr.status) == ("T-CRISIS", "completed")
    assert j.task("fulfill").status == "completed"


def test_readmission_then_new_discharge_refers_again() -> None:
    j = discharged()
    j.admit("2026-03-10T20:00")
    j.assess("2026-03-12T10:00", "phq9", 3)
    j.discharge("2026-03-14T10:00")
    active = [r for r in j.referrals() if r.status == "active"]
    assert [r.level for r in active] == [Level.OP]
    assert [tk.status for tk in j.tasks("follow-up-7d")] == ["cancelled", "requested"]


def test_l_deceased_cancels_everything_and_silences_patient() -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-02T10:00", "auditc", 8)
    j.assess("2026-03-03T10:00", "phq9", 16)  # pending iop
    step = j.discharge("2026-03-10T06:00", "exp")
    assert {o.status for o in step.outputs} == {"cancelled", "revoked"}
    assert all(tk.status == "cancelled" for tk in j.tasks())
    assert all(r.status == "revoked" for r in j.referrals())
    assert j.state is not None and j.state.deceased
    for later in (
        j.no_show("2026-03-12T10:00"),
        j.assess("2026-03-12T10:00", "cssrs", 3),
        j.admit("2026-03-13T10:00"),
        j.tick("2026-06-01"),
    ):
        assert later.outputs == []
    assert j.tick("2026-06-01").state.clock == t("2026-03-10T06:00")


def test_deceased_followup_deadline_does_not_fire() -> None:
    j = discharged()
    j.discharge("2026-03-09T06:00", "exp")
    assert j.task("follow-up-7d").status == "cancelled"
    assert j.tick("2026-04-01").outputs == []


def test_late_discharge_after_a_visit_in_the_window_is_met() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-10T10:00", "phq9", 12)
    j.attend("2026-03-10T09:00", None)  # a visit with no level: no enrollment
    j.discharge("2026-03-08T15:00")  # late
    fu = j.task("follow-up-7d")
    assert (fu.status, fu.last_modified) == ("completed", t("2026-03-10T09:00"))
    assert j.tick("2026-04-01").outputs == []
