"""The Kafka path for tests: a real broker, ``carepath worker`` subprocesses, and
``carepath replay --broker`` (contract §9) returning a :class:`ReplayResult`.

The broker (:func:`broker`) is ``CAREPATH_BROKER`` when set, else one the project's launcher
starts (``agents.broker.broker_up``: Kafka jars from Maven Central, Java 17+; version from
``CAREPATH_KAFKA_VERSION``) and stops at the end. Each worker gets its own topics and
consumer group and ``CAREPATH_TICK_INTERVAL=0`` (only ``until`` moves the clocks, as in
embedded replay); a worker reads its rules at start, so there is one per rules file, started
when first needed. Patients live on across calls in a session, as in production: tests that
share patient ids (or ``until`` ticks, which reach every patient) see each other's state.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

import orjson

from agents.testing.inputs import Inputs, lines_of
from agents.testing.result import DeadLetter, ReplayResult
from agents.testing.run import Rules, Until, check_source, resolved_lines, rules_config, until_time

READY_TIMEOUT = 90.0


class KafkaWorker:
    """One ``carepath worker`` subprocess with its own topics and consumer group."""

    def __init__(self, bootstrap: str, directory: Path, rules: Path | None) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.bootstrap = bootstrap
        self.directory = directory
        self.log = directory / "worker.log"
        self.env = {
            "CAREPATH_BROKER": f"kafka://{bootstrap}",
            "CAREPATH_APP_ID": f"carepath-test-{self.tag}",
            "CAREPATH_TICK_INTERVAL": "0",
            "CAREPATH_WEB_PORT": "off",  # test and bench workers share a host: no /metrics
            "CAREPATH_DATADIR": str(directory / "data"),
            **{f"CAREPATH_TOPIC_{t.upper()}": f"{self.tag}.care.{t}" for t in _TOPICS},
        }
        if rules is not None:
            self.env["CAREPATH_RULES"] = str(rules)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from agents import kafka_io

        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agents.cli", "worker"],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while kafka_io.group_state(self.bootstrap, self.env["CAREPATH_APP_ID"]) != "Stable":
            if self.proc.poll() is not None:
                raise RuntimeError(f"carepath worker exited at start:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"carepath worker not ready in {READY_TIMEOUT:.0f} s")
            time.sleep(0.5)

    def settings(self) -> Any:
        from agents.settings import Settings

        fields: dict[str, Any] = {
            k.removeprefix("CAREPATH_").lower(): v for k, v in self.env.items()
        }
        fields.pop("rules", None)
        return Settings(**fields)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self, n: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-n:])


_TOPICS = ("inbound", "events", "tasks", "referrals", "deadletter")


@contextmanager
def broker(directory: Path) -> Iterator[str]:
    """``host:port`` of ``CAREPATH_BROKER`` when set, else of a broker the project's launcher
    starts in ``directory`` (stopped on exit; it dies with this process if killed)."""
    from agents.settings import LocalSettings

    external = LocalSettings().broker
    if external:
        yield external.split("://", 1)[-1].split(";")[0].split(",")[0]
        return
    from agents.broker import broker_down, broker_up, kafka_version

    address = broker_up(directory, kafka_version(), tie_to_caller=True)
    try:
        yield address
    finally:
        broker_down(directory)


class KafkaHarness:
    """The session's workers on one broker, one worker per rules file, started when first
    needed."""

    def __init__(self, directory: Path, bootstrap: str) -> None:
        self.directory = directory
        self.bootstrap = bootstrap
        self._workers: dict[str, KafkaWorker] = {}
        self._calls = 0

    def worker(self, rules: Path | None) -> KafkaWorker:
        key = str(rules.resolve()) if rules else ""
        if key not in self._workers:
            w = KafkaWorker(self.bootstrap, self.directory / f"worker-{len(self._workers)}", rules)
            self._workers[key] = w
            w.start()
        return self._workers[key]

    def replay(
        self,
        inputs: Inputs,
        tmp: Path,
        *,
        until: Until = None,
        rules: Rules = None,
        source: str | None = None,
        timeout: float = 120.0,
    ) -> ReplayResult:
        """``carepath replay --broker`` of ``inputs`` through the worker for ``rules`` (a
        rules file path or ``None``: a worker reads its rules from a file)."""
        if rules is not None and not isinstance(rules, str | os.PathLike):
            raise TypeError("carepath_kafka: rules must be the path of a rules file")
        path = Path(rules) if rules is not None else None
        config, src = rules_config(path), check_source(source)
        worker = self.worker(path)
        settings = worker.settings()
        lines = resolved_lines(lines_of(inputs), config, src, settings)
        self._calls += 1
        name = f"kafka-{self._calls}"
        events, out, dlq = (tmp / f"{name}.{x}.ndjson" for x in ("in", "out", "dlq"))
        events.write_bytes(b"".join(ln.raw + b"\n" for ln in lines))
        args = argparse.Namespace(
            events=[str(events)],
            out=str(out),
            dead_letter=str(dlq),
            ignored=None,
            source=src,
            broker=f"kafka://{worker.bootstrap}",
            timeout=timeout,
        )
        from agents.remote import remote_replay

        try:
            with redirect_stderr(io.StringIO()):  # its summary line; failures raise
                remote_replay(args, settings, until_time(until), config)
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n--- worker log ---\n{worker.tail()}") from e
        emitted = [orjson.loads(ln) for ln in out.read_bytes().splitlines() if ln.strip()]
        dead = [
            DeadLetter.of(orjson.loads(ln)) for ln in dlq.read_bytes().splitlines() if ln.strip()
        ]
        return ReplayResult(emitted, dead, None, mode="kafka")

    def close(self) -> None:
        for w in self._workers.values():
            w.stop()
