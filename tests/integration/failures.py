"""Harness of the failure tests (worker kills, broker restarts): nothing lost, nothing
duplicated with other content, whatever single failure happens mid-stream.

- :func:`population`: a deterministic stream from the synthetic population generator plus
  case-manager Task updates for Tasks the pipeline emits (legal and illegal moves, so the
  transition agent's rejections and status re-publications are exercised too);
- :class:`Publisher`: a background thread publishing the stream to ``care.inbound`` at a
  steady pace, keyed by patient as ``carepath replay --broker`` does, each document with a
  ``carepath-doc`` header (its index); an idempotent producer that retries through broker
  outages, so the topic holds every document exactly once, in order;
- :func:`expected`: the same documents through the embedded engine, plus the final tick;
- :func:`observe` and :func:`compare`: what the worker published, checked against it;
- the steps the tests share around their disturbances: :func:`topics`, :func:`publishing`,
  :func:`committed` and :func:`resumed` (a restarted worker's progress), :func:`drained`
  (everything committed on ``care.inbound``, then ``care.events``), :func:`final_tick`,
  :func:`finish_stream` (the publisher's end, :func:`drained`, :func:`final_tick`),
  :func:`conclude` (the summary line) and :meth:`Report.explain` (an assertion's message).

How outputs compare: the final state (last version in topic order; one id always has one
key, so one partition) of every Task and ServiceRequest must equal embedded replay's, with
the same set of ids; and every publication of an id, repeated or not, must be a version
embedded replay also published for that id.

How dead letters compare: each record names its document (the ``carepath-doc`` header,
which the worker copies from ``care.inbound`` onto events and dead letters) and its error;
a repeat after a crash has the same document and the same error, so the records are
compared as a set of (document, error) identities, one per embedded dead letter; ingest's
records must also carry the document's bytes and its ``care.inbound`` offset.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError

from agents import kafka_io
from agents.bench.population import generate
from agents.engine import Engine
from pipeline.config import DEFAULT_RULES
from pipeline.events import Tick
from pipeline.outputs import Rejected, TaskRecord
from schemas.deadletter import dead_letter_record
from schemas.ingest import Limits, ingest
from schemas.outbound import DEFAULT_BASE, render
from schemas.wire import encode_event
from tests.integration.worker import WorkerEnv

LIMITS = Limits(max_bytes=1_048_576, max_depth=64)
DOC_HEADER = "carepath-doc"
UNTIL = datetime(2026, 12, 31, tzinfo=UTC)  # the final tick: every pending deadline fires

# Case-manager moves on a requested Task (some illegal: the transition agent dead-letters them).
_MOVES = [
    ("accepted", 4),
    ("in-progress", 3),
    ("completed", 4),
    ("cancelled", 2),
    ("failed", 1),
    ("rejected", 1),
    ("entered-in-error", 1),
    ("on-hold", 2),
]


@dataclass(frozen=True)
class Stream:
    docs: list[bytes]
    keys: list[bytes | None]
    patients: int
    task_updates: int


def _key(doc: bytes) -> bytes | None:
    events = ingest(doc, LIMITS, DEFAULT_BASE).events
    return events[0].patient.encode() if events else None


def population(n_docs: int, seed: int, update_rate: float = 0.012) -> Stream:
    """The first ``n_docs`` documents of a population spread over a month (thousands of
    patients), with about ``update_rate`` Task updates inserted after their Tasks."""
    docs = list(itertools.islice(generate(6000, seed, span_days=30), n_docs))
    docs, n_updates = _with_task_updates(docs, random.Random(f"updates-{seed}"), update_rate)
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    for doc in docs:
        engine.feed(doc)
    return Stream(docs, [_key(d) for d in docs], len(engine.states), n_updates)


def _with_task_updates(
    docs: list[bytes], rng: random.Random, rate: float
) -> tuple[list[bytes], int]:
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    inserts: dict[int, list[bytes]] = defaultdict(list)
    n = 0
    for i, doc in enumerate(docs):
        for out in engine.feed(doc).outputs:
            if isinstance(out, TaskRecord) and out.status == "requested" and rng.random() < rate:
                status = rng.choices([m for m, _ in _MOVES], [w for _, w in _MOVES])[0]
                when = out.authored + timedelta(hours=rng.randint(1, 72))
                update = {
                    "resourceType": "Task",
                    "id": out.id,
                    "status": status,
                    "intent": "order",
                    "for": {"reference": f"Patient/{out.patient}"},
                    "lastModified": when.isoformat().replace("+00:00", "Z"),
                    "statusReason": {"text": f"{status} by the failure test"},
                }
                inserts[min(i + rng.randint(1, 400), len(docs))].append(orjson.dumps(update))
                n += 1
    merged = [d for i, doc in enumerate(docs) for d in (*inserts.pop(i, []), doc)]
    merged.extend(inserts.pop(len(docs), []))
    return merged, n


# ---------------------------------------------------------------------------------------------
# Publishing


class Publisher(threading.Thread):
    """Publishes the stream at ``rate`` documents a second; ``sent`` counts handed-over ones."""

    def __init__(self, bootstrap: str, topic: str, stream: Stream, rate: float) -> None:
        super().__init__(name="publisher", daemon=True)
        self.bootstrap, self.topic, self.stream, self.rate = bootstrap, topic, stream, rate
        self.sent = 0
        self.errors: list[BaseException] = []
        self.elapsed = 0.0

    def run(self) -> None:
        try:
            self._publish()
        except BaseException as e:  # reported by the test
            self.errors.append(e)

    def _publish(self) -> None:
        prod = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,  # a retry after a lost ack is not written twice
            linger_ms=5,
            reconnect_backoff_max_ms=1000,
            delivery_timeout_ms=300_000,
            max_block_ms=300_000,
        )
        futures = []
        start = time.monotonic()
        try:
            for i, (key, doc) in enumerate(zip(self.stream.keys, self.stream.docs, strict=True)):
                ahead = start + i / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                headers = [(DOC_HEADER, str(i).encode())]
                futures.append(prod.send(self.topic, key=key, value=doc, headers=headers))
                self.sent = i + 1
            prod.flush()
            for f in futures:
                f.get(timeout=0)  # raises if a document was not written
        finally:
            prod.close()
            self.elapsed = time.monotonic() - start


def publishing(bootstrap: str, wenv: WorkerEnv, stream: Stream, rate: float) -> Publisher:
    """A :class:`Publisher` of the stream to the worker's ``care.inbound``, started."""
    publisher = Publisher(bootstrap, wenv.topic("care.inbound"), stream, rate)
    publisher.start()
    return publisher


