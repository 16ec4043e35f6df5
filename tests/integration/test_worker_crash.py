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

from tests.integration import failures
from tests.integration.worker import worker_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261125
N_DOCS = 24_000
RATE = 320.0  # documents a second: the stream lasts about 75 s
KILLS = 6  # while the stream flows, plus one while the final tick is processed
SESSION_TIMEOUT = "6"  # the broker's minimum: a killed worker's partitions wait this long


def test_sigkilled_worker_loses_and_duplicates_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stream = failures.population(N_DOCS, SEED)
    exp = failures.expected(stream)
    worker = worker_in(kafka_bootstrap, tmp_path, CAREPATH_SESSION_TIMEOUT=SESSION_TIMEOUT)
    wenv = worker.wenv
    topic = failures.topics(wenv)
    rng = random.Random(SEED)
    kills: list[str] = []

    def kill_and_restart(when: str) -> int:
        done = failures.committed(kafka_bootstrap, wenv.group, topic["inbound"])
        worker.kill()
        kills.append(f"{when}, inbound committed {done}")
        worker.start()
        return done

    def kill_in_tick() -> None:
        time.sleep(rng.uniform(0.0, 0.3))
        kill_and_restart("during the final tick")

    started = time.monotonic()
    with worker.running():
        publisher = failures.publishing(kafka_bootstrap, wenv, stream, RATE)
        t0 = time.monotonic()
        last = 0
        for k in range(KILLS):
            if k != 1:  # the second kill comes during start-up, rebalance and recovery
                failures.resumed(kafka_bootstrap, wenv, last, timeout=90.0)
            time.sleep(rng.uniform(0.5, 6.0))
            when = f"{time.monotonic() - t0:.1f} s, {publisher.sent} published"
            last = kill_and_restart(when)
        failures.finish_stream(publisher, kafka_bootstrap, wenv, 600, 240, during_tick=kill_in_tick)
    seen = failures.observe(kafka_bootstrap, topic, stream)
    report = failures.compare(stream, exp, seen)
    summary = (
        f"worker-crash: {report.line()}; {len(kills)} kills ({'; '.join(kills)}); "
        f"{stream.task_updates} Task updates; {time.monotonic() - started:.0f} s"
    )
    failures.conclude(tmp_path, summary, report)
    assert report.differences == [], report.explain(worker.tail())
