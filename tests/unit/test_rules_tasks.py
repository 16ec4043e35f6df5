"""Task updates from case managers (rules.md §5, §6): the state machine (legal and illegal
moves), owner and notes, referral outcomes (L-ENROLLED, C-REFERRAL-FAILED, the cool-down,
L-STALL-CLOSED), L-SCREEN-DONE, safety-Task merges across rules, unknown Tasks."""

from __future__ import annotations

import pytest

from pipeline.codes import Business, CareTask, Priority, Status
from pipeline.rules.tasks import CASE_MOVES, REFERRAL_MOVES, allowed
from tests.unit.core_kit import Journey, statuses, t

STATUSES = [Status.REQUESTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD,
            Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.REJECTED,
            Status.ENTERED_IN_ERROR]  # fmt: skip
TERMINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.REJECTED,
            Status.ENTERED_IN_ERROR)  # fmt: skip
FULFILL = CareTask.FULFILL


def with_referral() -> tuple[Journey, str]:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    return j, j.task(FULFILL).id


def with_case_task() -> tuple[Journey, str]:
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    j.assess("2026-03-05T10:00", "auditc", 6)
    return j, j.task(CareTask.SUD).id


A, IP, OH, C, F = (
    Status.ACCEPTED,
    Status.IN_PROGRESS,
    Status.ON_HOLD,
    Status.COMPLETED,
    Status.FAILED,
)
X, RJ, EIE = Status.CANCELLED, Status.REJECTED, Status.ENTERED_IN_ERROR

REFERRAL_PATHS = [
    [A],
    [RJ],
    [X],
    [A, IP, OH, IP, C],
    [A, OH, F],
    [A, F],
    [A, IP, X],
    [A, OH, C],
    [EIE],
    [A, IP, EIE],
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
        ([], C),
        ([], IP),
        ([], F),
        ([], OH),
        ([A], Status.REQUESTED),
        ([A], RJ),
        ([RJ], A),
        ([X], Status.REQUESTED),
        ([A, C], IP),
        ([A, F], C),
        ([EIE], Status.REQUESTED),
        ([], "draft"),
    ],
)
def test_illegal_referral_moves_are_rejected(path: list[str], bad: str) -> None:
    j, tid = with_referral()
    for status in path:
        j.update(tid, status, "2026-03-09T10:00")
    before = j.state
    old = path[-1] if path else Status.REQUESTED
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


@pytest.mark.parametrize("status", [IP, C])
def test_case_tasks_may_skip_accepted(status: str) -> None:
    j, tid = with_case_task()
    step = j.update(tid, status, "2026-03-06T10:00", "called the patient")
    assert step.rejected is None
    task = j.task(CareTask.SUD)
    assert (task.status, task.status_reason) == (status, "called the patient")
    j2, rid = with_referral()
    assert j2.update(rid, status, "2026-03-09T10:00").rejected is not None


def test_state_machine_table() -> None:
    for old in STATUSES:
        for new in STATUSES:
            if new == EIE:
                assert allowed(FULFILL, old, new) == (old != new)
            elif old in TERMINAL:
                assert not allowed(FULFILL, old, new) and not allowed("x", old, new)
    assert CASE_MOVES[Status.REQUESTED] - REFERRAL_MOVES[Status.REQUESTED] == {IP, C}


def test_resending_current_status_is_a_no_op() -> None:
    j, tid = with_referral()
    j.update(tid, A, "2026-03-09T10:00")
    step = j.update(tid, A, "2026-03-09T11:00")
    assert step.outputs == [] and step.rejected is None and not step.ignored
    j.update(tid, X, "2026-03-09T12:00")
    step = j.update(tid, X, "2026-03-09T13:00")
    assert step.outputs == [] and step.rejected is None


def test_owner_and_notes_are_kept_and_republished() -> None:
    j, tid = with_case_task()
    step = j.update(tid, Status.REQUESTED, "2026-03-05T11:00", owner="Practitioner/cm-7")
    [task] = step.outputs
    assert (task.owner, task.status, task.last_modified) == (
        "Practitioner/cm-7",
        Status.REQUESTED,
        t("2026-03-05T11:00"),
    )
    j.update(tid, IP, "2026-03-05T12:00", note="left a voicemail")
    j.update(tid, IP, "2026-03-05T13:00", note="spoke with the patient")
    task = j.task(CareTask.SUD)
    assert task.notes == ("left a voicemail", "spoke with the patient")
    assert task.owner == "Practitioner/cm-7" and task.status == IP
    assert j.update(tid, IP, "2026-03-05T14:00", note="spoke with the patient").outputs == []


