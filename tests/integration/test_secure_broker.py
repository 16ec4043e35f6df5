"""A secure broker end to end (issue 12): ``carepath broker up --secure`` in a temp dir (SASL_SSL,
SCRAM-SHA-512, a CA made at start), a worker and ``replay --broker`` of a public scenario with
nothing but its ``client.env`` settings give the outputs of embedded replay; a wrong password,
or a client without TLS and SASL, fails in one line with exit 2 and no traceback."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from agents.security import connection
from tests.integration.secure import CLI, SecureBroker, plain_env, run_cli
from tests.integration.worker import settings_of
from tests.scenarios.compare import DATA

pytestmark = pytest.mark.integration

SCENARIO = DATA / "01-discharge-home-to-iop.ndjson"
EXPECTED = orjson.loads((DATA / "01-discharge-home-to-iop.expected.json").read_bytes())
UNTIL = str(EXPECTED["until"])


@pytest.fixture(scope="module")
def client_env(secure_kafka: SecureBroker) -> dict[str, str]:
    values = secure_kafka.client
    assert values["CAREPATH_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert values["CAREPATH_SASL_MECHANISM"] == "SCRAM-SHA-512"
    tag = uuid.uuid4().hex[:10]
    return {
        **plain_env(),
        **values,
        "CAREPATH_APP_ID": f"carepath-secure-{tag}",
        "CAREPATH_TICK_INTERVAL": "0",
        "CAREPATH_WEB_PORT": "off",  # workers of other tests may hold the default port
        **{f"CAREPATH_TOPIC_{t.upper()}": f"{tag}.care.{t}" for t in _TOPICS},
    }


_TOPICS = ("inbound", "events", "tasks", "referrals", "deadletter")


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
    client_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**client_env, "CAREPATH_DATADIR": str(tmp_path / "fresh" / "a" / "b")}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [*CLI, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        conn, group = connection(settings_of(env)), env["CAREPATH_APP_ID"]
        deadline = time.monotonic() + 90
        while kafka_io.group_state(conn, group) != "Stable":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 90 s"
            time.sleep(0.5)
        out = tmp_path / "k.out"
        args = [str(SCENARIO), "--out", str(out), "--until", UNTIL]
        done = run_cli(
            ["replay", *args, "--broker", env["CAREPATH_BROKER"], "--timeout", "90"], env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        embedded = tmp_path / "e.out"
        plain = run_cli(["replay", str(SCENARIO), "--out", str(embedded), "--until", UNTIL], env)
        assert plain.returncode == 0, plain.stderr
        kafka = _final(out.read_text().splitlines())
        assert kafka == _final(embedded.read_text().splitlines())
        assert len(kafka) == len(EXPECTED["tasks"]) + len(EXPECTED["referrals"])
        assert (tmp_path / "fresh" / "a" / "b").is_dir()  # made with its parents
        tasks = run_cli(["tasks", "--json"], env, timeout=60)
        assert tasks.returncode == 0, tasks.stderr
        assert "recertification" in tasks.stdout
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()


def test_wrong_password_fails_in_one_line(client_env: dict[str, str], tmp_path: Path) -> None:
    env = {**client_env, "CAREPATH_SASL_PASSWORD": "wrong-" + uuid.uuid4().hex}
    started = time.monotonic()
    tasks = run_cli(["tasks"], env, timeout=60)
    assert tasks.returncode == 2
    line = _one_line(tasks.stderr)
    assert line.startswith("carepath tasks: authentication failed at localhost:")
    assert env["CAREPATH_SASL_PASSWORD"] not in tasks.stderr
    replay = run_cli(
        ["replay", str(SCENARIO), "--out", str(tmp_path / "o"), "--broker", env["CAREPATH_BROKER"]],
        env,
        timeout=60,
    )
    assert replay.returncode == 2
    assert "authentication failed" in _one_line(replay.stderr, "replay: site.timezone")
    worker = run_cli(["worker"], {**env, "CAREPATH_DATADIR": str(tmp_path / "w")}, timeout=60)
    assert worker.returncode == 2
    assert "authentication failed" in _one_line(worker.stderr, "worker: site.timezone")
    assert time.monotonic() - started < 45  # three commands, each well within 15 s


def test_client_without_tls_and_sasl_is_refused_in_one_line(client_env: dict[str, str]) -> None:
    env = {k: v for k, v in client_env.items() if "_SASL_" not in k and "_SSL_" not in k}
    env["CAREPATH_SECURITY_PROTOCOL"] = "PLAINTEXT"
    done = run_cli(["tasks"], env, timeout=60)
    assert done.returncode == 2
    assert "CAREPATH_SECURITY_PROTOCOL=PLAINTEXT" in _one_line(done.stderr)
