"""Task updates from case managers: the rules.md §5 state machine (legal and illegal
moves), referral outcomes (L-ENROLLED, C-REFERRAL-FAILED), slots, unknown Tasks."""

from __future__ import annotations

import pytest

from pipeline.rules.tasks import CASE_MOVES, REFERRAL_MOVES, allowed
from tests.unit.core_kit import Journey, t

STATUSES = ["requested", "accepted", "in-progress", "on-hold", "completed", "failed",
            "cancelled", "rejected", "entered-in-error"]  # fmt: skip


def with_referral() -> tuple[Journey, str]:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    return j, j.task("fulfill").id


def with_case_task() -> tuple[Journey, str]:
    j = Journey()
    j.assess("2026-03-05T10:00", "auditc", 6)
    return j, j.task("sud-assessment").id


REFERRAL_PATHS = [
    ["accepted"],
    ["rejected"],
    ["cancelled"],
    ["accepted", "in-progress", "on-hold", "in-progress", "completed"],
    ["accepted", "on-hold", "failed"],
    ["accepted", "failed"],
    ["accepted", "in-progress", "cancelled"],
    ["accepted", "on-hold", "completed"],
    ["entered-in-error"],
    ["accepted", "in-progress", "entered-in-error"],
]


@pytest.mark.parametrize("path", REFERRAL_PATHS, ids="→".join)
def test_legal_referral_paths(path: list[str]) -> None:
    j, tid = with_referral()
    for k, status in enumerate(path):
        step = j.update(tid, status, f"2026-03-09T{10 + k:02d}:00")
        assert step.rejected is None and not step.ignored
        assert step.outputs[0].id == tid and step.outputs[0].status == status
        assert step.outputs[0].last_modified == t(f"2026-03-09T{10 + k:02d}:00")


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], "completed"),
        ([], "in-progress"),
        ([], "failed"),
        ([], "on-hold"),
        (["accepted"], "requested"),
        (["accepted"], "rejected"),
        (["rejected"], "accepted"),
        (["cancelled"], "requested"),
        (["accepted", "completed"], "in-progress"),
        (["accepted", "failed"], "completed"),
        (["entered-in-error"], "requested"),
        ([], "draft"),
    ],
)
def test_illegal_referral_moves_are_rejected(path: list[str], bad: str) -> None:
    j, tid = with_referral()
    for status in path:
        j.update(tid, status, "2026-03-09T10:00")
    before = j.state
    old = path[-1] if path else "requested"
    step = j.update(tid, bad, "2026-03-09T12:00", eid="bad-1")
    assert step.rejected is not None and step.outputs == []
    assert step.rejected.event_id == "bad-1"
    assert step.rejected.expression == "Task.status"
    assert step.rejected.diagnostics == (
        f"Task.status: {old} → {bad} is not an allowed transition (Task/{tid})"
    )
    assert before is not None and step.state.tasks == before.tasks
    # a refused event is not remembered: sending it again is refused again
    again = j.update(tid, bad, "2026-03-09T12:00", eid="bad-1")
    assert again.rejected is not None and not again.duplicate


@pytest.mark.parametrize("status", ["in-progress", "completed"])
def test_case_tasks_may_skip_accepted(status: str) -> None:
    j, tid = with_case_task()
    step = j.update(tid, status, "2026-03-06T10:00", "called the patient")
    assert step.rejected is None
    task = j.task("sud-assessment")
    assert (task.status, task.status_reason) == (status, "called the patient")
    j2, rid = with_referral()
    assert j2.update(rid, status, "2026-03-09T10:00").rejected is not None


def test_state_machine_table() -> None:
    for old in STATUSES:
        for new in STATUSES:
            if new == "entered-in-error":
                assert allowed("fulfill", old, new) == (old != new)
            elif old in ("completed", "failed", "cancelled", "rejected", "entered-in-error"):
                assert not allowed("fulfill", old, new) and not allowed("x", old, new)
    assert CASE_MOVES["requested"] - REFERRAL_MOVES["requested"] == {"in-progress", "completed"}


