"""Kafka figures: end-to-end throughput of one worker vs a raw passthrough, and latency from
``care.inbound`` to ``care.tasks`` at fixed offered loads.

How each figure is measured (docs/benchmarks.md repeats this):

- **Throughput** (worker and passthrough alike): the consumer process is started and ready
  (the worker has processed a warm-up document end to end; the passthrough is assigned).
  The bench then publishes N documents as fast as it can (aiokafka, ``acks=all``); ``t0`` is
  just before the first send. ``t1`` is the first moment the consumer group's committed
  offsets cover everything: for the passthrough, every partition of the source topic; for
  the worker, every partition of the inbound topic and then of the events topic (read after
  the inbound topic is done, so it includes every event the ingest agent wrote). Figure:
  N / (t1 − t0). Both commit every second, so the figure carries up to ~1 s of commit
  latency on both sides; committed offsets are polled every 50 ms.
- **Latency**: the inbound and tasks topics are created with
  ``message.timestamp.type=LogAppendTime``, so both timestamps are the broker's append
  times (one clock). A paced producer offers documents at a fixed rate; afterwards the
  bench reads both topics back and pairs each new case-management Task of a rule that
  fires on the document itself (C-FOLLOWUP, C-AMA, C-CRISIS, C-SAFETY, C-SI-SCREEN, C-SUD,
  C-NO-SHOW, C-DISENGAGED) with the latest inbound document that carries the Task's
  ``focus`` resource and was appended before it. Latency = Task append time − document
  append time.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import orjson

from agents import kafka_io
from agents.bench import templates as T
from agents.bench.faust_skeleton import MID_PARTITIONS
from agents.kafka_io import Offsets, publish_values
from agents.security import Connection, child_env
from agents.settings import environ_without_settings

Target: TypeAlias = str | Connection  # host:port (PLAINTEXT) or a secure connection

Progress = Callable[[str], None]
PARTITIONS = 4  # care.events and the output topics
INBOUND_PARTITIONS = 1  # documents carry no patient key: one partition keeps their order
POLL_S = 0.05
READ_TIMEOUT_S = 120.0  # reading a topic back after a run
PASSTHROUGH_RUNS = 3
IMMEDIATE_RULES = frozenset(
    {"C-FOLLOWUP", "C-AMA", "C-CRISIS", "C-SAFETY", "C-SI-SCREEN", "C-SUD", "C-NO-SHOW"}
    | {"C-DISENGAGED"}
)
LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}


@dataclass
class LoadPoint:
    offered_eps: float
    published: int
    seconds: float  # first publish to all committed
    samples: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    window: tuple[float, float] = (0.0, 0.0)  # epoch seconds of first publish, all committed
    sentinel: str = ""  # focus of the end-marker Task
    span_ms: float | None = None  # first document appended → sentinel's Task appended

    def set_latencies(self, lat: list[float]) -> None:
        """Sample count, p50, nearest-rank p99 and max of the latencies ``lat`` (ms)."""
        lat = sorted(lat)
        self.samples = len(lat)
        if lat:
            self.p50_ms = statistics.median(lat)
            self.p99_ms = lat[max(0, math.ceil(0.99 * len(lat)) - 1)]  # nearest rank
            self.max_ms = lat[-1]

    @property
    def achieved_eps(self) -> float:
        """Documents processed per second: to the sentinel's Task if it was seen (broker
        clock), else to the commit that covered everything (up to 1 s late)."""
        if self.span_ms:
            return self.published / (self.span_ms / 1000)
        return self.published / self.seconds if self.seconds else 0.0


@dataclass
class KafkaResult:
    n_messages: int = 0
    passthrough_seconds: float = 0.0
    passthrough_cpu: float = 0.0
    worker_seconds: float = 0.0
    worker_cpu: float = 0.0
    worker_outputs: int = 0
    worker_dead_letters: int = 0
    expected_outputs: int = 0  # what embedded replay emits for the same burst
    expected_dead_letters: int = 0
    loads: list[LoadPoint] = field(default_factory=list)
    skeleton_seconds: float = 0.0  # the Faust skeleton over the same burst
    skeleton_cpu: float = 0.0
    skeleton_load: LoadPoint | None = None  # the skeleton at the latency load
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passthrough_eps(self) -> float:
        return self.n_messages / self.passthrough_seconds if self.passthrough_seconds else 0.0

    @property
    def kafka_eps(self) -> float:
        return self.n_messages / self.worker_seconds if self.worker_seconds else 0.0

    @property
    def skeleton_eps(self) -> float:
        return self.n_messages / self.skeleton_seconds if self.skeleton_seconds else 0.0

    @property
    def skeleton_cpu_us(self) -> float:
        return 1e6 * self.skeleton_cpu / self.n_messages if self.n_messages else 0.0

    @property
    def worker_cpu_us(self) -> float:
        """Worker CPU time per document (µs): robust against a busy machine."""
        return 1e6 * self.worker_cpu / self.n_messages if self.n_messages else 0.0

    @property
    def passthrough_cpu_us(self) -> float:
        return 1e6 * self.passthrough_cpu / self.n_messages if self.n_messages else 0.0


# -- Kafka helpers (agents.kafka_io) ---------------------------------------------------------
def create_topics(bootstrap: Target, topics: dict[str, tuple[int, dict[str, str]]]) -> None:
    """Create ``{name: (partitions, config)}`` and wait until every partition has a leader."""
    partitions = {t: n for t, (n, _) in topics.items()}
    configs = {t: cfg for t, (_, cfg) in topics.items() if cfg}
    kafka_io.ensure_topics(bootstrap, partitions, configs=configs)
    kafka_io.wait_leaders(bootstrap, partitions)


def delete_topics(bootstrap: Target, prefix: str) -> None:
    """Delete a run's topics (``<prefix>…``): a clean-up that never fails the bench."""
    with contextlib.suppress(Exception):
        kafka_io.delete_topics(bootstrap, prefix)


