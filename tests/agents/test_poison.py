"""Poison protection in the worker's shell (issue 11), without a broker: a message that
fails the same way twice — raises twice, or was in flight when the worker stopped twice —
is dead-lettered with its original document and the stream goes on; one patient who fails
a tick does not hold back the others; a state the changelog would refuse is refused, the
old state kept; a keyed tick moves one patient only; the ingest agent reads plausibility
against the wall clock or the replay's reference time.

The agents' shell runs as in ``test_crash_points`` (a dict table, sinks for the topics)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from agents import headers as hdr
from agents import ticks
from agents.app import Pipeline
from agents.poison import STOPS, TRANSITIONS, FlightRecorder, unit_of
from agents.policy import STOPPED
from agents.state_store import hour_of
from agents.ticks import STOPPED_TICK, TICK_FAILED
from pipeline.config import DEFAULT_RULES
from pipeline.decide import next_deadline
from pipeline.events import Tick
from schemas.ingest import Limits, ingest
from schemas.wire import encode_event
from tests.agents.test_crash_points import DATA, Op, Sink, _pipeline

END = datetime(2026, 4, 15, tzinfo=UTC)  # scenario 02's --until
#: s01: discharged home to IOP and seen; s02: a severe discharge whose follow-up is missed
#: (its Task fires at a tick)
PATIENTS = ("01-", "02-")


def _events() -> list[bytes]:
    limits = Limits(max_bytes=1_048_576, max_depth=64)
    return [
        encode_event(ev)
        for path in sorted(DATA.glob("*.ndjson"))
        if path.name.startswith(PATIENTS)
        for line in path.read_bytes().splitlines()
        if line.strip()
        for ev in ingest(line, limits).events
    ]


class Harness:
    """A pipeline on a logging dict table, its dead letters apart (``letters``); ``kw``:
    ``test_crash_points._pipeline``'s."""

    def __init__(self, flight: FlightRecorder | None = None, **kw: Any) -> None:
        self.ops: list[Op] = []
        self.letters: list[Op] = []
        kw.setdefault("letters", Sink(self.letters))
        if flight is not None:
            kw["flight"] = flight
        self.p: Pipeline = _pipeline(kw.pop("table", {}), self.ops, **kw)
        self.table: MutableMapping[bytes, bytes] = self.p.states
        self.offset = 0

    def message(self, value: bytes, key: bytes | None = None, **kw: Any) -> SimpleNamespace:
        self.offset += 1
        fields: dict[str, Any] = dict(
            topic="care.events", partition=0, offset=self.offset, key=key, value=value, headers=[]
        )
        fields.update(kw)
        return SimpleNamespace(message=SimpleNamespace(**fields))

    def feed(self, values: list[bytes]) -> None:
        for value in values:
            asyncio.run(self.p.guarded(self.message(value), self.p.transition_one, TRANSITIONS))

    def tick(self, when: datetime, key: bytes | None = None) -> None:
        msg = self.message(encode_event(Tick(time=when)), key)
        asyncio.run(self.p.guarded(msg, self.p.transition_one, TRANSITIONS))

    def records(self) -> list[tuple[bytes, dict[str, Any]]]:
        return [(key, orjson.loads(value)) for _, key, value in self.letters if value]

    def task_codes(self) -> dict[str, str]:
        latest: dict[str, tuple[str, str]] = {}
        for kind, _, value in self.ops:
            doc = orjson.loads(value) if kind == "out" and value else {}
            if doc.get("resourceType") == "Task":
                latest[doc["id"]] = (doc["code"]["coding"][0]["code"], doc["status"])
        return dict(latest.values())


def _diagnostics(rec: dict[str, Any]) -> str:
    return str(rec["error"]["issue"][0]["diagnostics"])


# -- the flight recorder ----------------------------------------------------------------------
def test_notes_survive_a_stop_and_count_consecutive_stops(tmp_path: Path) -> None:
    path = tmp_path / "flight"
    unit = unit_of("care.events", 3, b"care.inbound:0:9", b'{"kind":"x"}', b"hosp|patient-7")
    for stops in range(STOPS + 1):
        recorder = FlightRecorder(path)  # a restarted worker reads the last one's notes
        assert recorder.enter(TRANSITIONS, unit) == stops
        recorder.close()  # the process dies with the unit in flight
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"patient-7" not in path.read_bytes(), "hashes and positions only"
    done = FlightRecorder(path)
    done.enter(TRANSITIONS, unit)
    done.done(unit)
    done.leave(TRANSITIONS)
    assert FlightRecorder(path).stopped == {}


