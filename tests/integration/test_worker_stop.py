"""A worker told to stop exits in bounded time, even with its broker gone (issue 12: a
platform team's ``docker stop`` or Kubernetes waits 10-30 s before SIGKILL). With the broker
SIGKILLed, Faust's consumer thread held a SIGTERM'd worker for 60 s; the worker now exits
after ``CAREPATH_SHUTDOWN_TIMEOUT`` with one clear line and status 3, its flight recorder
cleared (the stop is not counted against the message in hand). A worker whose broker is up
stops cleanly, well before the timeout."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from agents import broker, kafka_io
from agents.poison import AGENTS, SLOT
from agents.policy import FLIGHT_FILE
from agents.worker import FORCED_EXIT
from tests.integration.test_broker_restart import own_broker  # noqa: F401 (fixture)
from tests.integration.worker import Worker, WorkerEnv

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
SAMPLE = Path(__file__).parents[2] / "examples" / "sample.ndjson"


def _term(worker: Worker) -> tuple[int, float]:
    """SIGTERM the worker; its exit status and the seconds it took."""
    assert worker.proc is not None
    started = time.monotonic()
    os.killpg(worker.proc.pid, signal.SIGTERM)
    status = worker.proc.wait(timeout=120)
    return status, time.monotonic() - started


def test_a_worker_without_its_broker_exits_after_the_shutdown_timeout(
    own_broker: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    address = broker.broker_status(own_broker)
    assert address is not None
    extra = {"CAREPATH_SHUTDOWN_TIMEOUT": str(TIMEOUT)}
    wenv = WorkerEnv(bootstrap=address, datadir=tmp_path / "worker", extra=extra)
    worker = Worker(wenv, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        inbound = wenv.topic("care.inbound")  # one document: the flight recorder is open
        kafka_io.publish(address, inbound, [(None, SAMPLE.read_bytes().splitlines()[0], [])])
        kafka_io.wait_committed(address, wenv.group, inbound, 60)
        broker.broker_stop_keep(own_broker, grace=0.0)  # SIGKILL: the broker is gone
        time.sleep(1.0)
        status, seconds = _term(worker)
    finally:
        worker.kill()
    log = worker.tail(400)
    assert status == FORCED_EXIT, log
    assert TIMEOUT <= seconds < TIMEOUT + 10, (seconds, log)
    assert "did not stop within CAREPATH_SHUTDOWN_TIMEOUT=5 s" in log
    flight = (wenv.datadir / FLIGHT_FILE).read_bytes()[: SLOT * AGENTS]
    assert flight.strip() == b"", flight  # nothing counted as in flight


def test_a_worker_with_its_broker_stops_cleanly_before_the_timeout(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    extra = {"CAREPATH_SHUTDOWN_TIMEOUT": "60"}
    wenv = WorkerEnv(bootstrap=kafka_bootstrap, datadir=tmp_path / "worker", extra=extra)
    worker = Worker(wenv, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        status, seconds = _term(worker)
    finally:
        worker.kill()
    assert status == 0, worker.tail()
    assert seconds < 30, seconds
    assert "did not stop within" not in worker.tail(400)