def test_resending_current_status_is_a_no_op() -> None:
    j, tid = with_referral()
    j.update(tid, "accepted", "2026-03-09T10:00")
    step = j.update(tid, "accepted", "2026-03-09T11:00")
    assert step.outputs == [] and step.rejected is None and not step.ignored
    j.update(tid, "cancelled", "2026-03-09T12:00")
    step = j.update(tid, "cancelled", "2026-03-09T13:00")
    assert step.outputs == [] and step.rejected is None


def test_unknown_task_is_ignored() -> None:
    j, _ = with_referral()
    step = j.update("not-ours", "completed", "2026-03-09T10:00")
    assert step.ignored and step.outputs == [] and step.rejected is None


def test_terminal_task_entered_in_error_is_recorded_silently() -> None:
    j, tid = with_case_task()
    j.update(tid, "completed", "2026-03-06T10:00")
    step = j.update(tid, "entered-in-error", "2026-03-06T11:00")
    assert step.rejected is None and step.outputs == []
    assert j.update(tid, "completed", "2026-03-06T12:00").rejected is not None


def test_default_status_reason() -> None:
    j, tid = with_referral()
    j.update(tid, "accepted", "2026-03-09T10:00")
    assert j.task("fulfill").status_reason == "accepted by a case manager"


@pytest.mark.parametrize("status", ["rejected", "failed"])
def test_c_referral_failed(status: str) -> None:
    j, tid = with_referral()
    if status == "failed":
        j.update(tid, "accepted", "2026-03-09T09:00")
    step = j.update(tid, status, "2026-03-09T10:00", "no bed")
    assert [(type(o).__name__, o.rule, o.status) for o in step.outputs] == [
        ("TaskRecord", "T-DISCHARGE", status),
        ("ReferralRecord", "T-DISCHARGE", "revoked"),
        ("TaskRecord", "C-REFERRAL-FAILED", "requested"),
    ]
    rf = j.task("referral-failed")
    assert (rf.priority, rf.due, rf.focus) == ("urgent", t("2026-03-10T10:00"), f"Task/{tid}")
    assert (
        rf.description == f"The referral to IOP was {status} on 2026-03-09; find another placement."
    )
    assert j.state is not None and j.state.pending is None
    assert j.state.effective_level() is None


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_referral_cancelled_revokes_without_failure_task(status: str) -> None:
    j, tid = with_referral()
    j.update(tid, status, "2026-03-09T10:00")
    assert j.referrals()[0].status == "revoked"
    assert j.tasks("referral-failed") == []
    assert j.state is not None and j.state.pending is None


def test_terminal_referral_frees_the_way_for_a_new_one() -> None:
    j, tid = with_referral()
    j.update(tid, "rejected", "2026-03-09T10:00")
    j.enroll("2026-03-10T00:00", "op")
    j.assess("2026-03-11T10:00", "phq9", 17)
    active = [r for r in j.referrals() if r.status == "active"]
    assert [(r.rule, r.level.value) for r in active] == [("T-OP-WORSE", "iop")]


def test_followup_task_closed_by_case_manager_disarms_deadline() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    fu = j.task("follow-up-7d")
    j.update(fu.id, "completed", "2026-03-10T10:00", "visit confirmed by phone")
    assert j.tick("2026-04-01").outputs == []


def test_deadline_fires_before_an_update_at_its_time() -> None:
    """The follow-up failed at its due, so a completion sent after it is illegal; the
    refused document changes nothing (its clock move is discarded with it), and the
    deadline fires at the next event or tick."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    fu = j.task("follow-up-7d")
    before = j.state
    step = j.update(fu.id, "completed", "2026-03-16T09:00")
    assert step.outputs == []
    assert step.rejected is not None
    assert "failed → completed" in step.rejected.diagnostics
    assert step.state is before


def test_deceased_patient_updates() -> None:
    j, tid = with_referral()
    j.discharge("2026-03-10T06:00", "exp")
    step = j.update(tid, "accepted", "2026-03-11T10:00")
    assert step.rejected is not None and step.outputs == []
    step = j.update(tid, "cancelled", "2026-03-11T10:00")
    assert step.rejected is None and step.ignored and step.outputs == []
