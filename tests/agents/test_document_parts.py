"""One dead-letter record per inbound document through the worker's agents (issue 11): a
document whose problems both agents find — an invalid entry (ingest) and a refused Task
update (transitions) — is one record, as embedded replay writes it, and a part repeated
after a stop is not a second one. A real ``Pipeline`` on in-memory topics routed by hand
(every topic one partition; no broker: the live check is o40 in
``tests/integration/test_worker_scenarios.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from agents import headers as hdr
from agents.app import Pipeline, Ports
from agents.documents import KEEP_SECONDS
from agents.engine import Engine
from agents.poison import DOCUMENTS, INGEST, TRANSITIONS, FlightRecorder
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES
from schemas.deadletter import document_record
from schemas.ingest import Limits

O40 = Path(__file__).parents[1] / "scenarios" / "own" / "o40-one-dead-letter-for-two-stages.ndjson"


class Topic:
    """One partition of a topic: what was sent to it, as the consumer would read it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[SimpleNamespace] = []

    async def send(
        self, *, key: bytes | None = None, value: bytes = b"", headers: Any = None, **_: Any
    ) -> Any:
        offset = len(self.records)
        msg = SimpleNamespace(
            topic=self.name, partition=0, offset=offset, key=key, value=value,
            headers=list(headers or []),
        )  # fmt: skip
        self.records.append(msg)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Originals:
    """Reads a ``care.inbound`` record back (``agents.kafka_io.RecordReader``'s part)."""

    def __init__(self, inbound: Topic) -> None:
        self.topic = inbound.name
        self.inbound = inbound

    async def get(self, partition: int, offset: int) -> bytes | None:
        return self.inbound.records[offset].value  # type: ignore[no-any-return]


class Worker:
    """A pipeline on in-memory topics; :meth:`run` moves every message through its agent
    in topic order (ingest, transitions, documents) until nothing is left."""

    def __init__(self, with_documents: bool = True) -> None:
        s = Settings(_env_file=None, broker="kafka://localhost:1")  # type: ignore[call-arg]
        self.t = {
            name: Topic(name)
            for name in (
                s.topic_inbound, s.topic_events, s.topic_tasks, s.topic_referrals,
                s.topic_deadletter, s.documents_topic,
            )
        }  # fmt: skip
        self.parts: dict[bytes, bytes] = {}
        ports = Ports(
            {},
            self.t[s.topic_events],
            self.t[s.topic_tasks],
            self.t[s.topic_referrals],
            self.t[s.topic_deadletter],
            max_request_size=1_000_000,
            documents=self.t[s.documents_topic] if with_documents else None,
            parts=self.parts if with_documents else None,
        )
        self.p = Pipeline(s, DEFAULT_RULES, ports, flight=FlightRecorder(None))
        self.p.originals = Originals(self.t[s.topic_inbound])  # type: ignore[assignment]
        self.s = s
        self.done = {name: 0 for name in self.t}

    def publish(self, raw: bytes) -> None:
        asyncio.run(self.t[self.s.topic_inbound].send(value=raw, headers=[]))

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        p, s = self.p, self.s
        agents = (
            (s.topic_inbound, p.ingest_one, INGEST),
            (s.topic_events, p.transition_one, TRANSITIONS),
            (s.documents_topic, p.collect_one, DOCUMENTS),
        )
        moved = True
        while moved:
            moved = False
            for name, work, slot in agents:
                for msg in self.t[name].records[self.done[name] :]:
                    await p.guarded(SimpleNamespace(message=msg), work, slot)
                    self.done[name] += 1
                    moved = True

    def again(self, topic: str, offset: int) -> None:
        """The message at ``offset`` of ``topic`` comes again (a stop before its commit)."""
        self.done[topic] = min(self.done[topic], offset)

    def sweep(self) -> None:
        """The leader's sweep timer fires: its messages go through the documents agent."""
        asyncio.run(self.p.send_sweeps())
        topic = self.t[self.s.documents_topic]
        for msg in topic.records[self.done[topic.name] :]:
            asyncio.run(self.p.guarded(SimpleNamespace(message=msg), self.p.collect_one, DOCUMENTS))
            self.done[topic.name] += 1

    def letters(self) -> list[dict[str, Any]]:
        return [orjson.loads(m.value) for m in self.t[self.s.topic_deadletter].records]