def send_ticks(bootstrap: str, topic: str, when: datetime) -> None:
    """The final tick to every partition of ``care.events``, as ``replay --broker`` does."""
    tick = encode_event(Tick(time=when))
    prod = kafka_io.producer(bootstrap)
    try:
        for p in kafka_io.end_offsets(bootstrap, topic):
            prod.send(topic, value=tick, partition=p)
        prod.flush()
    finally:
        prod.close()


# ---------------------------------------------------------------------------------------------
# The worker's progress


def committed(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets on ``topic`` (-1 if the broker cannot say)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    except KafkaError:
        return -1
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    except KafkaError:
        return -1
    finally:
        admin.close()
    return sum(om.offset for tp, om in offsets.items() if tp.topic == topic)


def resumed(bootstrap: str, wenv: WorkerEnv, since: int, timeout: float) -> None:
    """Until the worker's group commits past ``since`` on ``care.inbound`` (a restarted
    worker made progress)."""
    deadline = time.monotonic() + timeout
    while committed(bootstrap, wenv.group, wenv.topic("care.inbound")) <= since:
        assert time.monotonic() < deadline, "the restarted worker made no progress"
        time.sleep(0.2)


def drained(bootstrap: str, wenv: WorkerEnv, timeout: float) -> None:
    """Until the worker's group committed everything on ``care.inbound``, then on
    ``care.events``."""
    for name in ("inbound", "events"):
        kafka_io.wait_committed(bootstrap, wenv.group, wenv.topic(f"care.{name}"), timeout)


def final_tick(
    bootstrap: str,
    wenv: WorkerEnv,
    timeout: float,
    during: Callable[[], object] | None = None,
) -> None:
    """The final tick (:data:`UNTIL`) to the worker's ``care.events``, ``during`` (a
    disturbance while the worker processes it), then until its group committed it."""
    send_ticks(bootstrap, wenv.topic("care.events"), UNTIL)
    if during is not None:
        during()
    kafka_io.wait_committed(bootstrap, wenv.group, wenv.topic("care.events"), timeout)


def finish_stream(
    publisher: Publisher,
    bootstrap: str,
    wenv: WorkerEnv,
    publish_timeout: float,
    timeout: float,
    during_tick: Callable[[], object] | None = None,
) -> None:
    """The end of a failure test's stream: until the publisher has handed over all of it
    (``publish_timeout``; failing on any error it met), then :func:`drained`, then
    :func:`final_tick` (``during_tick`` while the worker processes it); ``timeout`` for
    each wait on the worker's group."""
    publisher.join(timeout=publish_timeout)
    assert not publisher.is_alive() and not publisher.errors, publisher.errors
    drained(bootstrap, wenv, timeout)
    final_tick(bootstrap, wenv, timeout, during_tick)


# ---------------------------------------------------------------------------------------------
# Expected and observed


DeadKey = tuple[int, bytes]  # (document index, error OperationOutcome as JSON)


@dataclass
class Outputs:
    """Publications per resource id, in order (embedded: emission; Kafka: topic order)."""

    versions: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    dead: Counter[DeadKey] = field(default_factory=Counter)
    dead_raw: dict[DeadKey, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    dead_source_ok: bool = True

    def add(self, value: bytes) -> None:
        doc = orjson.loads(value)
        self.versions[f"{doc['resourceType']}/{doc['id']}"].append(value)

    @property
    def publications(self) -> int:
        return sum(len(v) for v in self.versions.values())

    def final(self) -> dict[str, bytes]:
        return {rid: v[-1] for rid, v in self.versions.items()}


def expected(stream: Stream, until: datetime = UNTIL) -> Outputs:
    """Embedded replay of the stream (one process, no broker), then the final tick."""
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    exp = Outputs()
    for i, doc in enumerate(stream.docs):
        result = engine.feed(doc)
        for out in result.outputs:
            exp.add(render(out, DEFAULT_BASE))
        for err in result.errors:
            pair = (err.diagnostics, err.expression) if isinstance(err, Rejected) else err
            raw = doc if isinstance(err, Rejected) else err.raw
            rec = dead_letter_record(pair, raw, {}, "", LIMITS.max_bytes)
            key = (i, orjson.dumps(rec["error"]))
            exp.dead[key] += 1
            if not isinstance(err, Rejected):
                exp.dead_raw[key].add(orjson.dumps({k: rec[k] for k in _RAW_FIELDS}))
    for out in engine.tick(until):
        exp.add(render(out, DEFAULT_BASE))
    return exp


_RAW_FIELDS = ("raw", "raw_encoding", "raw_truncated")


def topics(wenv: WorkerEnv) -> dict[str, str]:
    """The worker's topics by short name, as :func:`observe` takes them."""
    names = ("inbound", "events", "tasks", "referrals", "deadletter")
    return {n: wenv.topic(f"care.{n}") for n in names}


def observe(bootstrap: str, topic: dict[str, str], stream: Stream) -> Outputs:
    """Everything the worker published, read to the end of each topic."""
    check_inbound(bootstrap, topic["inbound"], stream)
    seen = Outputs()
    for name in ("referrals", "tasks"):
        for rec in kafka_io.read_topic(bootstrap, topic[name], timeout=120):
            seen.add(rec.value)
    for rec in kafka_io.read_topic(bootstrap, topic["deadletter"], timeout=120):
        doc = int(dict(rec.headers)[DOC_HEADER])
        body = orjson.loads(rec.value)
        key = (doc, orjson.dumps(body["error"]))
        seen.dead[key] += 1
        source = body["source"]
        if source["topic"] == topic["inbound"]:
            seen.dead_raw[key].add(orjson.dumps({k: body[k] for k in _RAW_FIELDS}))
            seen.dead_source_ok &= source["partition"] == 0 and source["offset"] == doc
    return seen


def check_inbound(bootstrap: str, topic: str, stream: Stream) -> None:
    """``care.inbound`` holds every document once, in order (the publisher's promise)."""
    got = [
        (r.offset, dict(r.headers).get(DOC_HEADER), r.value)
        for r in kafka_io.read_topic(bootstrap, topic, timeout=120)
    ]
    want = [(i, str(i).encode(), d) for i, d in enumerate(stream.docs)]
    assert len(got) == len(want), f"care.inbound holds {len(got)} records for {len(want)}"
    assert got == want, "care.inbound differs from the published stream"


# ---------------------------------------------------------------------------------------------
# Comparison


@dataclass
class Report:
    events: int
    patients: int
    publications: int
    expected_publications: int
    repeated: int  # publications beyond embedded replay's (same id, same content)
    ids: int
    dead_letters: int  # distinct (document, error)
    dead_letter_records: int  # records on care.deadletter, repeats included
    differences: list[str]

    def line(self) -> str:
        return (
            f"{self.events} documents, {self.patients} patients, {self.ids} resource ids, "
            f"{self.publications} publications (embedded {self.expected_publications}, "
            f"{self.repeated} repeated), dead letters {self.dead_letters} "
            f"({self.dead_letter_records} records), differences {len(self.differences)}"
        )

    def explain(self, tail: str) -> str:
        """The first 40 differences, then ``tail`` (the end of a worker's log): the message
        of a test's assertion that there are none."""
        return "\n".join(self.differences[:40]) + "\n" + tail


def compare(stream: Stream, exp: Outputs, seen: Outputs) -> Report:
    diffs: list[str] = []
    e_final, k_final = exp.final(), seen.final()
    for rid in sorted(set(e_final) | set(k_final)):
        if rid not in k_final:
            diffs.append(f"missing {rid}: {e_final[rid][:200]!r}")
        elif rid not in e_final:
            diffs.append(f"extra {rid}: {k_final[rid][:200]!r}")
        elif e_final[rid] != k_final[rid]:
            diffs.append(f"final {rid}: kafka {k_final[rid]!r} != embedded {e_final[rid]!r}")
    for rid, versions in seen.versions.items():
        allowed = set(exp.versions.get(rid, ()))
        for v in versions:
            if allowed and v not in allowed:
                diffs.append(f"publication of {rid} never made by embedded replay: {v!r}")
    missing_dead = set(exp.dead) - set(seen.dead)
    extra_dead = set(seen.dead) - set(exp.dead)
    diffs += [f"dead letter missing: doc {d} {e!r}" for d, e in sorted(missing_dead)]
    diffs += [f"dead letter extra: doc {d} {e!r}" for d, e in sorted(extra_dead)]
    diffs += [f"embedded dead letter twice: doc {k[0]}" for k, n in exp.dead.items() if n > 1]
    for key, raws in exp.dead_raw.items():
        if seen.dead_raw.get(key, raws) != raws:
            diffs.append(f"dead letter raw differs: doc {key[0]}")
    if not seen.dead_source_ok:
        diffs.append("an ingest dead letter names another source offset than its document's")
    return Report(
        events=len(stream.docs),
        patients=stream.patients,
        publications=seen.publications,
        expected_publications=exp.publications,
        repeated=seen.publications - exp.publications,
        ids=len(e_final),
        dead_letters=len(set(seen.dead)),
        dead_letter_records=sum(seen.dead.values()),
        differences=diffs,
    )


def conclude(tmp: Path, summary: str, report: Report) -> None:
    """Print a test's summary line (``pytest -s``) and write it, with the differences, to
    ``report.txt`` in ``tmp``."""
    print(summary)
    (tmp / "report.txt").write_text(summary + "\n" + "\n".join(report.differences))
