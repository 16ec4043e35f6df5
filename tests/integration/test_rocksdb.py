"""The worker on ``CAREPATH_STORE=rocksdb://`` (the ``carepath[rocksdb]`` extra): same
outputs as embedded replay, and a restart on the same data directory reads only the
changelog records past the offset RocksDB holds, not the whole changelog.

How the records a restart reads are counted, three ways that must agree:

- Faust's own recovery plan, logged at INFO by every worker process: the changelog
  highwater of each partition and the offset it starts reading at (the persisted offset
  in RocksDB; -1, i.e. from the beginning, without one). It reads from there to the
  highwater (:func:`recovery_reads`);
- with ``CAREPATH_LOG_LEVEL=debug``, the ``Recovery message`` line Faust logs for each
  changelog record it reads (:func:`recovered_records`);
- after a clean stop, the offset each partition's database says it holds
  (:func:`persisted_offsets`), against the changelog's end offsets.

Deleting the tables (a lost disk) makes the next start read the whole changelog: the
control that the counting sees a full replay when there is one.

The slow tests: SIGKILL mid-stream and restart on the same data directory (outputs equal
embedded replay, every restart reads a small tail); restart times memory:// against
rocksdb:// (``pytest -s`` prints a ``rocksdb-restart:`` line).
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from faust.stores.rocksdb import Store
from rocksdict import AccessType, Options, Rdict

from agents import kafka_io
from tests.integration import failures
from tests.integration.worker import Worker, WorkerEnv, worker_in

pytestmark = pytest.mark.integration

SEED = 20261202
PARTITIONS = 4  # Settings.partitions' default: partitions of the changelog
ROCKSDB = {"CAREPATH_STORE": "rocksdb://", "CAREPATH_SESSION_TIMEOUT": "6"}

# ---------------------------------------------------------------------------------------------
# Counting what a worker's recovery reads


_RECORD = re.compile(r"^\[[^\]]+\] \[(\d+)\] \[\w+\] ")
_ROW = re.compile(r"^\|\s*(\S+)\s*\|\s*(\d+)\s*\|\s*(-?\d+)\s*\|$")
_TABLES = {"Highwater for active changelog": "highwater", "active offsets at start of": "start"}


def recovery_reads(log: Path) -> dict[int, list[int]]:
    """Changelog records each worker process (pid) planned to read, one number a recovery
    (a start or a rebalance): for each partition, those past its start offset (the one
    RocksDB holds; -1 without one) up to its highwater, the last offset (Faust's
    ``Recovery._slurp_changelogs``; a partition already at its highwater is not read)."""
    tables: dict[int, list[tuple[str, dict[tuple[str, int], int]]]] = defaultdict(list)
    rows: dict[tuple[str, int], int] | None = None
    topic = ""
    for line in log.read_text(errors="replace").splitlines():
        record = _RECORD.match(line)
        if record:
            rows = None
            kind = next((k for text, k in _TABLES.items() if text in line), None)
            if kind is not None:
                rows = {}
                tables[int(record.group(1))].append((kind, rows))
        elif rows is not None and (row := _ROW.match(line.strip())):
            if row.group(1) != "〃":  # Faust's table writes a repeated topic as a ditto mark
                topic = row.group(1)
            rows[topic, int(row.group(2))] = int(row.group(3))
    plans: dict[int, list[int]] = {}
    for pid, found in tables.items():
        highwaters = [rows for kind, rows in found if kind == "highwater"]
        starts = [rows for kind, rows in found if kind == "start"]
        plans[pid] = [
            sum(max(0, hw[p] - start.get(p, -1)) for p in hw)
            for hw, start in zip(highwaters, starts, strict=False)
        ]
    return plans


def recovery_seconds(log: Path, pid: int) -> float:
    """Seconds from the process's first recovery plan (its changelog highwaters) to its
    ``Worker ready``: the table recovery itself, without the interpreter's start."""
    stamps: dict[str, datetime] = {}
    for line in log.read_text(errors="replace").splitlines():
        if f"] [{pid}] [INFO] " not in line:
            continue
        for key in ("Highwater for active changelog", "Worker ready"):
            if key in line and key not in stamps:
                stamps[key] = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
    return (stamps["Worker ready"] - stamps["Highwater for active changelog"]).total_seconds()


def recovered_records(log: Path, pid: int) -> int:
    """Changelog records the process read in recovery (its DEBUG lines, one a record)."""
    mark = f"[{pid}] [DEBUG]"
    return sum(
        1
        for ln in log.read_text(errors="replace").splitlines()
        if mark in ln and "Recovery message topic" in ln
    )


def persisted_offsets(datadir: Path) -> dict[int, int | None]:
    """The changelog offset each partition's RocksDB says it holds (worker stopped)."""
    found: dict[int, int | None] = {}
    for path in sorted((datadir / "v1" / "tables").glob("patient-state-*.db")):
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            raw = db.get(Store.offset_key)
        finally:
            db.close()
        found[int(path.stem.rsplit("-", 1)[1])] = int(raw) if raw is not None else None
    return found


