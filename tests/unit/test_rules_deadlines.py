"""Deadline rules (rules.md §5, §7, §8): C-REFERRAL-STALLED by priority, C-REFERRAL-EXPIRED
(requested or accepted only) with C-REFERRAL-FAILED and L-STALL-CLOSED, L-OVERDUE (once,
priority unchanged, escalation owner for safety codes, referral and 7-day follow-up Tasks
exempt), and the one order at one instant."""

from __future__ import annotations

import pytest

from pipeline.codes import Business, CareTask, Priority, Status
from tests.unit.core_kit import Journey, rules, statuses, t

FULFILL, STALLED, FAILED = CareTask.FULFILL, CareTask.STALLED, CareTask.REFERRAL_FAILED
U, R, S = Priority.URGENT, Priority.ROUTINE, Priority.STAT


def referral(priority: str) -> Journey:
    """A referral authored 2026-03-08 15:00 with this priority."""
    j = Journey()
    if priority == S:
        j.admit("2026-03-01T08:00")
        j.assess("2026-03-05T10:00", "cssrs", 3)
    elif priority == U:
        j.admit("2026-03-01T08:00")
        j.assess("2026-03-05T10:00", "phq9", 22)
    j.discharge("2026-03-08T15:00")
    assert j.open(FULFILL).priority == priority
    return j


# -- C-REFERRAL-STALLED -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("priority", "stall"),
    [(S, "2026-03-09T15:00"), (U, "2026-03-11T15:00"), (R, "2026-03-15T15:00")],
)
def test_c_referral_stalled_by_priority(priority: str, stall: str) -> None:
    j = referral(priority)
    j.tick(t(stall).replace(minute=59, hour=t(stall).hour - 1))
    assert j.tasks(STALLED) == []
    j.tick(stall)
    task = j.task(STALLED)
    [sr] = j.referrals()
    assert (task.rule, task.priority, task.authored, task.due) == (
        "C-REFERRAL-STALLED",
        U,
        t(stall),
        t(stall).replace(day=t(stall).day + 1),
    )
    assert task.focus == f"ServiceRequest/{sr.id}"
    assert j.task(FULFILL).status == Status.REQUESTED and not j.task(FULFILL).overdue
    j.tick("2026-03-20")
    assert len(j.tasks(STALLED)) == 1  # once per referral


def test_an_accepted_referral_does_not_stall() -> None:
    j = referral(R)
    j.update(j.task(FULFILL).id, Status.ACCEPTED, "2026-03-10T10:00")
    j.tick("2026-03-20")
    assert j.tasks(STALLED) == []


def test_stall_reads_the_priority_at_authoring() -> None:
    """A superseding referral keeps the higher priority; it stalls by that priority."""
    j = referral(U)  # php, urgent
    j.assess("2026-03-09T10:00", "phq9", 8)
    j.assess("2026-03-16T10:00", "phq9", 6)  # T-PHP-BETTER → iop, keeps urgent
    new = j.open(FULFILL)
    assert (new.rule, new.priority) == ("T-PHP-BETTER", U)
    j.tick("2026-03-19T09:59")
    assert [tk.status for tk in j.tasks(STALLED)] == [Status.CANCELLED]  # the first's
    j.tick("2026-03-19T10:00")  # 72 h after the new referral
    assert [tk.status for tk in j.tasks(STALLED)] == [Status.CANCELLED, Status.REQUESTED]