def read_all(bootstrap: Target, topic: str) -> list[tuple[int, bytes]]:
    """(timestamp ms, value) of every record of ``topic`` up to its current end."""
    return [(r.timestamp, r.value) for r in kafka_io.read_topic(bootstrap, topic, READ_TIMEOUT_S)]


# -- processes -----------------------------------------------------------------------------
class Proc:
    """A child process in its own session; stderr (and stdout unless piped) go to ``log``."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, pipe: bool = False) -> None:
        self.log = log
        self._out = log.open("ab")
        stdout = subprocess.PIPE if pipe else self._out
        self.p = subprocess.Popen(
            argv, env=env, stdout=stdout, stderr=self._out, start_new_session=True
        )

    def alive(self) -> bool:
        return self.p.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads)."""
        import psutil

        try:
            t = psutil.Process(self.p.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)

    def wait_line(self, text: str, timeout: float) -> None:
        import selectors

        assert self.p.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                line = self.p.stdout.readline()
                if text.encode() in line:
                    return
                if not line and not self.alive():
                    break
        raise RuntimeError(f"{self.p.args} did not print {text!r}:\n{self.tail()}")

    def stop(self, grace: float = 30.0) -> None:
        if self.alive():
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        if self.p.stdout is not None:
            self.p.stdout.close()
        self._out.close()

    def tail(self, n: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-n:])


def worker_env(bootstrap: Target, tag: str, datadir: Path) -> dict[str, str]:
    env = environ_without_settings()
    env.update(
        {
            "CAREPATH_BROKER": f"kafka://{bootstrap}",
            "CAREPATH_APP_ID": f"bench-{tag}",
            "CAREPATH_TOPIC_INBOUND": f"{tag}.care.inbound",
            "CAREPATH_TOPIC_EVENTS": f"{tag}.care.events",
            "CAREPATH_TOPIC_TASKS": f"{tag}.care.tasks",
            "CAREPATH_TOPIC_REFERRALS": f"{tag}.care.referrals",
            "CAREPATH_TOPIC_DEADLETTER": f"{tag}.care.deadletter",
            "CAREPATH_PARTITIONS": str(PARTITIONS),
            "CAREPATH_TICK_INTERVAL": "0",
            "CAREPATH_WEB_PORT": "off",  # test and bench workers share a host: no /metrics
            "CAREPATH_DATADIR": str(datadir),
            "CAREPATH_LOG_LEVEL": "warning",
            **child_env(bootstrap),
        }
    )
    return env


