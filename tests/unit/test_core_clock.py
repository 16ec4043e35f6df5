"""The per-patient clock (contract §8): calendar helpers, deadlines firing in due order,
ticks between events, late events, ties at the same instant."""

from __future__ import annotations

from pipeline.clock import day_start, monday, next_deadline, next_monday, week_key
from pipeline.config import DEFAULT_RULES
from pipeline.decide import advance
from pipeline.outputs import Output
from pipeline.state import new_state
from tests.unit.core_kit import Journey, t


def test_calendar_helpers() -> None:
    assert day_start(t("2026-03-08T15:00")) == t("2026-03-08")
    assert monday(t("2026-06-07T23:59")) == t("2026-06-01")  # a Sunday
    assert monday(t("2026-06-08T00:00")) == t("2026-06-08")
    assert next_monday(t("2026-06-08T00:00")) == t("2026-06-15")
    assert next_monday(t("2026-06-03T12:00")) == t("2026-06-08")
    assert week_key(t("2026-06-01")) == week_key(t("2026-06-07T23:59:59"))
    assert week_key(t("2026-06-08")) - week_key(t("2026-06-01")) == 7
    assert monday(t("1969-12-31")) == t("1969-12-29")


def test_clock_moves_forward_only() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.assess("2026-03-05T10:00", "phq9", 3)
    j.assess("2026-03-04T10:00", "phq9", 3)  # late
    assert j.state is not None and j.state.clock == t("2026-03-05T10:00")
    j.tick("2026-03-01")
    assert j.state.clock == t("2026-03-05T10:00")


def test_next_deadline_is_the_earliest() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")  # follow-up due 03-16
    assert j.state is not None and next_deadline(j.state) == t("2026-03-16")
    j.enroll("2026-03-09T10:00", "iop")  # week check 03-16, inactive 03-23 10:00
    j.attend("2026-03-10T10:00")  # meets the follow-up
    assert next_deadline(j.state) == t("2026-03-16")
    j.tick("2026-03-16")
    assert next_deadline(j.state) == t("2026-03-23")
    assert j.state.inactive_due == t("2026-03-24T10:00")
    j.discharge("2026-03-24T09:00", "exp")
    assert next_deadline(j.state) is None


def test_deadlines_fire_in_due_order_on_one_tick() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")  # weeks end 06-08, 06-15; inactive 06-15 00:00
    j.discharge("2026-06-05T10:00", "home")  # level none, follow-up due 06-13
    j.enroll("2026-06-01T00:00", "iop")  # late re-enrollment from the episode's start
    step = j.tick("2026-06-30")
    rules = [(o.rule, o.authored.isoformat()[:16]) for o in step.outputs if o.status == "requested"]
    assert rules == sorted(rules, key=lambda r: r[1])
    assert ("C-FOLLOWUP-MISSED", "2026-06-13T00:00") in rules
    assert ("C-LOW-HOURS", "2026-06-15T00:00") in rules
    assert ("C-INACTIVE", "2026-06-15T00:00") in rules


def test_ties_follow_up_then_week_then_inactive() -> None:
    j = Journey()
    j.enroll("2026-06-01T00:00", "iop")  # inactive due 06-15 00:00 (Monday)
    j.tick("2026-06-15T00:00")
    assert [o.rule for o in j.outputs if o.rule != "C-RECERT"] == ["C-LOW-HOURS", "C-INACTIVE"]


def test_ticks_between_events_equal_no_ticks() -> None:
    """Outputs do not depend on how many ticks arrive in between (replay vs live)."""

    def run(ticks: bool) -> list[Output]:
        j = Journey()
        j.admit("2026-03-01T08:00", eid="a")
        j.discharge("2026-03-08T15:00", eid="d")
        if ticks:
            for day in range(9, 20):
                j.tick(f"2026-03-{day:02d}T12:00")
        j.attend("2026-03-20T10:00", "iop", eid="x")
        j.tick("2026-04-30")
        return j.outputs

    assert run(True) == run(False)


def test_late_event_applies_with_its_own_time() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.tick("2026-03-20")
    j.assess("2026-03-10T10:00", "phq9", 18)
    [sr] = j.referrals()
    assert sr.authored == t("2026-03-10T10:00")
    assert j.task("fulfill").due == t("2026-03-11T10:00")


def test_late_enrollment_arms_deadlines_that_fire_on_the_next_advance() -> None:
    j = Journey()
    j.assess("2026-06-20T10:00", "phq9", 3)
    j.enroll("2026-06-01T00:00", "iop")  # late: inactive due 06-15 already passed
    assert j.state is not None and next_deadline(j.state) == t("2026-06-08")
    step = j.tick("2026-06-20T10:00")
    assert {o.rule for o in step.outputs} == {"C-LOW-HOURS", "C-INACTIVE"}


def test_advance_on_fresh_state_and_no_mutation() -> None:
    s = new_state("p")
    step = advance(s, t("2026-01-01"), DEFAULT_RULES)
    assert (
        step.outputs == [] and step.state.clock == t("2026-01-01") and s.clock != step.state.clock
    )