def test_a_stop_on_purpose_counts_against_no_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that had to cut its stop short (CAREPATH_SHUTDOWN_TIMEOUT, a broker that does
    not answer) clears the recorder before it exits: the message in hand did not stop it."""
    from agents import worker as worker_mod

    path = tmp_path / "flight"
    unit = unit_of("care.events", 1, b"care.inbound:0:4", b"{}", b"p")
    recorder = FlightRecorder(path)
    recorder.enter(TRANSITIONS, unit)
    exits: list[int] = []

    def no_exit(status: int) -> None:
        exits.append(status)

    monkeypatch.setattr(worker_mod.os, "_exit", no_exit)
    worker_mod.forced_exit(5.0, recorder.clear)
    recorder.close()
    assert exits == [worker_mod.FORCED_EXIT]
    assert FlightRecorder(path).stopped == {}


def test_a_torn_or_foreign_file_is_read_as_no_notes(tmp_path: Path) -> None:
    path = tmp_path / "flight"
    path.write_bytes(b'["care.events", 0, "ab' + b"\x00" * 300)
    assert FlightRecorder(path).stopped == {}


# -- messages that raise or stopped the worker --------------------------------------------------
def _guard(h: Harness, work: Callable[[Any], Awaitable[None]], value: bytes = b"x") -> None:
    asyncio.run(h.p.guarded(h.message(value), work, TRANSITIONS))


def test_a_message_that_raises_once_is_run_again() -> None:
    h, calls = Harness(), []

    async def flaky(event: Any) -> None:
        calls.append(event.message.offset)
        if len(calls) == 1:
            raise ConnectionError

    _guard(h, flaky)
    assert len(calls) == 2 and h.letters == []


def test_a_message_that_raises_twice_is_dead_lettered_once() -> None:
    h, calls = Harness(), []

    async def broken(event: Any) -> None:
        calls.append(1)
        raise KeyError("s01")  # the value is never logged nor recorded

    _guard(h, broken, b"not an event")
    [(_, rec)] = h.records()
    assert len(calls) == 2
    assert _diagnostics(rec) == "internal error while processing: KeyError then KeyError"
    assert rec["raw"] == "not an event" and rec["source"]["topic"] == "care.events"


def test_a_message_that_stopped_the_worker_twice_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "flight"
    poison, origin = b'{"kind":"poison"}', b"care.inbound:0:3"
    unit = unit_of("care.events", 0, origin, poison)
    for _ in range(STOPS):  # two workers died with it in flight
        FlightRecorder(path).enter(TRANSITIONS, unit)
    h, calls = Harness(FlightRecorder(path)), []

    async def work(event: Any) -> None:
        calls.append(event.message.value)

    def run(value: bytes, origin: bytes | None = None) -> None:
        headers = [(hdr.INBOUND, origin)] if origin else []
        asyncio.run(h.p.guarded(h.message(value, headers=headers), work, TRANSITIONS))

    run(poison, origin)
    # a copy the restarted ingest agent published again (its document was not committed):
    # the same document, skipped, also by the next worker
    run(poison, origin)
    h.p.flight = FlightRecorder(path)
    run(poison, origin)
    run(poison, b"care.inbound:0:4")  # the same bytes sent again as another document: it runs
    run(b'{"kind":"bystander"}')
    assert calls == [poison, b'{"kind":"bystander"}']
    [(_, rec)] = h.records()
    assert _diagnostics(rec) == STOPPED
    assert FlightRecorder(path).stopped == {}, "nothing is in flight any more"


# -- ticks --------------------------------------------------------------------------------------
def test_a_patient_who_fails_a_tick_does_not_hold_back_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = Harness()
    h.feed(_events())
    before = h.table[b"s01"]
    real = ticks.advance

    def advance(state: Any, now: datetime, rules: Any) -> Any:
        if state.patient == "s01":
            raise RecursionError
        return real(state, now, rules)

    monkeypatch.setattr(ticks, "advance", advance)
    h.tick(END)
    assert h.task_codes().get("follow-up-missed") == "requested", "the bystander's deadline"
    [(key, rec)] = h.records()
    assert key == b"s01" and _diagnostics(rec).startswith(TICK_FAILED)
    assert h.table[b"s01"] == before, "the failing patient is left as it was"
    assert b"s01" not in h.p.index.due(0, END + timedelta(days=400)), "and not tried every tick"
    # its next event finds it filed nowhere (its stored hour was reached) and files it again
    monkeypatch.setattr(ticks, "advance", real)
    state, filed = asyncio.run(h.p._caught_up(0, b"s01"))
    due = next_deadline(state, DEFAULT_RULES) if state is not None else None
    assert due is not None and filed == hour_of(due)
    assert b"s01" in h.p.index.due(0, due)


def test_a_patient_who_stopped_the_worker_twice_is_left_out_of_the_tick(tmp_path: Path) -> None:
    path = tmp_path / "flight"
    h = Harness(FlightRecorder(path))
    h.feed(_events())
    tick, origin = encode_event(Tick(time=END)), f"care.events:0:{h.offset + 1}".encode()
    for _ in range(STOPS):
        FlightRecorder(path).enter(TRANSITIONS, unit_of("care.events", 0, origin, tick, b"s02"))
    h.p.flight = FlightRecorder(path)
    h.tick(END)
    assert "follow-up-missed" not in h.task_codes()
    [(key, rec)] = h.records()
    assert key == b"s02" and _diagnostics(rec) == STOPPED_TICK
    h.tick(END + timedelta(hours=1))  # the patient's next tick: it is not filed any more
    assert len(h.records()) == 1


def test_a_keyed_tick_moves_only_its_patient() -> None:
    """``replay --broker --until`` ticks its own patients: s02's follow-up is missed, s01's
    clock and the partition's last tick do not move."""
    h = Harness()
    h.feed(_events())
    s01 = h.table[b"s01"]
    h.tick(END, key=b"s02")
    assert h.task_codes().get("follow-up-missed") == "requested"
    assert h.table[b"s01"] is s01
    assert h.p.index.last_tick(0) is None
    h.tick(END, key=b"nobody")  # a patient the worker does not know: nothing
    assert h.records() == []


