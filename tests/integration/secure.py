"""The secure local broker of the tests, started and stopped by the commands an operator runs
(``carepath broker up --secure --dir D``, ``carepath broker down --dir D``)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agents.broker_secure import read_env

CLI = [sys.executable, "-m", "agents.cli"]


@dataclass(frozen=True)
class SecureBroker:
    directory: Path
    #: the ``CAREPATH_*`` lines of ``directory/client.env``
    client: dict[str, str]


def plain_env() -> dict[str, str]:
    """This process's environment without any ``CAREPATH_*`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}


def run_cli(
    argv: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def secure_broker(directory: Path) -> Iterator[SecureBroker]:
    env = plain_env()
    version = os.environ.get("CAREPATH_KAFKA_VERSION")
    up = ["broker", "up", "--secure", "--dir", str(directory)]
    up += ["--version", version] if version else []
    try:
        done = run_cli(up, env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().splitlines()[-1].startswith("localhost:")
        path = directory / "client.env"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a password
        yield SecureBroker(directory, read_env(path))
    finally:
        run_cli(["broker", "down", "--dir", str(directory)], env, timeout=60)
