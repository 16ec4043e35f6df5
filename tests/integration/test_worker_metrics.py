"""A live worker's ``/healthz``, ``/readyz`` and ``/metrics`` (issue 12, "observable"), and
its JSON log lines: the sample stream published to a real broker is counted exactly as
embedded replay counts it (``tests/agents/test_metrics.expected``), and once it is all
processed the consumer lag is 0 on every partition, the next offsets being the number of
documents and of events."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents import headers as hdr
from agents import kafka_io
from tests.agents.test_metrics import REFERENCE, counted, expected, sample_lines
from tests.integration.worker import Worker, WorkerEnv

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""  # not listening yet


def _wait(worker: Worker, what: str, check: object, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout}s\n{worker.tail(80)}")


def _offsets(body: str, name: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for f in text_string_to_metric_families(body)
        if f.name == name
        for s in f.samples
    }


def test_endpoints_and_metrics_of_a_live_worker(kafka_bootstrap: str, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "CAREPATH_WEB_PORT": str(port),
        "CAREPATH_WEB_HOST": "127.0.0.1",
        "CAREPATH_LOG_FORMAT": "json",
    }
    wenv = WorkerEnv(bootstrap=kafka_bootstrap, datadir=tmp_path / "worker", extra=settings)
    worker = Worker(wenv, tmp_path / "worker.log")
    worker.start()
    try:
        seen: list[int] = []

        def ready() -> bool:
            status, _ = _get(f"{base}/readyz")
            seen.append(status)
            return status == 200

        _wait(worker, "/readyz 200", ready)
        assert set(seen) <= {0, 503, 200}, seen  # before: not listening, or not ready
        assert _get(f"{base}/healthz")[0] == 200

        lines = sample_lines()
        reference = [(hdr.REFERENCE, REFERENCE.isoformat().encode())]
        inbound = wenv.topic("care.inbound")
        kafka_io.publish(kafka_bootstrap, inbound, [(None, raw, reference) for raw in lines])
        want = expected(lines)
        events = sum(want["events"].values())

        def counts_reached() -> bool:
            body = _get(f"{base}/metrics")[1]
            got = counted(text_string_to_metric_families(body))
            return (
                sum(got["documents"].values()) >= len(lines)
                and sum(got["events"].values()) >= events
                and sum(got["outputs"].values()) >= sum(want["outputs"].values())
            )

        _wait(worker, "every document, event and output counted", counts_reached)
        time.sleep(1.0)  # nothing more comes: the counts stay where they are
        status, body = _get(f"{base}/metrics")
        assert status == 200
        assert counted(text_string_to_metric_families(body)) == want
        assert "s01" not in body and "MRN" not in body  # no patient in a metric

        lag = _offsets(body, "carepath_consumer_lag")
        at = _offsets(body, "carepath_consumer_next_offset")
        events_topic = wenv.topic("care.events")
        assert at[(inbound, "0")] == len(lines)
        assert sum(v for (t, _), v in at.items() if t == events_topic) == events
        documents_topic = f"{wenv.group}-documents"  # the documents agent's (agents/documents.py)
        assert {t for t, _ in lag} == {inbound, events_topic, documents_topic}
        assert len(lag) == 1 + 4 + 4 and set(lag.values()) == {0.0}, lag  # CAREPATH_PARTITIONS
        assert "carepath_ready 1.0" in body
        assert "carepath_processing_seconds_bucket" in body
    finally:
        worker.stop()
    logged = [json.loads(x) for x in worker.log.read_text().splitlines()]  # every line
    letters = [x for x in logged if str(x["message"]).startswith("dead letter from")]
    n_letters = sum(want["dead_letters"].values())
    assert len(letters) == n_letters and {x["level"] for x in letters} == {"INFO"}
    assert all({"time", "level", "logger", "message"} <= set(x) for x in logged)


def test_a_port_in_use_is_one_line(kafka_bootstrap: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        extra = {"CAREPATH_WEB_PORT": str(port), "CAREPATH_WEB_HOST": "127.0.0.1"}
        wenv = WorkerEnv(bootstrap=kafka_bootstrap, datadir=tmp_path / "w", extra=extra)
        worker = Worker(wenv, tmp_path / "worker.log")
        worker.start()
        assert worker.proc is not None
        assert worker.proc.wait(timeout=60) == 2
    out = worker.log.read_text()
    assert "Traceback" not in out
    [line] = [x for x in out.splitlines() if "cannot listen" in x]
    assert line == (
        f"carepath worker: cannot listen on 127.0.0.1:{port} for /metrics, /healthz and "
        "/readyz (Address already in use): set CAREPATH_WEB_PORT to a free port, or off"
    )
