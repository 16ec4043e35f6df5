"""A secure broker end to end (issue 12): ``carepath broker up --secure`` in a temp dir (SASL_SSL,
SCRAM-SHA-512, a CA made at start), a worker and ``replay --broker`` of a public scenario with
nothing but its ``client.env`` settings give the outputs of embedded replay; a wrong password,
or a client without TLS and SASL, fails in one line with exit 2 and no traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from agents.broker_secure import read_env
from agents.security import connection
from agents.settings import Settings
from tests.scenarios.compare import DATA

pytestmark = pytest.mark.integration

SCENARIO = DATA / "01-discharge-home-to-iop.ndjson"
EXPECTED = orjson.loads((DATA / "01-discharge-home-to-iop.expected.json").read_bytes())
UNTIL = str(EXPECTED["until"])
CLI = [sys.executable, "-m", "agents.cli"]


def _run(
    argv: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}


@pytest.fixture(scope="module")
def secure_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("secure-broker")
    env = _plain_env()
    version = os.environ.get("CAREPATH_KAFKA_VERSION")
    up = ["broker", "up", "--secure", "--dir", str(directory)]
    up += ["--version", version] if version else []
    try:
        done = _run(up, env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().splitlines()[-1].startswith("localhost:")
        yield directory
    finally:
        _run(["broker", "down", "--dir", str(directory)], env, timeout=60)


@pytest.fixture(scope="module")
def client_env(secure_dir: Path) -> dict[str, str]:
    path = secure_dir / "client.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = read_env(path)
    assert values["CAREPATH_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert values["CAREPATH_SASL_MECHANISM"] == "SCRAM-SHA-512"
    tag = uuid.uuid4().hex[:10]
    return {
        **_plain_env(),
        **values,
        "CAREPATH_APP_ID": f"carepath-secure-{tag}",
        "CAREPATH_TICK_INTERVAL": "0",
        "CAREPATH_WEB_PORT": "off",  # workers of other tests may hold the default port
        **{f"CAREPATH_TOPIC_{t.upper()}": f"{tag}.care.{t}" for t in _TOPICS},
    }


_TOPICS = ("inbound", "events", "tasks", "referrals", "deadletter")


def _settings(env: dict[str, str]) -> Settings:
    fields = {
        k.removeprefix("CAREPATH_").lower(): v for k, v in env.items() if k[:9] == "CAREPATH_"
    }
    return Settings(**fields)


def _final(lines: list[str]) -> dict[tuple[str, str], object]:
    docs = [orjson.loads(ln) for ln in lines if ln.strip()]
    return {(d["resourceType"], d["id"]): d for d in docs}


def _one_line(stderr: str, *notices: str) -> str:
    """The only line of ``stderr`` besides known notices (the time-zone one)."""
    lines = [ln for ln in stderr.splitlines() if not ln.startswith(notices)]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_worker_and_replay_over_sasl_ssl_equal_embedded(
    client_env: dict[str, str], secure_dir: Path, tmp_path: Path
) -> None:
    env = {**client_env, "CAREPATH_DATADIR": str(tmp_path / "fresh" / "a" / "b")}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [*CLI, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        conn, group = connection(_settings(env)), env["CAREPATH_APP_ID"]
        deadline = time.monotonic() + 90
        while kafka_io.group_state(conn, group) != "Stable":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 90 s"
            time.sleep(0.5)
        out = tmp_path / "k.out"
        args = [str(SCENARIO), "--out", str(out), "--until", UNTIL]
        done = _run(["replay", *args, "--broker", env["CAREPATH_BROKER"], "--timeout", "90"], env)
        assert done.returncode == 0, done.stderr[-3000:]
        embedded = tmp_path / "e.out"
        plain = _run(["replay", str(SCENARIO), "--out", str(embedded), "--until", UNTIL], env)
        assert plain.returncode == 0, plain.stderr
        kafka = _final(out.read_text().splitlines())
        assert kafka == _final(embedded.read_text().splitlines())
        assert len(kafka) == len(EXPECTED["tasks"]) + len(EXPECTED["referrals"])
        assert (tmp_path / "fresh" / "a" / "b").is_dir()  # made with its parents
        tasks = _run(["tasks", "--json"], env, timeout=60)
        assert tasks.returncode == 0, tasks.stderr
        assert "recertification" in tasks.stdout
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()


def test_wrong_password_fails_in_one_line(client_env: dict[str, str], tmp_path: Path) -> None:
    env = {**client_env, "CAREPATH_SASL_PASSWORD": "wrong-" + uuid.uuid4().hex}
    started = time.monotonic()
    tasks = _run(["tasks"], env, timeout=60)
    assert tasks.returncode == 2
    line = _one_line(tasks.stderr)
    assert line.startswith("carepath tasks: authentication failed at localhost:")
    assert env["CAREPATH_SASL_PASSWORD"] not in tasks.stderr
    replay = _run(
        ["replay", str(SCENARIO), "--out", str(tmp_path / "o"), "--broker", env["CAREPATH_BROKER"]],
        env,
        timeout=60,
    )
    assert replay.returncode == 2
    assert "authentication failed" in _one_line(replay.stderr, "replay: site.timezone")
    worker = _run(["worker"], {**env, "CAREPATH_DATADIR": str(tmp_path / "w")}, timeout=60)
    assert worker.returncode == 2
    assert "authentication failed" in _one_line(worker.stderr, "worker: site.timezone")
    assert time.monotonic() - started < 45  # three commands, each well within 15 s


def test_client_without_tls_and_sasl_is_refused_in_one_line(client_env: dict[str, str]) -> None:
    env = {k: v for k, v in client_env.items() if "_SASL_" not in k and "_SSL_" not in k}
    env["CAREPATH_SECURITY_PROTOCOL"] = "PLAINTEXT"
    done = _run(["tasks"], env, timeout=60)
    assert done.returncode == 2
    assert "CAREPATH_SECURITY_PROTOCOL=PLAINTEXT" in _one_line(done.stderr)