# -- the three measurements ----------------------------------------------------------------
def run_passthrough(
    bootstrap: Target, docs: list[bytes], workdir: Path, progress: Progress
) -> tuple[float, float]:
    """(wall seconds, passthrough CPU seconds) to pass ``docs`` through."""
    tag = "bench-pt-" + uuid.uuid4().hex[:8]
    src, dst, group = f"{tag}.src", f"{tag}.dst", f"{tag}-group"
    create_topics(bootstrap, {src: (INBOUND_PARTITIONS, {}), dst: (PARTITIONS, {})})
    argv = [sys.executable, "-m", "agents.bench.passthrough", "--bootstrap", str(bootstrap)]
    argv += [
        "--src",
        src,
        "--partitions",
        str(INBOUND_PARTITIONS),
        "--dst",
        dst,
        "--group",
        group,
        "--count",
        str(len(docs)),
    ]
    env = environ_without_settings() | child_env(bootstrap)
    proc = Proc(argv, env, workdir / "passthrough.log", pipe=True)
    offsets = Offsets(bootstrap)
    try:
        proc.wait_line("ready", 60)
        progress(f"passthrough: publishing {len(docs):,} documents")
        cpu0, t0 = proc.cpu_seconds(), time.perf_counter()
        publish_values(bootstrap, src, docs)
        offsets.wait_committed(group, src, 300, proc.alive, POLL_S)
        seconds = time.perf_counter() - t0
        cpu = proc.cpu_seconds() - cpu0
    finally:
        offsets.close()
        proc.stop()
        delete_topics(bootstrap, tag)
    return seconds, cpu