def test_unknown_task_is_ignored_with_the_reason() -> None:
    j, _ = with_referral()
    step = j.update("not-ours", C, "2026-03-09T10:00")
    assert step.ignored and step.outputs == [] and step.rejected is None
    assert step.reason == "Task/not-ours: not a Task emitted for this patient"


def test_a_task_of_another_patient_is_not_this_patients() -> None:
    _, tid = with_referral()
    other = Journey("p2")
    other.discharge("2026-03-08T15:00")
    step = other.update(tid, A, "2026-03-09T10:00")
    assert step.ignored and step.outputs == []


def test_terminal_task_entered_in_error_is_recorded_silently() -> None:
    j, tid = with_case_task()
    j.update(tid, C, "2026-03-06T10:00")
    step = j.update(tid, EIE, "2026-03-06T11:00")
    assert step.rejected is None and step.outputs == []
    assert j.update(tid, C, "2026-03-06T12:00").rejected is not None


def test_default_status_reason() -> None:
    j, tid = with_referral()
    j.update(tid, A, "2026-03-09T10:00")
    assert j.task(FULFILL).status_reason == "accepted by a case manager"


# -- referral outcomes ------------------------------------------------------------------
@pytest.mark.parametrize("status", [RJ, F])
def test_c_referral_failed(status: str) -> None:
    j, tid = with_referral()
    if status == F:
        j.update(tid, A, "2026-03-09T09:00")
    step = j.update(tid, status, "2026-03-09T10:00", "no bed")
    assert statuses(step.outputs) == [
        (FULFILL, "T-DISCHARGE", status),
        ("SR", "T-DISCHARGE", Status.REVOKED),
        (CareTask.REFERRAL_FAILED, "C-REFERRAL-FAILED", Status.REQUESTED),
    ]
    rf = j.task(CareTask.REFERRAL_FAILED)
    assert (rf.priority, rf.due, rf.focus) == (
        Priority.URGENT,
        t("2026-03-10T10:00"),
        f"Task/{tid}",
    )
    assert "IOP" in rf.description and status in rf.description
    assert j.state is not None and j.state.pending is None
    assert j.state.effective_level() is None
    [cool] = j.state.cooldowns
    assert (cool.level.value, cool.time) == ("iop", t("2026-03-09T10:00"))


def test_rejected_referral_closes_its_stalled_task() -> None:
    """L-STALL-CLOSED (§7): the referral reached a terminal state → cancelled."""
    j, tid = with_referral()
    j.tick("2026-03-15T15:00")  # routine: 168 h
    stall = j.task(CareTask.STALLED)
    assert stall.focus == f"ServiceRequest/{j.referrals()[0].id}"
    step = j.update(tid, RJ, "2026-03-15T16:00")
    assert (CareTask.STALLED, "C-REFERRAL-STALLED", X) in statuses(step.outputs)
    assert j.task(CareTask.REFERRAL_FAILED).open


def test_completed_referral_completes_its_stalled_task() -> None:
    j, tid = with_referral()
    j.tick("2026-03-15T15:00")
    j.update(tid, A, "2026-03-16T09:00")
    j.update(tid, C, "2026-03-16T10:00")
    assert j.task(CareTask.STALLED).status == C


@pytest.mark.parametrize("status", [X, EIE])
def test_referral_cancelled_revokes_without_failure_task(status: str) -> None:
    j, tid = with_referral()
    j.update(tid, status, "2026-03-09T10:00")
    assert j.referrals()[0].status == Status.REVOKED
    assert j.tasks(CareTask.REFERRAL_FAILED) == []
    assert j.state is not None and j.state.pending is None and j.state.cooldowns == ()


def test_terminal_referral_frees_the_way_for_a_new_one() -> None:
    j, tid = with_referral()
    j.update(tid, X, "2026-03-09T10:00")
    j.enroll("2026-03-10T00:00", "op")
    j.assess("2026-03-11T10:00", "phq9", 17)
    assert [(r.rule, r.level.value) for r in j.referrals() if r.status == Status.ACTIVE] == [
        ("T-OP-WORSE", "iop")
    ]


def test_a_rejected_step_down_cools_step_ups_to_that_level() -> None:
    """The cool-down is per level: "after a referral to L was rejected" (§4)."""
    j, tid = with_referral()
    j.update(tid, RJ, "2026-03-09T10:00")
    j.enroll("2026-03-10T00:00", "op")
    j.assess("2026-03-11T10:00", "phq9", 17)
    assert j.active() == []


