"""SIGKILL the worker at random moments while a stream flows in, restart it (same app id,
same datadir: Faust recovers its tables from the changelog topics), and compare everything
it published with embedded replay of the same documents (see ``failures.py`` for how).

Figures are printed (``pytest -s``) as one ``worker-crash:`` line.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from agents import kafka_io
from tests.integration import failures
from tests.integration.worker import Worker, WorkerEnv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261125
N_DOCS = 24_000
RATE = 320.0  # documents a second: the stream lasts about 75 s
KILLS = 6  # while the stream flows, plus one while the final tick is processed
SESSION_TIMEOUT = "6"  # the broker's minimum: a killed worker's partitions wait this long


def _committed(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets on ``topic`` (-1 if the broker cannot say)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    except KafkaError:
        return -1
    finally:
        admin.close()
    return sum(om.offset for tp, om in offsets.items() if tp.topic == topic)


def test_sigkilled_worker_loses_and_duplicates_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stream = failures.population(N_DOCS, SEED)
    exp = failures.expected(stream)
    wenv = WorkerEnv(
        bootstrap=kafka_bootstrap,
        datadir=tmp_path / "worker",
        extra={"CAREPATH_SESSION_TIMEOUT": SESSION_TIMEOUT},
    )
    topic = {n: wenv.topic(f"care.{n}") for n in ("inbound", "events", "tasks", "referrals")}
    topic["deadletter"] = wenv.topic("care.deadletter")
    worker = Worker(wenv, tmp_path / "worker.log")
    rng = random.Random(SEED)
    kills: list[str] = []

    def kill_and_restart(when: str) -> int:
        done = _committed(kafka_bootstrap, wenv.group, topic["inbound"])
        worker.kill()
        kills.append(f"{when}, inbound committed {done}")
        worker.start()
        return done

    def resumed(since: int, timeout: float = 90.0) -> None:
        """Until the restarted worker commits past ``since`` on care.inbound."""
        deadline = time.monotonic() + timeout
        while _committed(kafka_bootstrap, wenv.group, topic["inbound"]) <= since:
            assert time.monotonic() < deadline, "the restarted worker made no progress"
            time.sleep(0.2)

    started = time.monotonic()
    worker.start()
    try:
        worker.wait_ready()
        publisher = failures.Publisher(kafka_bootstrap, topic["inbound"], stream, RATE)
        publisher.start()
        t0 = time.monotonic()
        last = 0
        for k in range(KILLS):
            if k != 1:  # the second kill comes during start-up, rebalance and recovery
                resumed(last)
            time.sleep(rng.uniform(0.5, 6.0))
            when = f"{time.monotonic() - t0:.1f} s, {publisher.sent} published"
            last = kill_and_restart(when)
        publisher.join(timeout=600)
        assert not publisher.is_alive() and not publisher.errors, publisher.errors
        kafka_io.wait_committed(kafka_bootstrap, wenv.group, topic["inbound"], 240)
        kafka_io.wait_committed(kafka_bootstrap, wenv.group, topic["events"], 240)
        failures.send_ticks(kafka_bootstrap, topic["events"], failures.UNTIL)
        time.sleep(rng.uniform(0.0, 0.3))
        kill_and_restart("during the final tick")
        kafka_io.wait_committed(kafka_bootstrap, wenv.group, topic["events"], 240)
    finally:
        worker.stop()
    seen = failures.observe(kafka_bootstrap, topic, stream)
    report = failures.compare(stream, exp, seen)
    summary = (
        f"worker-crash: {report.line()}; {len(kills)} kills ({'; '.join(kills)}); "
        f"{stream.task_updates} Task updates; {time.monotonic() - started:.0f} s"
    )
    print(summary)
    (tmp_path / "report.txt").write_text(summary + "\n" + "\n".join(report.differences))
    assert report.differences == [], "\n".join(report.differences[:40]) + "\n" + worker.tail()