class TwoHopRun:
    """A consumer process of two hops (``first`` topic → ``second`` topic → ...) in
    consumer group ``group``: processed = the group has committed ``first``, then
    ``second`` (whose end is read after ``first`` is done). Subclasses set the fields and
    start ``proc``."""

    name: str
    bootstrap: Target
    tag: str  # every topic of the run is named <tag>.…
    group: str
    first: str
    second: str
    proc: Proc
    offsets: Offsets
    progress: Progress

    def wait_processed(self, timeout: float) -> None:
        alive = self.proc.alive
        self.offsets.wait_committed(self.group, self.first, timeout, alive, POLL_S)
        self.offsets.wait_committed(self.group, self.second, timeout, alive, POLL_S)

    def warm_up(self, docs: list[bytes], timeout: float = 120) -> None:
        self.progress(f"{self.name}: starting and warming up")
        publish_values(self.bootstrap, self.first, docs)
        try:
            self.wait_processed(timeout)
        except (TimeoutError, RuntimeError) as e:
            raise RuntimeError(f"{e}\n{self.name} log:\n{self.proc.tail()}") from e

    def burst(self, docs: list[bytes]) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the process) to process ``docs`` published at once."""
        self.progress(f"{self.name}: publishing {len(docs):,} documents as fast as possible")
        cpu0, t0 = self.proc.cpu_seconds(), time.perf_counter()
        publish_values(self.bootstrap, self.first, docs)
        self.wait_processed(600)
        return time.perf_counter() - t0, self.proc.cpu_seconds() - cpu0

    def close(self) -> None:
        """Stop the process and delete its topics (all named ``<tag>.…``)."""
        self.offsets.close()
        self.proc.stop()
        delete_topics(self.bootstrap, self.tag)


class WorkerRun(TwoHopRun):
    """One ``carepath worker`` subprocess on unique topics, for throughput then latency."""

    name = "worker"

    def __init__(
        self,
        bootstrap: Target,
        workdir: Path,
        progress: Progress,
        settings: dict[str, str] | None = None,  # more CAREPATH_* for the worker (A/B runs)
    ) -> None:
        self.bootstrap = bootstrap
        self.tag = "bench-" + uuid.uuid4().hex[:8]
        self.env = worker_env(bootstrap, self.tag, workdir / f"worker-data-{self.tag}")
        self.env.update(settings or {})
        self.group = self.env["CAREPATH_APP_ID"]
        self.inbound = self.env["CAREPATH_TOPIC_INBOUND"]
        self.events = self.env["CAREPATH_TOPIC_EVENTS"]
        self.tasks = self.env["CAREPATH_TOPIC_TASKS"]
        self.progress = progress
        # all five topics up front, with the worker's partition count; inbound and tasks
        # stamped by the broker on append (the latency clock)
        topics = {t: (PARTITIONS, {}) for k, t in self.env.items() if "_TOPIC_" in k}
        topics[self.inbound] = (INBOUND_PARTITIONS, LOG_APPEND)
        topics[self.tasks] = (PARTITIONS, LOG_APPEND)
        create_topics(bootstrap, topics)
        argv = [sys.executable, "-m", "agents.cli", "worker"]
        self.first, self.second = self.inbound, self.events
        self.proc = Proc(argv, self.env, workdir / "worker.log")
        self.offsets = Offsets(bootstrap)
        self.sentinels = 0

    def paced(self, docs: list[bytes], rate: float) -> LoadPoint:
        """Offer ``docs`` at ``rate``, then a sentinel discharge whose Task marks the end."""
        self.progress(f"latency: {len(docs):,} documents at {rate:,.0f}/s")
        self.sentinels += 1
        focus, sentinel = sentinel_doc(f"{self.tag}-{self.sentinels}")
        wall0, t0 = time.time(), time.perf_counter()
        n = publish_values(self.bootstrap, self.inbound, [*docs, sentinel], rate)
        self.wait_processed(600)
        seconds = time.perf_counter() - t0
        return LoadPoint(rate, n - 1, seconds, window=(wall0, wall0 + seconds), sentinel=focus)

    def outputs(self) -> tuple[int, int]:
        e = self.env
        out = self.offsets.total(e["CAREPATH_TOPIC_TASKS"])
        out += self.offsets.total(e["CAREPATH_TOPIC_REFERRALS"])
        return out, self.offsets.total(e["CAREPATH_TOPIC_DEADLETTER"])


class SkeletonRun(TwoHopRun):
    """The Faust skeleton (``agents.bench.faust_skeleton``): the worker's two hops with
    nothing in them, measured like the worker, for throughput and latency at one load."""

    name = "faust skeleton"

    def __init__(self, bootstrap: Target, workdir: Path, progress: Progress) -> None:
        self.bootstrap = bootstrap
        self.tag = "bench-fs-" + uuid.uuid4().hex[:8]
        self.src, self.mid, self.dst = (f"{self.tag}.{t}" for t in ("src", "mid", "dst"))
        self.progress = progress
        create_topics(
            bootstrap,
            {
                self.src: (INBOUND_PARTITIONS, LOG_APPEND),
                self.mid: (MID_PARTITIONS, {}),
                self.dst: (MID_PARTITIONS, LOG_APPEND),
            },
        )
        argv = [sys.executable, "-m", "agents.bench.faust_skeleton", "--bootstrap"]
        argv.append(str(bootstrap))
        argv += ["--tag", self.tag, "--datadir", str(workdir / "skeleton-data")]
        env = environ_without_settings() | child_env(bootstrap)
        self.group, self.first, self.second = self.tag, self.src, self.mid
        self.proc = Proc(argv, env, workdir / "skeleton.log")
        self.offsets = Offsets(bootstrap)

    def paced(self, docs: list[bytes], rate: float) -> LoadPoint:
        """Offer ``docs`` at ``rate``; latency = ``dst`` append time − ``src`` append time of
        every document (paired by the source offset hop1 carries in header ``o``)."""
        self.progress(f"faust skeleton latency: {len(docs):,} documents at {rate:,.0f}/s")
        first = self.offsets.total(self.src)
        wall0, t0 = time.time(), time.perf_counter()
        n = publish_values(self.bootstrap, self.src, docs, rate)
        self.wait_processed(600)
        seconds = time.perf_counter() - t0
        pt = LoadPoint(rate, n, seconds, window=(wall0, wall0 + seconds))
        appended = {
            r.offset: r.timestamp
            for r in kafka_io.read_topic(self.bootstrap, self.src, READ_TIMEOUT_S)
            if r.offset >= first
        }
        first_at = min(appended.values(), default=0)
        lat: list[float] = []
        last_at = 0
        for r in kafka_io.read_topic(self.bootstrap, self.dst, READ_TIMEOUT_S):
            o = int(dict(r.headers).get("o", b"-1"))
            if o in appended:
                lat.append(float(r.timestamp - appended.pop(o)))
                last_at = max(last_at, r.timestamp)
        pt.set_latencies(lat)
        if last_at > first_at:
            pt.span_ms = float(last_at - first_at)
        return pt


# -- latency correlation -------------------------------------------------------------------
def _refs(doc: Any) -> Iterator[str]:
    if not isinstance(doc, dict):
        return
    rtype, rid = doc.get("resourceType"), doc.get("id")
    if isinstance(rtype, str) and isinstance(rid, str):
        yield f"{rtype}/{rid}"
    if rtype == "Bundle":
        for entry in doc.get("entry") or ():
            if isinstance(entry, dict):
                yield from _refs(entry.get("resource"))


def _rule(task: dict[str, Any]) -> str | None:
    for c in (task.get("reasonCode") or {}).get("coding") or ():
        if str(c.get("system", "")).endswith("/CodeSystem/rule"):
            return str(c.get("code"))
    return None


def sentinel_doc(name: str) -> tuple[str, bytes]:
    """A discharge home for a patient of its own: its C-FOLLOWUP Task appears as soon as the
    worker has ingested everything published before it (care.inbound has one partition).
    The stay has a behavioral-health principal diagnosis: v2 passes over any other."""
    enc_id = f"sentinel-{name}"
    doc = T.ENC_DISCHARGE % (
        enc_id,
        "IMP",
        f"Patient/sentinel-{name}",
        "2026-01-01T08:00:00Z",
        "2026-01-03T08:00:00Z",
        T.BH_REASON,
        T.DISPOSITION,
        "home",
    )
    return f"Encounter/{enc_id}", doc.encode()


@dataclass
class Correlation:
    pairs: list[tuple[int, float]]  # (document append time ms, latency ms), sentinels excluded
    first_task_at: dict[str, int]  # focus → append time of its first requested Task
    first_inbound_at: list[int]  # append times of every inbound record, sorted


def latencies(inbound: list[tuple[int, bytes]], tasks: list[tuple[int, bytes]]) -> Correlation:
    """Pair each new Task of an immediate rule with the latest earlier document that carries
    its ``focus`` resource."""
    seen_at: dict[str, list[int]] = {}
    for ts, raw in inbound:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        for ref in _refs(doc):
            seen_at.setdefault(ref, []).append(ts)
    res = Correlation([], {}, sorted(ts for ts, _ in inbound))
    first: set[str] = set()
    for ts, raw in sorted(tasks, key=lambda r: r[0]):
        task = orjson.loads(raw)
        if task.get("id") in first:
            continue
        first.add(task.get("id"))
        focus = (task.get("focus") or {}).get("reference")
        if task.get("status") != "requested" or _rule(task) not in IMMEDIATE_RULES or not focus:
            continue
        res.first_task_at.setdefault(focus, ts)
        before = [t for t in seen_at.get(focus, ()) if t <= ts]
        if before and not focus.startswith("Encounter/sentinel-"):
            res.pairs.append((max(before), float(ts - max(before))))
    return res


def summarize(points: list[LoadPoint], corr: Correlation) -> None:
    for pt in points:
        lo, hi = pt.window[0] * 1000 - 5, pt.window[1] * 1000
        pt.set_latencies([ms for at, ms in corr.pairs if lo <= at <= hi])
        start = next((t for t in corr.first_inbound_at if t >= lo), None)
        end = corr.first_task_at.get(pt.sentinel)
        if start is not None and end is not None and end > start:
            pt.span_ms = float(end - start)


def dead_letter_reasons(bootstrap: Target, worker: WorkerRun) -> dict[str, int]:
    """The most common diagnostics on the worker's dead-letter topic (for a mismatch)."""
    from collections import Counter

    reasons: Counter[str] = Counter()
    for _, raw in read_all(bootstrap, worker.env["CAREPATH_TOPIC_DEADLETTER"]):
        try:
            issue = orjson.loads(raw)["error"]["issue"][0]
            reasons[str(issue.get("diagnostics", ""))[:100]] += 1
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            reasons["(unreadable record)"] += 1
    return dict(reasons.most_common(8))