# -- C-REFERRAL-EXPIRED -----------------------------------------------------------------
@pytest.mark.parametrize("path", [[], [Status.ACCEPTED]])
def test_c_referral_expired(path: list[str]) -> None:
    j = referral(R)
    tid = j.task(FULFILL).id
    for status in path:
        j.update(tid, status, "2026-03-09T10:00")
    j.tick("2026-04-07T14:59")
    assert j.task(FULFILL).status == (path[-1] if path else Status.REQUESTED)
    step = j.tick("2026-04-07T15:00")  # 30 local days after authoring
    kinds = statuses(step.outputs)
    assert kinds[:2] == [
        (FULFILL, "T-DISCHARGE", Status.FAILED),
        ("SR", "T-DISCHARGE", Status.REVOKED),
    ]
    assert (FAILED, "C-REFERRAL-FAILED", Status.REQUESTED) in kinds
    task = j.task(FULFILL)
    assert task.status_reason == "not started within 30 days"
    failed = j.task(FAILED)
    assert (failed.priority, failed.authored, failed.focus) == (
        U,
        t("2026-04-07T15:00"),
        f"Task/{tid}",
    )
    assert j.state is not None and j.state.pending is None
    if not path:  # the stalled Task closes with its referral (L-STALL-CLOSED)
        stall = j.task(STALLED)
        assert stall.status == Status.CANCELLED and "not started within 30 days" in str(
            stall.status_reason
        )


@pytest.mark.parametrize(
    "path", [[Status.ACCEPTED, Status.IN_PROGRESS], [Status.ACCEPTED, Status.ON_HOLD]]
)
def test_a_started_referral_does_not_expire(path: list[str]) -> None:
    """§7: expiry fails only a referral whose Task is requested or accepted."""
    j = referral(R)
    for status in path:
        j.update(j.task(FULFILL).id, status, "2026-03-09T10:00")
    j.tick("2026-05-30")
    assert j.task(FULFILL).status == path[-1] and j.tasks(FAILED) == []


def test_an_expired_referral_is_not_also_stalled_at_one_instant() -> None:
    """§8: closers first, each deadline re-checks its precondition when it fires."""
    cfg = rules(referral={"accept_hours_routine": 720})  # 30 days in UTC
    j = Journey(cfg=cfg)
    j.discharge("2026-03-08T15:00")
    step = j.tick("2026-04-07T15:00")
    assert [o.rule for o in step.outputs if getattr(o, "code", "") == STALLED] == []
    assert j.task(FULFILL).status == Status.FAILED and j.task(FAILED).open


# -- L-OVERDUE --------------------------------------------------------------------------
def test_l_overdue_once_with_priority_unchanged() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00", "aadvice")  # ama-outreach urgent, due 03-09 15:00
    ama = j.task(CareTask.AMA)
    j.tick("2026-03-09T14:59")
    assert j.task(CareTask.AMA).business_status is None
    step = j.tick("2026-03-09T15:00")
    [late] = [o for o in step.outputs if o.id == ama.id]
    assert (late.status, late.priority, late.business_status) == (
        Status.REQUESTED,
        U,
        Business.OVERDUE,
    )
    assert late.authored == ama.authored and late.due == ama.due
    assert late.last_modified == t("2026-03-09T15:00")
    assert late.owner is None  # no escalation for a non-safety code
    j.tick("2026-04-30")
    assert [o for o in j.outputs if o.id == ama.id].count(late) == 1


@pytest.mark.parametrize(("code", "escalated"), [(CareTask.CRISIS, True), (CareTask.SUD, False)])
def test_l_overdue_escalates_safety_codes(code: str, escalated: bool) -> None:
    cfg = rules(
        routing={"escalation": "Practitioner/on-call", "case_management": "Organization/cm"}
    )
    j = Journey(cfg=cfg)
    j.enroll("2026-03-01T00:00", "php")
    j.assess(
        "2026-03-05T10:00",
        "cssrs" if code == CareTask.CRISIS else "auditc",
        3 if code == CareTask.CRISIS else 9,
    )
    assert j.task(code).owner == "Organization/cm"
    j.tick("2026-03-10")
    task = j.task(code)
    assert task.business_status == Business.OVERDUE
    assert task.owner == ("Practitioner/on-call" if escalated else "Organization/cm")
    assert task.priority == (S if code == CareTask.CRISIS else U)


