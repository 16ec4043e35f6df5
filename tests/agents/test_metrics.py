"""The worker's metrics (``agents.metrics``) count what embedded replay counts: the sample
stream through the agents' shell (a real ``Pipeline`` on a dict table, its topics sinks;
no broker) gives exactly the documents by outcome, ignored by reason class, events by
kind, outputs by rule and dead letters by stage and reason that ``agents.engine`` and the
boundary give for the same documents. ``tests/integration/test_worker_metrics.py`` checks
the same numbers on a live worker's ``/metrics``."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agents import headers as hdr
from agents.engine import Engine
from agents.metrics import MAX_REASONS, OTHER, Position, WorkerMetrics
from agents.ops_server import Probe
from agents.poison import INGEST, TRANSITIONS
from agents.settings import Settings
from agents.worker import build
from pipeline.config import DEFAULT_RULES
from pipeline.outputs import Rejected, TaskRecord
from schemas.ingest import Limits, ingest
from tests.agents.test_crash_points import _pipeline

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.ndjson"
#: The plausibility checks' reference (header ``carepath-reference``), as replay --until.
REFERENCE = datetime(2026, 8, 1, tzinfo=UTC)
#: The counters compared, each by its labels in the order of the metric's label names.
COUNTERS = ("documents", "ignored", "dead_letters", "events", "outputs")
Counts = dict[str, Counter[tuple[str, ...]]]


def sample_lines() -> list[bytes]:
    return [line for line in SAMPLE.read_bytes().splitlines() if line.strip()]


def expected(lines: list[bytes], reference: datetime = REFERENCE) -> Counts:
    """What the worker must count for ``lines`` (default settings and rules, no ticks)."""
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = Limits(max_bytes=s.max_bytes, max_depth=s.max_depth)
    engine = Engine(DEFAULT_RULES, limits, s.base_url, reference=reference)
    out: Counts = {name: Counter() for name in COUNTERS}
    for raw in lines:
        boundary = ingest(raw, limits, s.base_url, rules=DEFAULT_RULES, reference=reference)
        result = engine.feed(raw)
        outcome = "dead_letter" if boundary.errors else "accepted" if boundary.events else "ignored"
        out["documents"][(outcome,)] += 1
        if boundary.errors:
            out["dead_letters"][("invalid", "ingest")] += 1
        rejected = [e for e in result.errors if isinstance(e, Rejected)]
        out["dead_letters"][("rejected", "transitions")] += len(rejected)
        for o in result.outputs:
            resource = "Task" if isinstance(o, TaskRecord) else "ServiceRequest"
            out["outputs"][(resource, o.rule)] += 1
    out["events"].update({(kind,): n for kind, n in engine.stats.events.items()})
    out["ignored"].update({(reason,): n for reason, n in engine.stats.reasons.items()})
    return {name: +c for name, c in out.items()}  # no zero entries


def counted(families: Iterable[Any]) -> Counts:
    """Our counters from metric families (a registry's, or parsed ``/metrics`` text), each
    keyed by its label values in sorted label-name order, zeros left out."""
    out: Counts = {name: Counter() for name in COUNTERS}
    for family in families:
        name = family.name.removeprefix("carepath_")
        if name not in out:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.value:
                labels = tuple(v for _, v in sorted(sample.labels.items()))
                out[name][labels] += int(sample.value)
    return out


def parsed(metrics: WorkerMetrics) -> Counts:
    """Through the text format, as a scrape reads it."""
    return counted(text_string_to_metric_families(generate_latest(metrics.registry).decode()))


async def _through_the_shell(lines: list[bytes], metrics: WorkerMetrics) -> None:
    """Each document through the ingest agent's work, then the events it sent through the
    transition agent's, both under the error policy, as the worker runs them."""
    events: list[tuple[bytes | None, bytes, Any]] = []

    class Events:
        async def send(self, *, key: bytes, value: bytes, headers: Any, **_: Any) -> None:
            events.append((key, value, headers))

    p = _pipeline({}, [], events=Events(), metrics=metrics)
    reference = [(hdr.REFERENCE, REFERENCE.isoformat().encode())]
    for offset, raw in enumerate(lines):
        msg = SimpleNamespace(
            topic="care.inbound", partition=0, offset=offset, key=None, value=raw, headers=reference
        )
        await p.guarded(SimpleNamespace(message=msg), p.ingest_one, INGEST)
    for offset, (key, value, headers) in enumerate(events):
        msg = SimpleNamespace(
            topic="care.events", partition=0, offset=offset, key=key, value=value, headers=headers
        )
        await p.guarded(SimpleNamespace(message=msg), p.transition_one, TRANSITIONS)


def test_the_sample_is_counted_as_embedded_replay_counts_it() -> None:
    lines = sample_lines()
    metrics = WorkerMetrics()
    asyncio.run(_through_the_shell(lines, metrics))
    want = expected(lines)
    # the sample has every kind of document, dead letter and output
    assert set(want["documents"]) == {("accepted",), ("ignored",), ("dead_letter",)}
    assert want["dead_letters"] and want["ignored"] and want["outputs"]
    assert sum(want["documents"].values()) == len(lines)
    assert parsed(metrics) == want
    assert counted(metrics.registry.collect()) == want
    r = metrics.registry
    assert r.get_sample_value("carepath_processing_seconds_count", {"stage": "ingest"}) == len(
        lines
    )
    events = sum(want["events"].values())
    assert r.get_sample_value("carepath_processing_seconds_count", {"stage": "transitions"}) == (
        events
    )
    assert metrics.next_offsets == {("care.inbound", 0): len(lines), ("care.events", 0): events}


def test_a_document_the_agent_fails_on_twice_is_a_dead_lettered_document() -> None:
    metrics = WorkerMetrics()
    letters: list[Any] = []

    class Letters:
        async def send(self, **kw: Any) -> None:
            letters.append(kw)

    p = _pipeline({}, [], letters=Letters(), metrics=metrics)

    async def broken(event: Any) -> None:
        raise RuntimeError

    msg = SimpleNamespace(
        topic="care.inbound", partition=0, offset=7, key=None, value=b"{}", headers=[]
    )
    asyncio.run(p.guarded(SimpleNamespace(message=msg), broken, INGEST))
    assert len(letters) == 1
    assert parsed(metrics) == {
        "documents": Counter({("dead_letter",): 1}),
        "ignored": Counter(),
        "dead_letters": Counter({("internal-error", "ingest"): 1}),
        "events": Counter(),
        "outputs": Counter(),
    }
    assert metrics.next_offsets == {("care.inbound", 0): 8}


def test_reason_labels_are_bounded() -> None:
    metrics = WorkerMetrics()
    for i in range(MAX_REASONS + 5):
        metrics.ignored(f"reason {chr(65 + i % 26)}{chr(65 + i // 26)}")
    metrics.ignored("reason AA")  # known: counted under its own label
    ignored = parsed(metrics)["ignored"]
    assert len(ignored) == MAX_REASONS + 1
    assert ignored[(OTHER,)] == 5 and ignored[("reason AA",)] == 2


def test_lag_is_the_end_offset_minus_the_next_offset_to_process() -> None:
    metrics = WorkerMetrics()
    metrics.ready = lambda: True
    metrics.positions = [
        Position("care.inbound", 0, end=10, next=7),
        Position("care.events", 1, end=None, next=3),  # no fetch answer yet: no lag
        Position("care.events", 2, end=5, next=None),  # no position yet: neither
    ]
    families = {
        f.name: {
            tuple(s.labels[k] for k in ("topic", "partition") if k in s.labels): s.value
            for s in f.samples
        }
        for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())
    }
    assert families["carepath_consumer_lag"] == {("care.inbound", "0"): 3.0}
    assert families["carepath_consumer_next_offset"] == {
        ("care.inbound", "0"): 7.0,
        ("care.events", "1"): 3.0,
    }
    assert families["carepath_ready"] == {(): 1.0}
    metrics.processed(INGEST, "care.inbound", 0, 41, 0.001)
    metrics.forget([("care.inbound", 0)])
    assert metrics.next_offsets == {}


def test_ready_once_recovered_and_not_while_rebalancing() -> None:
    """``/readyz`` reads a Faust app's own flags (a real app, not started)."""
    p = build(Settings(app_id="test-readyz", broker="kafka://localhost:1"))
    probe = Probe(p.app, {"care.inbound", "care.events"}, p.metrics)
    assert probe.not_ready() == "waiting for partitions" and not p.metrics.ready()
    assert asyncio.run(probe.positions()) == []
    p.app.tables.recovery.completed.set()  # what Recovery does once the table is recovered
    assert probe.not_ready() is None and p.metrics.ready()
    p.app.on_rebalance_start()  # what the consumer calls when the group rebalances
    assert probe.not_ready() == "rebalancing"
