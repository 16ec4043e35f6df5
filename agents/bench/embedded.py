"""Embedded figures: generation rate, replay throughput vs a fhir.resources baseline, state
size per patient and process RSS.

Replay is measured the way ``carepath replay`` works minus file I/O: ``Engine.feed`` on
each document and ``render`` of every output to FHIR JSON. Documents are generated in
chunks outside the timed region, so generation time is excluded and memory stays bounded
(RSS then reflects the pipeline's state, not the input).
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from agents.bench.population import generate
from agents.engine import REPLAY_FREEZE_EVERY, Engine
from pipeline.config import DEFAULT_RULES
from pipeline.state import encode_state
from schemas.ingest import Limits
from schemas.outbound import DEFAULT_BASE, render

CHUNK = 20_000
Progress = Callable[[str], None]


@dataclass
class EmbeddedResult:
    n_patients: int
    n_documents: int = 0
    n_events: int = 0
    n_outputs: int = 0
    n_dead_letters: int = 0
    gen_seconds: float = 0.0
    replay_seconds: float = 0.0
    replay_cpu_seconds: float = 0.0
    baseline_documents: int = 0
    baseline_seconds: float = 0.0
    baseline_cpu_seconds: float = 0.0
    baseline_invalid: int = 0
    bytes_per_patient: float = 0.0
    state_bytes_p99: int = 0
    rss_start_mb: float = 0.0
    rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gen_dps(self) -> float:
        return self.n_documents / self.gen_seconds if self.gen_seconds else 0.0

    @property
    def replay_eps(self) -> float:
        return self.n_documents / self.replay_seconds if self.replay_seconds else 0.0

    @property
    def replay_events_per_s(self) -> float:
        return self.n_events / self.replay_seconds if self.replay_seconds else 0.0

    @property
    def baseline_eps(self) -> float:
        return self.baseline_documents / self.baseline_seconds if self.baseline_seconds else 0.0

    @property
    def replay_cpu_eps(self) -> float:
        """Documents per CPU-second of this process (robust against a busy machine)."""
        return self.n_documents / self.replay_cpu_seconds if self.replay_cpu_seconds else 0.0

    @property
    def baseline_cpu_eps(self) -> float:
        cpu = self.baseline_cpu_seconds
        return self.baseline_documents / cpu if cpu else 0.0


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def _chunks(docs: Iterator[bytes], size: int, timer: list[float]) -> Iterator[list[bytes]]:
    """Chunks of the document stream; the time spent generating goes to ``timer[0]``."""
    while True:
        t0 = time.perf_counter()
        chunk = list(itertools.islice(docs, size))
        timer[0] += time.perf_counter() - t0
        if not chunk:
            return
        yield chunk


def replay(
    n_patients: int, seed: int, progress: Progress, sample_every: int = 0
) -> tuple[EmbeddedResult, Engine]:
    """Replay the population through one ``Engine``. With ``sample_every``, every
    ``sample_every``-th document of each chunk is also validated by the baseline right after
    the chunk's replay, so both figures see the same machine conditions (interleaved)."""
    gc.collect()
    res = EmbeddedResult(n_patients, rss_start_mb=rss_mb())
    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE, freeze_every=REPLAY_FREEZE_EVERY)
    feed, base = engine.feed, DEFAULT_BASE
    gen_time = [0.0]
    validator = Baseline() if sample_every else None
    last = time.monotonic()
    for chunk in _chunks(generate(n_patients, seed), CHUNK, gen_time):
        if validator is not None and not res.n_documents:
            validator.warm_up(chunk[:: max(1, len(chunk) // 200)])
        t0, c0 = time.perf_counter(), time.process_time()
        for raw in chunk:
            for out in feed(raw).outputs:
                render(out, base)
        res.replay_seconds += time.perf_counter() - t0
        res.replay_cpu_seconds += time.process_time() - c0
        if validator is not None:
            validator.run(chunk[res.n_documents % sample_every :: sample_every], res)
        res.n_documents += len(chunk)
        if time.monotonic() - last > 2:
            last = time.monotonic()
            progress(
                f"replay: {res.n_documents:,} documents, {len(engine.states):,} patients, "
                f"{res.n_documents / res.replay_seconds:,.0f} documents/s; baseline "
                f"{res.baseline_eps:,.0f} documents/s"
            )
    res.gen_seconds = gen_time[0]
    st = engine.stats
    res.n_events = sum(st.events.values())
    res.n_outputs = st.outputs
    res.n_dead_letters = st.dead_letters
    res.extra["events_by_kind"] = dict(sorted(st.events.items()))
    res.extra["ignored"] = st.ignored
    res.extra["duplicates"] = st.duplicates
    return res, engine


def state_sizes(engine: Engine, res: EmbeddedResult) -> None:
    sizes = sorted(len(encode_state(s)) for s in engine.states.values())
    if sizes:
        res.bytes_per_patient = statistics.fmean(sizes)
        res.state_bytes_p99 = sizes[min(len(sizes) - 1, int(len(sizes) * 0.99))]
        res.extra["state_bytes_max"] = sizes[-1]
    res.extra["patients_in_state"] = len(sizes)
    gc.collect()
    res.rss_mb = rss_mb()


class Baseline:
    """Parse and validate each document with ``fhir.resources.R4B`` (the resource class from
    its ``resourceType``, then ``model_validate_json``); nothing else."""

    def __init__(self) -> None:
        from fhir.resources.R4B import get_fhir_model_class

        self.model_class = get_fhir_model_class
        self.classes: dict[str, Any] = {}

    def validate(self, raw: bytes) -> bool:
        try:
            rtype = orjson.loads(raw)["resourceType"]
            cls = self.classes.get(rtype)
            if cls is None:
                cls = self.classes[rtype] = self.model_class(rtype)
            cls.model_validate_json(raw)
        except Exception:
            return False
        return True

    def warm_up(self, docs: list[bytes]) -> None:
        """Untimed: model classes import and build their validators on first use."""
        for raw in docs:
            self.validate(raw)

    def run(self, docs: list[bytes], res: EmbeddedResult) -> None:
        validate = self.validate
        bad = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for raw in docs:
            bad += not validate(raw)
        res.baseline_seconds += time.perf_counter() - t0
        res.baseline_cpu_seconds += time.process_time() - c0
        res.baseline_documents += len(docs)
        res.baseline_invalid += bad