def test_l_overdue_exempts_referral_and_seven_day_follow_up_tasks() -> None:
    j = referral(R)
    j.tick("2026-03-16T00:00")
    assert not j.task(FULFILL).overdue and j.task(FULFILL).business_status is None
    fu = j.task(CareTask.FOLLOWUP_7D)
    assert fu.status == Status.FAILED and fu.business_status is None
    j = Journey()
    j.ed_visit("2026-03-08T15:00")
    j.tick("2026-03-16T00:00")
    assert j.task(CareTask.FOLLOWUP_ED_7D).business_status is None


def test_l_overdue_for_follow_up_missed_stalled_and_failed_tasks() -> None:
    j = referral(R)
    j.tick("2026-04-09")
    for code in (CareTask.FOLLOWUP_MISSED, STALLED, FAILED):
        assert any(
            o.business_status == Business.OVERDUE
            for o in j.outputs
            if getattr(o, "code", "") == code
        ), code


def test_a_closing_deadline_at_the_same_instant_takes_precedence() -> None:
    """follow-up-missed is due when C-FOLLOWUP-LOST closes it (lost_days = 8): it fails
    without first being published overdue."""
    j = Journey(cfg=rules(followup={"lost_days": 8}))
    j.discharge("2026-03-08T15:00")
    j.tick("2026-03-16T00:00")
    missed = j.task(CareTask.FOLLOWUP_MISSED)
    assert missed.due == t("2026-03-17T00:00")
    step = j.tick("2026-03-17T00:00")
    mine = [o for o in step.outputs if o.id == missed.id]
    assert [(o.status, o.business_status) for o in mine] == [(Status.FAILED, None)]
    assert j.task(CareTask.LOST).open


def test_one_instant_closers_then_overdue_then_openers_then_the_event() -> None:
    """At 03-09 15:00 the AMA outreach is due (L-OVERDUE) and the stat referral stalls
    (an opener); an event at that instant applies after both."""
    j = Journey()
    j.admit("2026-03-01T08:00")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    j.discharge("2026-03-08T15:00", "aadvice")
    j.tick("2026-03-09T14:00")
    step = j.attend("2026-03-09T15:00", "php", 300)
    kinds = [
        (getattr(o, "code", "SR"), o.status, getattr(o, "business_status", None))
        for o in step.outputs
    ]
    assert kinds[0] == (CareTask.AMA, Status.REQUESTED, Business.OVERDUE)
    assert kinds[1] == (STALLED, Status.REQUESTED, None)
    # then the session: the first PHP session enrolls at PHP and completes the referral
    assert (FULFILL, Status.COMPLETED, None) in kinds[2:]
    assert (STALLED, Status.COMPLETED, None) in kinds[2:]


def test_openers_at_one_instant_in_rule_table_order() -> None:
    """Week checks (C-LOW-HOURS) come before C-INACTIVE in the rules.md §5 table."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")  # inactive due 06-15 00:00, a Monday
    j.tick("2026-06-14T00:00")
    step = j.tick("2026-06-15T00:00")
    assert [o.rule for o in step.outputs] == ["C-LOW-HOURS", "C-INACTIVE"]


def test_deadlines_fire_in_due_order_on_one_tick() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")  # weeks end 06-08, 06-15; inactive 06-15 00:00
    j.discharge("2026-06-05T10:00", "home")  # level none, follow-up due 06-13
    step = j.tick("2026-07-30")
    dues = [o.last_modified or o.authored for o in step.outputs]
    assert dues == sorted(dues)


def test_a_jump_fires_the_week_check_at_the_latest_monday_in_due_order() -> None:
    """§8: the week check fires once, for the latest week the jump covers (06-29), so it
    comes after C-INACTIVE (06-15) in due-time order."""
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")
    step = j.tick("2026-06-30T00:00")
    assert [(o.rule, o.last_modified or o.authored) for o in step.outputs] == [
        ("C-INACTIVE", t("2026-06-15T00:00")),
        ("C-INACTIVE", t("2026-06-16T00:00")),  # L-OVERDUE of the discharge review
        ("C-LOW-HOURS", t("2026-06-29T00:00")),
    ]
