"""A running worker whose group session expires: a 6 s session timeout (the broker's
minimum), SIGKILL broker restarts and, between them, the worker's process frozen (SIGSTOP)
for longer than the session timeout, as a long GC or VM pause or a network partition would.
A broker restart alone rarely drops the session (the restarted coordinator gives every
member a new session timer when it loads the group); the freeze always does: the group
rebalances without the worker, and when it runs again its heartbeat is refused, so the same
process revokes everything and is assigned it again while records it had fetched are still
in flight. That rebalance of a live worker is where Faust 0.15.3 skipped records or left a
partition's commits stuck (agents/faust_fixes.py, the contiguity guard). Everything it
published must compare with embedded replay (``failures.py``).

Figures are printed (``pytest -s``) as one ``session-expiry:`` line.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from agents import broker, kafka_io
from tests.integration import failures
from tests.integration.test_broker_restart import own_broker  # noqa: F401 (fixture)
from tests.integration.worker import worker_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261213
N_DOCS = 20_000
RATE = 150.0  # documents a second: the stream lasts about 135 s, through every disturbance
DISTURBANCES = ("broker", "freeze", "broker", "freeze")
SESSION_TIMEOUT = "6"


def settled(address: str, group: str, inbound: str, publisher: failures.Publisher) -> None:
    """Until the group is Stable and has committed more of ``inbound`` (or all of it)."""
    deadline = time.monotonic() + 180
    before = failures.committed(address, group, inbound)
    while time.monotonic() < deadline:
        now = failures.committed(address, group, inbound)
        stable = kafka_io.group_state(address, group) == "Stable"
        if stable and (now > before or (not publisher.is_alive() and now >= publisher.sent)):
            return
        time.sleep(0.5)
    raise TimeoutError("the worker did not resume after the last disturbance")


def test_session_expiry_loses_and_duplicates_nothing(own_broker: Path, tmp_path: Path) -> None:  # noqa: F811
    stream = failures.population(N_DOCS, SEED)
    exp = failures.expected(stream)
    address = broker.broker_status(own_broker)
    assert address is not None
    worker = worker_in(address, tmp_path, CAREPATH_SESSION_TIMEOUT=SESSION_TIMEOUT)
    wenv = worker.wenv
    topic = failures.topics(wenv)
    rng = random.Random(SEED)
    outages: list[str] = []
    started = time.monotonic()
    with worker.running():
        pid = worker.proc.pid if worker.proc else None
        publisher = failures.publishing(address, wenv, stream, RATE)
        t0 = time.monotonic()
        for kind in DISTURBANCES:  # each once the group is stable again and consuming
            settled(address, wenv.group, topic["inbound"], publisher)
            time.sleep(rng.uniform(2.0, 8.0))
            assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
            began, sent = time.monotonic(), publisher.sent
            if kind == "broker":
                broker.broker_stop_keep(own_broker, grace=0.0)  # SIGTERM and SIGKILL at once
                time.sleep(rng.uniform(5.0, 8.0))
                broker.broker_start_existing(own_broker, tie_to_caller=True)
            else:
                os.killpg(worker.proc.pid, signal.SIGSTOP)
                try:
                    time.sleep(rng.uniform(9.0, 12.0))
                finally:
                    os.killpg(worker.proc.pid, signal.SIGCONT)
            outages.append(
                f"{kind} at {began - t0:.1f} s ({sent} published) {time.monotonic() - began:.1f} s"
            )
        failures.finish_stream(publisher, address, wenv, 900, 600)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        assert worker.proc.pid == pid, "the worker process was replaced"
        seen = failures.observe(address, topic, stream)
    report = failures.compare(stream, exp, seen)
    log = worker.tail(10**6)
    rebalances = log.count("Revoking previously") - 1
    summary = (
        f"session-expiry: {report.line()}; disturbances {'; '.join(outages)}; "
        f"{rebalances} rebalances after the first, guard re-seeks "
        f"{log.count('contiguity guard')}; {time.monotonic() - started:.0f} s"
    )
    failures.conclude(tmp_path, summary, report)
    assert report.differences == [], report.explain(worker.tail())
    assert rebalances >= 1, "the worker's session never expired: the test tested nothing"