def embedded_counts(warm: list[bytes], burst: list[bytes]) -> tuple[int, int]:
    """Outputs and dead letters of ``burst`` (after ``warm``) in embedded replay: the worker
    must produce the same (contract §8–9; no ticks on either side)."""
    from agents.engine import Engine
    from pipeline.config import DEFAULT_RULES
    from schemas.ingest import Limits
    from schemas.outbound import DEFAULT_BASE

    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
    for raw in warm:
        engine.feed(raw)
    outputs = dead = 0
    for raw in burst:
        result = engine.feed(raw)
        outputs += len(result.outputs)
        dead += len(result.errors)
    return outputs, dead


def run_skeleton(
    bootstrap: Target,
    res: KafkaResult,
    warm: list[bytes],
    burst: list[bytes],
    paced: tuple[list[bytes], float] | None,
    workdir: Path,
    progress: Progress,
) -> None:
    """The Faust skeleton over the burst, then paced at the latency load (into ``res``)."""
    skeleton = SkeletonRun(bootstrap, workdir, progress)
    try:
        skeleton.warm_up(warm)
        res.skeleton_seconds, res.skeleton_cpu = skeleton.burst(burst)
        progress(f"faust skeleton: {res.skeleton_eps:,.0f} documents/s through two hops")
        if paced is not None and paced[0]:
            res.skeleton_load = skeleton.paced(*paced)
    finally:
        skeleton.close()


