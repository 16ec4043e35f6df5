"""Bounded per-patient state (issue 11; pipeline.bounds): years of history keep the state
small, the duplicate window is explicit, free text is clipped, and a state over the hard
cap is shrunk or the event refused — never a crash, never an unbounded changelog record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline import bounds
from pipeline.bounds import CLOSED_KEPT, DUPLICATE_WINDOW, SEEN_KEPT
from pipeline.codes import CareTask, Status
from pipeline.decide import decide
from pipeline.events import SessionAttended
from pipeline.levels import Level
from pipeline.state import decode_state, encode_state
from tests.unit.core_kit import Journey, t


def _years_at_op(days: int) -> Journey:
    j = Journey("long")
    j.enroll("2020-01-01T09:00:00Z", "op")
    start = t("2020-01-02T10:00:00Z")
    for k in range(days):
        j.attend(start + timedelta(days=k), "op", 60)
    return j


def test_years_of_daily_sessions_keep_the_state_small() -> None:
    j = _years_at_op(3 * 365)
    s = j.state
    assert s is not None
    raw = encode_state(s)
    assert len(s.seen) <= SEEN_KEPT
    assert len(s.counted) <= 7 * 4  # the weeks a week check still reads
    assert len(raw) < 32 * 1024, len(raw)
    assert decode_state(raw) == s


def test_duplicates_inside_the_window_are_detected_and_older_ones_are_ignored() -> None:
    j = _years_at_op(2 * SEEN_KEPT)
    s = j.state
    assert s is not None and s.seen_floor is not None
    recent = j.steps[-1]
    assert not recent.duplicate
    # the newest session again: a duplicate
    newest = s.last_event + timedelta(hours=1)
    once = decide(s, _session(j, "ev-last", newest), j.cfg)
    again = decide(once.state, _session(j, "ev-last", newest), j.cfg)
    assert not once.duplicate and again.duplicate
    # a session dated before the window's floor can no longer be told from a duplicate
    before_floor = datetime.fromtimestamp(s.seen_floor - 3600, UTC)
    assert before_floor > s.last_event - timedelta(days=j.cfg.history.retention_days)
    old = decide(s, _session(j, "ev-old", before_floor), j.cfg)
    assert old.ignored and old.reason == DUPLICATE_WINDOW and old.outputs == []
    assert old.state is s


def _session(j: Journey, eid: str, when: object) -> SessionAttended:
    return SessionAttended(eid, j.patient, when, f"Appointment/{eid}", Level.OP, 60,  # type: ignore[arg-type]
                           (f"Appointment/{eid}",), True)  # fmt: skip


def test_long_case_manager_text_is_clipped() -> None:
    j = Journey("text")
    j.stay("2026-03-01T08:00:00Z", "2026-03-05T12:00:00Z")
    task = j.open(CareTask.FOLLOWUP_7D)
    huge = "x" * 400_000
    j.update(task.id, Status.IN_PROGRESS, "2026-03-06T09:00:00Z", owner="Practitioner/" + "y" * 500,
             note=huge)  # fmt: skip
    j.update(task.id, Status.ON_HOLD, "2026-03-06T10:00:00Z", huge, note=huge + "2")
    j.update(task.id, Status.FAILED, "2026-03-06T11:00:00Z", huge)
    s = j.state
    assert s is not None
    assert len(encode_state(s)) < 16 * 1024
    last = j.outputs[-1]
    assert last.status_reason is not None and len(last.status_reason) <= bounds.REASON_CHARS
    assert all(len(n) <= bounds.NOTE_CHARS for n in last.notes)


def test_closed_task_ids_are_bounded() -> None:
    j = Journey("closed")
    j.enroll("2026-01-01T09:00:00Z", "op")
    for k in range(CLOSED_KEPT + 40):
        when = t("2026-01-02T10:00:00Z") + timedelta(days=k)
        j.no_show(when, "op")
        j.update(j.open(CareTask.NO_SHOW).id, Status.COMPLETED, when + timedelta(hours=1))
        j.attend(when + timedelta(hours=2), "op", 60)
    assert j.state is not None and len(j.state.closed) <= CLOSED_KEPT


def test_a_state_over_the_cap_is_shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    j = _years_at_op(300)
    s = j.state
    assert s is not None
    size = len(encode_state(s))
    monkeypatch.setattr(bounds, "ESTIMATE_SAFE", 0)
    monkeypatch.setattr(bounds, "STATE_CAP", size - 1)  # just over: shrinking fixes it
    step = decide(s, _session(j, "ev-new", t("2020-11-01T10:00:00Z")), j.cfg)
    assert step.rejected is None
    assert len(encode_state(step.state)) <= size - 1
    assert len(step.state.seen) <= SEEN_KEPT // 8 + 1


def test_a_state_that_cannot_fit_refuses_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    j = _years_at_op(30)
    s = j.state
    assert s is not None
    monkeypatch.setattr(bounds, "ESTIMATE_SAFE", 0)
    monkeypatch.setattr(bounds, "STATE_CAP", 100)
    step = decide(s, _session(j, "ev-new", t("2020-02-15T10:00:00Z")), j.cfg)
    assert step.rejected is not None and step.outputs == []
    assert str(100) in step.rejected.diagnostics
    assert step.state is s  # the previous state is kept


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z",
                                  "2200-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])  # fmt: skip
def test_sentinel_dates_are_refused_by_the_core(when: str) -> None:
    j = Journey("sentinel")
    j.enroll("2026-03-01T09:00:00Z", "iop")
    before = j.state
    step = j.attend(when, "iop", 60)
    assert step.rejected is not None and "outside 1900–2199" in step.rejected.diagnostics
    assert step.state is before and step.outputs == []
    # the patient's deadlines still fire afterwards
    assert j.tick("2026-03-20T00:00:00Z").outputs


def test_a_far_tick_moves_nothing() -> None:
    j = Journey("far")
    j.enroll("2026-03-01T09:00:00Z", "iop")
    assert j.tick("9999-12-31T00:00:00Z").outputs == []
    assert j.state is not None and j.state.clock.year == 2026