def changelog(wenv: WorkerEnv) -> str:
    return f"{wenv.group}-patient-state-changelog"


def changelogs_length(bootstrap: str, wenv: WorkerEnv) -> int:
    """Records in both tables' changelogs: the patient states' and the documents agent's
    (``agents.documents``), which a recovery reads alike."""
    tables = (changelog(wenv), f"{wenv.group}-document-parts-changelog")
    return sum(sum(kafka_io.end_offsets(bootstrap, t).values()) for t in tables)


def wait_recovered(worker: Worker, since: float, timeout: float = 120.0) -> float:
    """Until the running worker process logged ``Worker ready`` (recovery done, streams
    resumed); seconds since ``since`` (a ``time.monotonic()`` before it was started)."""
    assert worker.proc is not None
    mark = f"[{worker.proc.pid}] [INFO] [^---Recovery]: Worker ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.proc.poll() is None, worker.tail()
        if mark in worker.log.read_text(errors="replace"):
            return time.monotonic() - since
        time.sleep(0.05)
    raise TimeoutError(f"no 'Worker ready' in {timeout}s\n{worker.tail()}")


def start(worker: Worker) -> float:
    """Start the worker; the ``time.monotonic()`` just before."""
    t0 = time.monotonic()
    worker.start()
    return t0


# ---------------------------------------------------------------------------------------------
# Quick: one worker, one stream, clean restarts


N_QUICK = 300  # documents (about 100 patients)


def test_restart_reads_only_the_changelog_tail(kafka_bootstrap: str, tmp_path: Path) -> None:
    """A stream through a rocksdb:// worker whose data directory's parents do not exist;
    a clean restart reads no changelog record (RocksDB holds the last offset of each
    partition), and its tables are right: the final tick, sent after
    the restart, fires the deadlines of the recovered patients as embedded replay does.
    Then the tables are deleted: the next start reads the whole changelog."""
    stream = failures.population(N_QUICK, SEED)
    exp = failures.expected(stream)
    datadir = tmp_path / "no" / "such" / "parents"
    wenv = WorkerEnv(bootstrap=kafka_bootstrap, datadir=datadir, extra=dict(ROCKSDB))
    topic = failures.topics(wenv)
    worker = Worker(wenv, tmp_path / "worker.log")
    try:
        wait_recovered(worker, start(worker))
        publisher = failures.Publisher(kafka_bootstrap, topic["inbound"], stream, 20_000.0)
        publisher.run()
        assert not publisher.errors, publisher.errors
        failures.drained(kafka_bootstrap, wenv, 240)
        worker.stop()
        ends = kafka_io.end_offsets(kafka_bootstrap, changelog(wenv))
        length = sum(ends.values())
        assert length > N_QUICK  # states and deadline filings of every patient
        assert persisted_offsets(datadir) == {p: end - 1 for p, end in ends.items()}

        wenv.extra["CAREPATH_LOG_LEVEL"] = "debug"  # a line for each changelog record read
        wait_recovered(worker, start(worker))
        assert worker.proc is not None
        tail_pid = worker.proc.pid
        failures.final_tick(kafka_bootstrap, wenv, 120)
        worker.stop()

        shutil.rmtree(datadir / "v1" / "tables")  # a lost disk: rebuilt from the changelog
        everything = changelogs_length(kafka_bootstrap, wenv)
        wait_recovered(worker, start(worker))
        assert worker.proc is not None
        full_pid = worker.proc.pid
        worker.stop()
    finally:
        worker.stop()
    tail = recovered_records(worker.log, tail_pid)
    full = recovered_records(worker.log, full_pid)
    plans = recovery_reads(worker.log)
    print(
        f"rocksdb-quick: changelog {length} records; clean restart read {tail} "
        f"(planned {plans[tail_pid]}), without the tables {full} of {everything}"
    )
    assert tail == 0 and plans[tail_pid] == [0]
    assert full == everything and plans[full_pid] == [full]
    report = failures.compare(stream, exp, failures.observe(kafka_bootstrap, topic, stream))
    assert report.differences == [], report.explain(worker.tail())


# ---------------------------------------------------------------------------------------------
# Slow: SIGKILLs mid-stream; restart times


N_CRASH = 12_000  # documents (about 2,300 patients)
RATE = 250.0  # documents a second: the stream lasts about 50 s
KILLS = 3  # while the stream flows, plus one while the final tick is processed
TAIL_SHARE = 0.05  # the most of the changelog a restart after a SIGKILL may read


