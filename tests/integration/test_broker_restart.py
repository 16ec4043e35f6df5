"""Stop and start the broker mid-stream, once cleanly and once by SIGKILL, while a worker
runs and a publisher keeps publishing; the worker must reconnect by itself (same process),
and everything it published must compare with embedded replay as in the worker-crash test
(``failures.py``).

The test starts its own broker in a temp dir (never the session broker other tests share),
with data and ports kept across the restarts. Figures are printed (``pytest -s``) as one
``broker-restart:`` line.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents import broker
from tests.integration import failures
from tests.integration.worker import worker_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261126
N_DOCS = 20_000
RATE = 320.0  # documents a second: the stream lasts about 65 s


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "broker"
    version = os.environ.get("CAREPATH_KAFKA_VERSION") or broker.DEFAULT_KAFKA_VERSION
    broker.broker_up(directory, version, tie_to_caller=True)
    try:
        yield directory
    finally:
        broker.broker_down(directory)


def test_broker_restarts_lose_and_duplicate_nothing(own_broker: Path, tmp_path: Path) -> None:
    stream = failures.population(N_DOCS, SEED)
    exp = failures.expected(stream)
    address = broker.broker_status(own_broker)
    assert address is not None
    # the default session timeout outlives a broker restart: the worker rides through it
    worker = worker_in(address, tmp_path)
    wenv = worker.wenv
    topic = failures.topics(wenv)
    rng = random.Random(SEED)
    restarts: list[str] = []

    def restart(kind: str, t0: float, publisher: failures.Publisher) -> None:
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        began, sent = time.monotonic(), publisher.sent
        # grace 0: SIGTERM and SIGKILL at once, so the broker has no time to shut down
        broker.broker_stop_keep(own_broker, grace=20.0 if kind == "clean" else 0.0)
        down = rng.uniform(1.0, 5.0)
        time.sleep(down)
        broker.broker_start_existing(own_broker, tie_to_caller=True)
        restarts.append(
            f"{kind} at {began - t0:.1f} s ({sent} published), down {down:.1f} s "
            f"+ {time.monotonic() - began - down:.1f} s stop/start"
        )

    started = time.monotonic()
    with worker.running():
        pid = worker.proc.pid if worker.proc else None
        publisher = failures.publishing(address, wenv, stream, RATE)
        t0 = time.monotonic()
        for kind, at in (("clean", rng.uniform(8, 20)), ("SIGKILL", rng.uniform(35, 45))):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            restart(kind, t0, publisher)
        failures.finish_stream(publisher, address, wenv, 600, 240)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        assert worker.proc.pid == pid, "the worker process was replaced"
        seen = failures.observe(address, topic, stream)
    report = failures.compare(stream, exp, seen)
    revokes = [ln for ln in worker.tail(10**6).splitlines() if "Revoking previously" in ln]
    summary = (
        f"broker-restart: {report.line()}; {len(restarts)} broker restarts, "
        f"{len(revokes) - 1} rebalances after the first "
        f"({'; '.join(restarts)}); {stream.task_updates} Task updates; "
        f"{time.monotonic() - started:.0f} s"
    )
    failures.conclude(tmp_path, summary, report)
    assert report.differences == [], report.explain(worker.tail())