# -- the changelog's limit ----------------------------------------------------------------------
def test_a_state_the_changelog_would_refuse_is_refused_and_the_old_state_kept() -> None:
    events = _events()
    probe = Harness()
    probe.feed(events)
    largest = {
        key: max(len(v or b"") for kind, k, v in probe.ops if kind == "write" and k == key)
        for key in (b"s01", b"s02")
    }
    assert largest[b"s01"] > largest[b"s02"]
    limit = largest[b"s01"] - 1  # s01's largest state is just over it, s02's are not
    h = Harness(max_request=limit + 512 + len(b"s01"))
    h.feed(events)
    refused = [rec for _, rec in h.records()]
    assert refused and all(r["error"]["issue"][0]["code"] == "too-long" for r in refused)
    assert "the event is refused and the state kept" in _diagnostics(refused[0])
    assert max(len(v or b"") for kind, k, v in h.ops if kind == "write" and k == b"s01") <= limit
    assert h.table[b"s02"] == probe.table[b"s02"], "the other patient goes on"


# -- dead letters name the original document ----------------------------------------------------
class Originals:
    topic = "care.inbound"

    def __init__(self, docs: dict[tuple[int, int], bytes]) -> None:
        self.docs = docs

    async def get(self, partition: int, offset: int) -> bytes | None:
        return self.docs.get((partition, offset))