@pytest.mark.slow
def test_sigkilled_rocksdb_worker_equals_embedded_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGKILLed at random moments while the stream flows and once during the final tick,
    restarted each time on the same data directory: final outputs equal embedded replay
    (``failures.compare``), and each restart reads only the changelog records past what
    RocksDB holds, a small share of the changelog."""
    stream = failures.population(N_CRASH, SEED)
    exp = failures.expected(stream)
    worker = worker_in(kafka_bootstrap, tmp_path, **ROCKSDB)
    wenv = worker.wenv
    topic = failures.topics(wenv)
    rng = random.Random(SEED)
    restarts: list[tuple[str, int, float]] = []  # (when, pid, seconds to ready)

    def kill_and_restart(when: str) -> int:
        done = failures.committed(kafka_bootstrap, wenv.group, topic["inbound"])
        worker.kill()
        t0 = start(worker)
        assert worker.proc is not None
        restarts.append((when, worker.proc.pid, wait_recovered(worker, t0)))
        return done

    def kill_in_tick() -> None:
        time.sleep(rng.uniform(0.0, 0.3))
        kill_and_restart("during the final tick")

    started = time.monotonic()
    try:
        wait_recovered(worker, start(worker))
        publisher = failures.publishing(kafka_bootstrap, wenv, stream, RATE)
        t0, last = time.monotonic(), 0
        for _ in range(KILLS):
            failures.resumed(kafka_bootstrap, wenv, last, timeout=120.0)
            time.sleep(rng.uniform(1.0, 8.0))
            last = kill_and_restart(f"{time.monotonic() - t0:.1f} s, {publisher.sent} published")
        failures.finish_stream(publisher, kafka_bootstrap, wenv, 600, 240, during_tick=kill_in_tick)
    finally:
        worker.stop()
    plans = recovery_reads(worker.log)
    length = changelogs_length(kafka_bootstrap, wenv)
    reads = [(when, sum(plans[pid]), secs) for when, pid, secs in restarts]
    report = failures.compare(stream, exp, failures.observe(kafka_bootstrap, topic, stream))
    summary = (
        f"rocksdb-crash: {report.line()}; changelog {length} records; restarts after SIGKILL "
        + "; ".join(f"({w}) read {n} records, ready in {s:.1f} s" for w, n, s in reads)
        + f"; {time.monotonic() - started:.0f} s"
    )
    failures.conclude(tmp_path, summary, report)
    assert report.differences == [], report.explain(worker.tail())
    assert len(restarts) == KILLS + 1
    for when, n, _ in reads:
        assert n <= TAIL_SHARE * length, f"the restart ({when}) read {n} of {length} records"


N_TIMING = 12_000  # documents (about 2,300 patients)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the stream twice, at 60 documents a second on a busy machine
def test_restart_time_memory_against_rocksdb(kafka_bootstrap: str, tmp_path: Path) -> None:
    """The same stream through a memory:// and a rocksdb:// worker, each then restarted
    cleanly twice: memory:// reads the whole changelog every time, rocksdb:// nothing.
    Prints the restart times (``rocksdb-restart:``); asserts on the records read only (the
    times depend on the machine)."""
    stream = failures.population(N_TIMING, SEED)
    figures: dict[str, tuple[float, int, list[int], list[float], list[float]]] = {}
    for store in ("memory://", "rocksdb://"):
        wenv = WorkerEnv(
            bootstrap=kafka_bootstrap,
            datadir=tmp_path / store[:-3] / "worker",
            extra={**ROCKSDB, "CAREPATH_STORE": store},
        )
        worker = Worker(wenv, tmp_path / f"{store[:-3]}.log")
        pids, totals = [], []
        try:
            wait_recovered(worker, start(worker))
            t0 = time.monotonic()
            publisher = failures.Publisher(kafka_bootstrap, wenv.topic("care.inbound"), stream, 1e5)
            publisher.run()
            assert not publisher.errors, publisher.errors
            failures.drained(kafka_bootstrap, wenv, 900)
            processing = time.monotonic() - t0
            worker.stop()
            for _ in range(2):
                t0 = start(worker)
                totals.append(wait_recovered(worker, t0))
                assert worker.proc is not None
                pids.append(worker.proc.pid)
                worker.stop()
        finally:
            worker.stop()
        length = changelogs_length(kafka_bootstrap, wenv)
        plans = recovery_reads(worker.log)
        reads = [sum(plans[pid]) for pid in pids]
        recovery = [recovery_seconds(worker.log, pid) for pid in pids]
        figures[store] = (processing, length, reads, totals, recovery)
    print(
        f"rocksdb-restart: {len(stream.docs)} documents, {stream.patients} patients; "
        + "; ".join(
            f"{store} processed in {processing:.0f} s, changelog {length} records, restarts "
            f"read {reads}, ready in {', '.join(f'{t:.1f}' for t in totals)} s (recovery "
            f"{', '.join(f'{t:.2f}' for t in recovery)} s)"
            for store, (processing, length, reads, totals, recovery) in figures.items()
        )
    )
    _, length, reads, _, _ = figures["memory://"]
    assert reads == [length, length]
    _, length, reads, _, _ = figures["rocksdb://"]
    assert length > 0 and reads == [0, 0]
