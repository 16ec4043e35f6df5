"""Start and stop a real ``carepath worker`` subprocess against the test broker.

Every worker gets unique topic names and a unique app id (consumer group), so tests on a
shared broker never see each other's messages (DESIGN.md convention 9).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents import kafka_io
from agents.security import connection
from agents.settings import Settings


@dataclass
class WorkerEnv:
    bootstrap: str
    datadir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    extra: dict[str, str] = field(default_factory=dict)

    def topic(self, name: str) -> str:
        return f"{self.tag}.{name}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "CAREPATH_BROKER": f"kafka://{self.bootstrap}",
                "CAREPATH_APP_ID": f"carepath-{self.tag}",
                "CAREPATH_TOPIC_INBOUND": self.topic("care.inbound"),
                "CAREPATH_TOPIC_EVENTS": self.topic("care.events"),
                "CAREPATH_TOPIC_TASKS": self.topic("care.tasks"),
                "CAREPATH_TOPIC_REFERRALS": self.topic("care.referrals"),
                "CAREPATH_TOPIC_DEADLETTER": self.topic("care.deadletter"),
                "CAREPATH_TICK_INTERVAL": "0",
                "CAREPATH_WEB_PORT": "off",  # test and bench workers share a host: no /metrics
                "CAREPATH_DATADIR": str(self.datadir),
            }
        )
        env.update(self.extra)
        return env

    @property
    def group(self) -> str:
        return f"carepath-{self.tag}"

    @property
    def target(self) -> kafka_io.Target:
        """Where a client connects: the connection of the worker's own settings (TLS and SASL
        when ``extra`` has them, e.g. a secure broker's ``client.env`` lines)."""
        return connection(settings_of(self.env()))


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with ``env`` reads (its ``CAREPATH_*`` variables)."""
    fields: dict[str, Any] = {
        k.removeprefix("CAREPATH_").lower(): v for k, v in env.items() if k[:9] == "CAREPATH_"
    }
    return Settings(**fields)


class Worker:
    def __init__(self, wenv: WorkerEnv, log: Path) -> None:
        self.wenv = wenv
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker"],
            env=self.wenv.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker's consumer group is stable (joined, partitions assigned)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            if kafka_io.group_state(self.wenv.target, self.wenv.group) == "Stable":
                return
            time.sleep(0.5)
        raise TimeoutError(f"worker not ready in {timeout}s\n{self.tail()}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @contextmanager
    def running(self) -> Iterator[Worker]:
        """Started and ready (:meth:`wait_ready`) in the block, stopped after it."""
        self.start()
        try:
            self.wait_ready()
            yield self
        finally:
            self.stop()

    def tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


def worker_in(bootstrap: str, tmp: Path, **extra: str) -> Worker:
    """A worker (not started) with its data directory (``worker``) and log (``worker.log``)
    in ``tmp``, and ``extra`` in its environment."""
    wenv = WorkerEnv(bootstrap=bootstrap, datadir=tmp / "worker", extra=dict(extra))
    return Worker(wenv, tmp / "worker.log")


@contextmanager
def running_worker(bootstrap: str, tmp: Path, **extra: str) -> Iterator[Worker]:
    with worker_in(bootstrap, tmp, **extra).running() as worker:
        yield worker