def _documents() -> Iterator[bytes]:
    for line in O40.read_bytes().splitlines():
        if line.strip():
            yield line


def _shape(issues: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    """An issue list without the words of its diagnostics (the refused Task's status
    depends on the clock of the run: failed by a tick, or completed)."""
    return [(i["severity"], i["code"], str(i.get("expression"))) for i in issues]


def _embedded() -> list[list[tuple[object, ...]]]:
    """The issues of each dead letter embedded replay writes for o40."""
    engine = Engine(DEFAULT_RULES, Limits(), "https://carepath.example/fhir")
    out = []
    for raw in _documents():
        result = engine.feed(raw)
        if result.errors:
            rec = document_record(result.errors, raw, {}, "", unlisted=result.unlisted)
            out.append(_shape(rec["error"]["issue"]))  # type: ignore[index]
    return out


def test_a_document_with_problems_in_both_agents_is_one_record_as_embedded() -> None:
    w = Worker()
    for raw in _documents():
        w.publish(raw)
    w.run()
    letters = w.letters()
    assert [_shape(rec["error"]["issue"]) for rec in letters] == _embedded()
    both = [rec for rec in letters if len(rec["error"]["issue"]) >= 2]
    assert len(both) == 1  # the batch Bundle: the invalid entry first, then the refusal
    assert both[0]["source"]["topic"] == "care.inbound"
    assert both[0]["raw"].startswith('{"resourceType":"Bundle"')
    assert w.parts and all(b"done" in v for v in w.parts.values())


def test_without_a_documents_topic_each_stage_writes_its_own_record() -> None:
    w = Worker(with_documents=False)
    for raw in _documents():
        w.publish(raw)
    w.run()
    assert len(w.letters()) == len(_embedded()) + 1


def test_parts_repeated_after_a_stop_are_not_a_second_record() -> None:
    w = Worker()
    for raw in _documents():
        w.publish(raw)
    w.run()
    first = w.letters()
    # every message of every topic comes again, as after a stop before any commit
    for name in w.t:
        w.again(name, 0)
    w.run()
    assert w.letters() == first or [r["error"] for r in w.letters()] == [r["error"] for r in first]
    assert len(w.letters()) == len(first)


def test_a_document_of_several_events_without_problems_writes_nothing() -> None:
    w = Worker()
    lines = list(_documents())
    w.publish(lines[0])
    w.run()
    assert w.letters() == []
    assert not any(hdr.part_of(m.headers) for m in w.t[w.s.topic_events].records)


def test_swept_documents_missing_parts_keep_the_problems_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = Worker()
    bundle = [raw for raw in _documents() if b'"type":"batch"' in raw]
    assert bundle
    w.publish(bundle[0])
    # the ingest agent only: its events never reach the transition agent
    asyncio.run(
        w.p.guarded(
            SimpleNamespace(message=w.t[w.s.topic_inbound].records[0]), w.p.ingest_one, INGEST
        )
    )
    for msg in w.t[w.s.documents_topic].records:
        asyncio.run(w.p.guarded(SimpleNamespace(message=msg), w.p.collect_one, DOCUMENTS))
        w.done[msg.topic] += 1
    assert w.letters() == [] and len(w.parts) == 1
    w.sweep()  # too early: kept
    assert len(w.parts) == 1
    import agents.app

    later = agents.app.time.time() + KEEP_SECONDS + 1
    monkeypatch.setattr(agents.app.time, "time", lambda: later)
    w.sweep()
    assert w.parts == {}
    [rec] = w.letters()
    codes = [issue["code"] for issue in rec["error"]["issue"]]
    assert codes[-1] == "incomplete" and len(codes) >= 2
