"""How the worker files deadlines (``agents.app``, ``agents.state_store``): a patient is
filed again only when its next deadline moves earlier than the hour it is filed under, so
most events write the state only; yet after every message each patient with a deadline is
filed at or before it, so a tick that reaches the deadline reaches the patient."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from agents.state_store import hour_of
from pipeline.config import DEFAULT_RULES
from pipeline.decide import next_deadline
from pipeline.state import PatientState
from schemas.ingest import ingest
from schemas.wire import encode_event
from tests.agents.test_poison import Harness
from tests.scenarios.compare import DATA


def _events() -> list[bytes]:
    found = [
        ev
        for path in sorted(Path(DATA).glob("*.ndjson"))
        for line in path.read_bytes().splitlines()
        if line.strip()
        for ev in ingest(line).events
    ]
    found.sort(key=lambda e: e.time)
    return [encode_event(e) for e in found]


def _filed_hours(h: Harness) -> dict[bytes, list[int]]:
    hours: dict[bytes, list[int]] = {}
    for key, value in h.table.items():
        if key.startswith(b"0:s:"):
            hours.setdefault(value, []).append(int(key.split(b":")[2]))
    return hours


def test_every_deadline_is_filed_at_or_before_it_and_later_ones_write_no_index() -> None:
    h = Harness()
    writes = {"state": 0, "index": 0}
    last_tick = None
    day = timedelta(days=1)
    for n, value in enumerate(_events()):
        before = len(h.ops)
        h.feed([value])
        for kind, key, _ in h.ops[before:]:
            if kind == "write":
                writes["index" if b":" in key else "state"] += 1
        if n % 25 == 24:  # a tick now and then, at the latest event time seen
            times = [s.last_event for s in _states(h)]
            now = max(times) + day
            if last_tick is None or now > last_tick:
                h.tick(now)
                last_tick = now
        filed = _filed_hours(h)
        for key, state in _keyed_states(h):
            due = next_deadline(state, DEFAULT_RULES)
            if due is not None:
                hours = filed.get(key)
                assert hours and min(hours) <= hour_of(due), (n, key, hours, due)
    assert writes["index"] < writes["state"], writes


def _keyed_states(h: Harness) -> list[tuple[bytes, PatientState]]:
    found = [(k, h.p._load(k)[0]) for k in list(h.table) if b":" not in k]
    return [(k, s) for k, s in found if s is not None]


def _states(h: Harness) -> list[PatientState]:
    return [s for _, s in _keyed_states(h)]
