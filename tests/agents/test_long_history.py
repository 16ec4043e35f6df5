"""One patient grown to 50,000 events (issue 11, DESIGN.md convention 11): the state stays
bounded and the per-event cost stays flat, through the embedded engine (documents: ingest
and decide) and through the worker's shell (events: load, decide, encode, changelog writes,
deadline index, with a tick a week).

Flat: the CPU time of the last 1,000 events is within 3× of the first 1,000 (a growing
state made it grow with the history: 1.27 ms an event at 10,000 events before the bounds),
and within 2× of 1,000 from the 10,000th, when the state has long reached its bounds (in
the worker the first events are cheaper: their state, encoded on every event, is still
small).
Figures are printed (``pytest -s``) as ``long-history:`` lines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from agents.engine import Engine
from agents.poison import TRANSITIONS
from pipeline.bounds import CLOSED_KEPT, SEEN_KEPT, STATE_CAP
from pipeline.config import DEFAULT_RULES
from pipeline.events import Tick
from pipeline.state import PatientState, encode_state
from schemas.ingest import DEFAULT_BASE, Limits, ingest
from schemas.wire import encode_event
from tests.agents.test_poison import Harness

pytestmark = pytest.mark.slow

N = 50_000
WINDOW = 1_000
MIDDLE = 10_000
LOC = f"{DEFAULT_BASE}/CodeSystem/level-of-care"
START = datetime(2012, 1, 2, 8, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _documents(n: int) -> Iterator[bytes]:
    """Enrolled in IOP, then every two hours a session (now and then a no-show), a PHQ-9
    twice a week: about eleven years."""
    yield orjson.dumps(
        {
            "resourceType": "EpisodeOfCare",
            "id": "long-eoc",
            "status": "active",
            "type": [{"coding": [{"system": LOC, "code": "iop"}]}],
            "patient": {"reference": "Patient/long"},
            "period": {"start": _iso(START)},
        }
    )
    for i in range(1, n):
        when = START + timedelta(hours=2 * i)
        if i % 42 == 0:
            yield orjson.dumps(
                {
                    "resourceType": "Observation",
                    "id": f"long-phq-{i}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                    "subject": {"reference": "Patient/long"},
                    "effectiveDateTime": _iso(when),
                    "valueInteger": 8 + i % 11,
                }
            )
            continue
        yield orjson.dumps(
            {
                "resourceType": "Appointment",
                "id": f"long-appt-{i}",
                "status": "noshow" if i % 17 == 0 else "fulfilled",
                "serviceType": [{"coding": [{"system": LOC, "code": "iop"}]}],
                "start": _iso(when),
                "minutesDuration": 180,
                "participant": [{"actor": {"reference": "Patient/long"}, "status": "accepted"}],
            }
        )


Figures = tuple[float, float, float, int, int]


def _grow(step: Callable[[int, bytes], PatientState | None]) -> Figures:
    """Feed the documents one by one: (CPU of the first ``WINDOW``, of ``WINDOW`` from the
    10,000th, of the last ``WINDOW``, the largest encoded state, and the final one)."""
    first = middle = last = 0.0
    largest = final = 0
    for i, doc in enumerate(_documents(N)):
        t0 = time.process_time()
        state = step(i, doc)
        spent = time.process_time() - t0
        if i < WINDOW:
            first += spent
        elif MIDDLE <= i < MIDDLE + WINDOW:
            middle += spent
        elif i >= N - WINDOW:
            last += spent
        if state is not None and (i % 500 == 0 or i == N - 1):
            final = len(encode_state(state))
            largest = max(largest, final)
    return first, middle, last, largest, final


def _check(name: str, state: PatientState, figures: Figures) -> None:
    first, middle, last, largest, final = figures
    print(
        f"long-history: {name}: {N} events, µs an event: first {WINDOW} "
        f"{first / WINDOW * 1e6:.0f}, from the {MIDDLE}th {middle / WINDOW * 1e6:.0f}, "
        f"last {WINDOW} {last / WINDOW * 1e6:.0f} (last/first {last / first:.2f}, "
        f"last/middle {last / middle:.2f}); state largest {largest} bytes, final {final}"
    )
    assert last <= 3 * first, (last, first)
    # the state reaches its bounds within the first few thousand events: from there on
    # the cost does not grow (2×: room for a busy machine's noise)
    assert last <= 2 * middle, (last, middle)
    assert largest < STATE_CAP // 4
    assert len(state.seen) <= SEEN_KEPT and len(state.closed) <= CLOSED_KEPT
    assert state.last_event > START + timedelta(days=365 * 11)


def test_fifty_thousand_events_through_the_engine() -> None:
    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)

    def step(_: int, doc: bytes) -> PatientState | None:
        result = engine.feed(doc)
        assert not result.errors, result.errors
        return engine.states.get("long")

    figures = _grow(step)
    _check("engine", engine.states["long"], figures)


class Discard:
    """A topic that keeps nothing but counts (50,000 states would not fit in a log)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, **_: Any) -> Any:
        self.sent += 1
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_fifty_thousand_events_through_the_worker_shell() -> None:
    """The transition agent's code on a dict table (as in test_crash_points), a partition
    tick every week of the patient's time, so the deadline index is used too."""
    outputs, letters = Discard(), Discard()
    table: dict[bytes, bytes] = {}
    h = Harness(table=table, logged=False, outputs=outputs, letters=letters)
    loop = asyncio.new_event_loop()
    week = timedelta(days=7)
    next_tick = START + week

    def send(value: bytes) -> None:
        event = h.message(value)
        loop.run_until_complete(h.p.guarded(event, h.p.transition_one, TRANSITIONS))

    def step(_: int, doc: bytes) -> PatientState | None:
        nonlocal next_tick
        for ev in ingest(doc).events:
            if ev.time >= next_tick:
                send(encode_event(Tick(time=next_tick)))
                next_tick += week
            send(encode_event(ev))
        return h.p._load(b"long")[0]

    try:
        figures = _grow(step)
    finally:
        loop.close()
    assert letters.sent == 0, "no dead letter"
    state = h.p._load(b"long")[0]
    assert state is not None
    _check("worker shell", state, figures)
    index_keys = [k for k in table if b":" in k]
    assert len(index_keys) < 64, "the deadline index holds only what is still due"