def run_kafka(
    bootstrap: Target,
    docs: Iterator[bytes],
    n_burst: int,
    loads: list[float],
    seconds_per_load: float,
    workdir: Path,
    progress: Progress,
    latency_load: float | None = None,
) -> KafkaResult:
    """Passthrough, Faust skeleton, worker burst and paced latency runs over consecutive
    population docs (the skeleton is paced at ``latency_load`` with the documents the
    worker gets at that load)."""
    res = KafkaResult()
    warm = [next(docs) for _ in range(200)]
    burst = [next(docs) for _ in range(n_burst)]
    paced = {rate: [next(docs) for _ in range(int(rate * seconds_per_load))] for rate in loads}
    res.n_messages = len(burst)
    # the baseline's best of PASSTHROUGH_RUNS (conservative for the ratio): a few seconds
    # each, so one hiccup of a busy machine would otherwise decide it
    runs = [run_passthrough(bootstrap, burst, workdir, progress) for _ in range(PASSTHROUGH_RUNS)]
    res.passthrough_seconds, res.passthrough_cpu = min(runs)
    progress(f"passthrough: {res.passthrough_eps:,.0f} messages/s")
    at = (paced[latency_load], latency_load) if latency_load in paced else None
    run_skeleton(bootstrap, res, warm, burst, at, workdir, progress)
    worker = WorkerRun(bootstrap, workdir, progress)
    try:
        worker.warm_up(warm)
        before_out, before_dlq = worker.outputs()
        res.worker_seconds, res.worker_cpu = worker.burst(burst)
        after_out, after_dlq = worker.outputs()
        res.worker_outputs = after_out - before_out
        res.worker_dead_letters = after_dlq - before_dlq
        res.expected_outputs, res.expected_dead_letters = embedded_counts(warm, burst)
        if res.worker_dead_letters != res.expected_dead_letters:
            res.extra["dead_letter_reasons"] = dead_letter_reasons(bootstrap, worker)
            res.extra["worker_log_tail_burst"] = worker.proc.tail(20)
        progress(f"worker: {res.kafka_eps:,.0f} documents/s end to end")
        for rate in loads:
            res.loads.append(worker.paced(paced[rate], rate))
        progress("latency: reading care.inbound and care.tasks back")
        inbound = read_all(bootstrap, worker.inbound)
        corr = latencies(inbound, read_all(bootstrap, worker.tasks))
        summarize(res.loads, corr)
        res.extra["worker_log_tail"] = worker.proc.tail(5)
    finally:
        worker.close()
    return res
