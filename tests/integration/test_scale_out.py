"""Three workers in one consumer group while a stream flows in: one is SIGKILLed and
replaced, another is restarted cleanly (a rolling restart); everything the group published
must compare with embedded replay of the same documents (``failures.py``: final version of
every Task and ServiceRequest, every publication a version embedded replay made, dead
letters as a set).

Each worker has its own data directory; they share the app id (consumer group) and topics.
Every membership change is a rebalance that moves partitions between running workers, the
path where Faust 0.15.3 skipped records (agents/faust_fixes.py, the contiguity guard).

Figures are printed (``pytest -s``) as one ``scale-out:`` line.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from tests.integration import failures
from tests.integration.worker import Worker, WorkerEnv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = int(os.environ.get("CAREPATH_SCALE_SEED", "20261212"))
N_DOCS = 30_000
RATE = 350.0  # documents a second: the stream lasts about 90 s
WORKERS = 3
SESSION_TIMEOUT = "6"  # the broker's minimum: a killed worker's partitions wait this long


def _members(bootstrap: str, group: str) -> tuple[str | None, int]:
    """The group's state and its number of members (``None, 0`` if the broker cannot say)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    except KafkaError:
        return None, 0
    try:
        info = admin.describe_groups([group]).get(group, {})
    except KafkaError:
        return None, 0
    finally:
        admin.close()
    return info.get("group_state"), len(info.get("members") or [])


def _wait_members(
    bootstrap: str, group: str, n: int, timeout: float = 90.0, changed: bool = True
) -> float:
    """Until the group is Stable with ``n`` members (``changed=False``: after it has been
    something else, i.e. the membership change has been seen); the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        state = _members(bootstrap, group)
        if state == ("Stable", n) and changed:
            return time.monotonic() - began
        changed = changed or state != ("Stable", n)
        time.sleep(0.3)
    raise TimeoutError(f"group {group} not Stable with {n} members in {timeout} s")


def test_three_workers_kill_and_rolling_restart_match_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stream = failures.population(N_DOCS, SEED)
    exp = failures.expected(stream)
    base = WorkerEnv(
        bootstrap=kafka_bootstrap,
        datadir=tmp_path / "w0",
        extra={"CAREPATH_SESSION_TIMEOUT": SESSION_TIMEOUT},
    )
    topic = failures.topics(base)
    workers = [
        Worker(dataclasses.replace(base, datadir=tmp_path / f"w{i}"), tmp_path / f"w{i}.log")
        for i in range(WORKERS)
    ]
    rng = random.Random(SEED)
    events: list[str] = []
    started = time.monotonic()
    try:
        for w in workers:
            w.start()
        joined = _wait_members(kafka_bootstrap, base.group, WORKERS)
        events.append(f"{WORKERS} joined in {joined:.0f} s")
        publisher = failures.publishing(kafka_bootstrap, base, stream, RATE)
        t0 = time.monotonic()

        # one worker SIGKILLed and replaced (same data directory, like a restarted pod)
        time.sleep(max(0.0, t0 + rng.uniform(15, 30) - time.monotonic()))
        victim = workers[1]
        victim.kill()
        events.append(f"w1 SIGKILLed at {time.monotonic() - t0:.1f} s ({publisher.sent} sent)")
        victim.start()
        back = _wait_members(kafka_bootstrap, base.group, WORKERS, changed=False)
        events.append(f"group stable again after {back:.0f} s")

        # another one restarted cleanly (SIGTERM, wait for its exit, start again)
        time.sleep(rng.uniform(5, 15))
        rolled = workers[2]
        events.append(f"w2 stopped at {time.monotonic() - t0:.1f} s ({publisher.sent} sent)")
        rolled.stop()
        rolled.start()
        back = _wait_members(kafka_bootstrap, base.group, WORKERS, changed=False)
        events.append(f"group stable again after {back:.0f} s")

        failures.finish_stream(publisher, kafka_bootstrap, base, 900, 900)
        events.append(f"published in {publisher.elapsed:.0f} s")
        for i, w in enumerate(workers):
            assert w.proc is not None and w.proc.poll() is None, f"w{i} died\n{w.tail()}"
    finally:
        for w in workers:
            w.stop()
    seen = failures.observe(kafka_bootstrap, topic, stream)
    report = failures.compare(stream, exp, seen)
    logs = [w.tail(10**6) for w in workers]
    rebalances = [log.count("Revoking previously") for log in logs]
    guarded = sum(log.count("contiguity guard") for log in logs)
    summary = (
        f"scale-out: {report.line()}; {WORKERS} workers, rebalances seen per worker "
        f"{rebalances}, guard re-seeks {guarded} ({'; '.join(events)}); "
        f"{stream.task_updates} Task updates; seed {SEED}; {time.monotonic() - started:.0f} s"
    )
    failures.conclude(tmp_path, summary, report)
    tails = "\n".join(f"--- w{i}\n{w.tail(40)}" for i, w in enumerate(workers))
    assert report.differences == [], report.explain(tails)