def test_followup_task_closed_by_case_manager_disarms_deadline() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    fu = j.task(CareTask.FOLLOWUP_7D)
    j.update(fu.id, C, "2026-03-10T10:00", "visit confirmed by phone")
    j.tick("2026-04-30")
    assert j.tasks(CareTask.FOLLOWUP_MISSED) == [] and j.tasks(CareTask.LOST) == []


def test_deadline_fires_before_an_update_at_its_time() -> None:
    """The follow-up failed at its due, so a completion sent after it is illegal; the
    refused document changes nothing (its clock move is discarded with it), and the
    deadline fires at the next event or tick."""
    j = Journey()
    j.discharge("2026-03-08T15:00")
    fu = j.task(CareTask.FOLLOWUP_7D)
    before = j.state
    step = j.update(fu.id, C, "2026-03-16T09:00")
    assert step.outputs == []
    assert step.rejected is not None
    assert "failed → completed" in step.rejected.diagnostics
    assert step.state is before


def test_deceased_patient_updates() -> None:
    j, tid = with_referral()
    j.discharge("2026-03-10T06:00", "exp")
    step = j.update(tid, A, "2026-03-11T10:00")
    assert step.rejected is not None and step.outputs == []
    step = j.update(tid, X, "2026-03-11T10:00")
    assert step.rejected is None and step.ignored and step.outputs == []


# -- L-SCREEN-DONE ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("inst", "value", "code", "resolved"),
    [
        ("phq9-item9", 2, CareTask.SI_SCREEN, True),
        ("cssrs", 2, CareTask.SAFETY_PLAN, True),
        ("cssrs", 3, CareTask.CRISIS, False),  # a high C-SSRS is answered by a new screen only
    ],
)
def test_l_screen_done(inst: str, value: int, code: str, resolved: bool) -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "php")
    j.assess("2026-06-02T10:00", inst, value)
    j.complete(code, "2026-06-02T15:00")
    j.no_show("2026-06-03T09:00", "php")
    assert j.task(CareTask.NO_SHOW).priority == (Priority.ROUTINE if resolved else Priority.ASAP)


def test_a_new_signal_after_the_screen_is_a_signal_again() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "php")
    j.assess("2026-06-02T10:00", "phq9-item9", 2)
    j.complete(CareTask.SI_SCREEN, "2026-06-02T15:00")
    j.assess("2026-06-02T18:00", "phq9-item9", 1)
    j.no_show("2026-06-03T09:00", "php")
    assert j.task(CareTask.NO_SHOW).priority == Priority.ASAP


# -- safety-Task merges across rules ----------------------------------------------------
def test_discharge_safety_review_merges_exit_risk_then_discharge_risk() -> None:
    """C-EXIT-RISK opens discharge-safety-review (urgent, +1 day); a C-DISCHARGE-RISK the
    same evening merges into it: the higher priority (stat) and the earlier due."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    j.assess("2026-06-01T09:00", "phq9-item9", 1)
    j.exit("2026-06-01T10:00", "iop")  # finished with a signal: T-EXIT, C-EXIT-RISK
    first = j.task(CareTask.DISCHARGE_SAFETY)
    assert (first.rule, first.priority, first.due) == (
        "C-EXIT-RISK",
        Priority.URGENT,
        t("2026-06-02T10:00"),
    )
    j.admit("2026-06-01T12:00")
    j.assess("2026-06-01T13:00", "cssrs", 3)  # during the stay: recorded only
    step = j.discharge("2026-06-01T20:00")
    [merged] = [o for o in step.outputs if getattr(o, "code", "") == CareTask.DISCHARGE_SAFETY]
    assert merged.id == first.id and merged.rule == "C-EXIT-RISK"
    assert (merged.priority, merged.due) == (Priority.STAT, t("2026-06-02T00:00"))
    assert merged.business_status == Business.NEW_TRIGGER
    assert len(j.tasks(CareTask.DISCHARGE_SAFETY)) == 1


def test_a_lower_priority_trigger_keeps_the_higher_priority() -> None:
    j = Journey()
    j.admit("2026-06-01T08:00")
    j.assess("2026-06-01T13:00", "cssrs", 3)
    j.discharge("2026-06-02T10:00")  # C-DISCHARGE-RISK: stat, due 14:00
    j.enroll("2026-06-02T11:00", "php")
    j.exit("2026-06-02T12:00", "php", finished=False)  # C-EXIT-RISK (urgent) merges
    review = j.task(CareTask.DISCHARGE_SAFETY)
    assert (review.priority, review.due, review.business_status) == (
        Priority.STAT,
        t("2026-06-02T14:00"),
        Business.NEW_TRIGGER,
    )