def test_an_events_dead_letter_carries_its_inbound_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = (DATA / "01-discharge-home-to-iop.ndjson").read_bytes().splitlines()[0]
    h = Harness()
    h.p.originals = Originals({(2, 41): doc})  # type: ignore[assignment]
    sent: list[tuple[bytes | None, bytes, Any]] = []

    class Events:
        async def send(self, *, key: bytes, value: bytes, headers: Any) -> None:
            sent.append((key, value, headers))

    h.p.events = Events()  # type: ignore[assignment]
    inbound = h.message(doc, topic="care.inbound", partition=2, offset=41, key=None)
    asyncio.run(h.p.ingest_one(inbound))
    [(key, value, headers)] = sent
    assert hdr.inbound_of(headers) == ("care.inbound", 2, 41)

    def broken(*_: Any) -> Any:
        raise ValueError

    monkeypatch.setattr("agents.app.decide", broken)
    event = h.message(value, key=key, headers=headers, partition=1, offset=9)
    asyncio.run(h.p.guarded(event, h.p.transition_one, TRANSITIONS))
    [(_, rec)] = h.records()
    assert rec["source"] == {"topic": "care.inbound", "partition": 2, "offset": 41}
    assert rec["raw"] == doc.decode()


def test_an_event_whose_document_is_gone_keeps_its_own_bytes() -> None:
    h = Harness()
    h.p.originals = Originals({})  # type: ignore[assignment]
    headers = [(hdr.INBOUND, b"care.inbound:0:5")]
    event = h.message(b"\x00garbage", headers=headers)
    asyncio.run(h.p.guarded(event, h.p.transition_one, TRANSITIONS))
    [(_, rec)] = h.records()
    assert rec["source"] == {"topic": "care.inbound", "partition": 0, "offset": 5}
    assert rec["raw_encoding"] == "utf-8" and rec["raw"] == "\x00garbage"


# -- plausible time: the wall clock live, the replay's reference with --broker --until ----------
def _visit(when: datetime) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Observation",
            "id": "far",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": when.isoformat().replace("+00:00", "Z"),
            "valueInteger": 12,
        }
    )


def test_ingest_reads_times_against_the_wall_clock_or_the_runs_reference() -> None:
    far = datetime.now(UTC).replace(microsecond=0) + timedelta(days=120)
    h = Harness()
    sent: list[bytes] = []

    class Events:
        async def send(self, *, key: bytes, value: bytes, headers: Any) -> None:
            sent.append(value)

    h.p.events = Events()  # type: ignore[assignment]
    asyncio.run(h.p.ingest_one(h.message(_visit(far), topic="care.inbound")))
    [(_, rec)] = h.records()
    assert sent == [] and "effectiveDateTime" in _diagnostics(rec)
    reference = [(hdr.REFERENCE, far.isoformat().encode())]
    asyncio.run(h.p.ingest_one(h.message(_visit(far), topic="care.inbound", headers=reference)))
    assert len(sent) == 1 and len(h.records()) == 1


def test_a_message_cancelled_by_a_stop_on_purpose_does_not_count(tmp_path: Path) -> None:
    """A worker stopped on purpose cancels the message in hand: that is no crash."""
    path = tmp_path / "flight"
    h = Harness(FlightRecorder(path))

    async def cancelled(event: Any) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        _guard(h, cancelled, b'{"kind":"x"}')
    assert FlightRecorder(path).stopped == {}


class TooLarge(Exception):
    """What the producer raises for a record over its limit (aiokafka's
    MessageSizeTooLargeError, wrapped by Faust)."""


def test_an_output_the_producer_refuses_is_a_dead_letter_and_the_stream_goes_on() -> None:
    """s02's discharge opens Tasks the producer will not take: its event is run twice, then
    dead-lettered with no state stored (it would claim outputs never sent); s01 goes on."""
    events = _events()
    h = Harness()
    sent: list[bytes] = []

    class Topic:
        async def send(self, *, key: bytes, value: bytes, **_: Any) -> Any:
            if b'"s02"' in value:
                raise TooLarge
            sent.append(value)
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    h.p.tasks = h.p.referrals = Topic()  # type: ignore[assignment]
    h.feed(events)
    letters = h.records()
    assert letters and all(
        _diagnostics(r) == "internal error while processing: TooLarge then TooLarge"
        for _, r in letters
    )
    s02 = h.p._load(b"s02")[0]
    assert s02 is not None and not s02.tasks, "no state claims the Tasks that were not sent"
    assert h.table[b"s01"] and sent, "the other patient goes on"
