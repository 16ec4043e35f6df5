"""``CAREPATH_REPLICATION_FACTOR`` on a real broker (issue 12): every topic the worker makes
(ours, and Faust's changelog and leader topics) gets that many replicas; a factor the
cluster cannot hold stops the worker before it creates anything, in one line with exit 2;
a factor below 1 is refused as a setting. Our test broker is one node, so the factor that
works here is 1 (a cluster of three takes 3: docs/operations.md)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import InvalidReplicationFactorError

from agents import replication
from agents.app import faust_settings
from agents.settings import Settings
from agents.worker import LEADER
from tests.integration.worker import WorkerEnv, running_worker


def _worker_run(wenv: WorkerEnv, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", "worker"],
        env=wenv.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _errors(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's error lines (notices such as the rules' time zone may precede them);
    never a traceback."""
    assert "Traceback" not in run.stderr, run.stderr
    return [line for line in run.stderr.splitlines() if line.startswith("carepath worker:")]


def test_a_factor_below_one_is_refused_in_one_line(tmp_path: Path) -> None:
    wenv = WorkerEnv(
        bootstrap="localhost:9",  # never reached: the setting is refused first
        datadir=tmp_path / "worker",
        extra={"CAREPATH_REPLICATION_FACTOR": "0"},
    )
    run = _worker_run(wenv, timeout=30)
    assert run.returncode == 2, run.stderr
    [line] = _errors(run)
    assert line.startswith("carepath worker: invalid settings: CAREPATH_REPLICATION_FACTOR")
    assert "greater than or equal to 1" in line


def test_faust_creates_its_own_topics_with_the_factor() -> None:
    s = Settings(_env_file=None, replication_factor=3)  # type: ignore[call-arg]
    assert faust_settings(s)["topic_replication_factor"] == 3
    assert faust_settings(Settings(_env_file=None))["topic_replication_factor"] == 1  # type: ignore[call-arg]


@pytest.mark.integration
def test_more_replicas_than_brokers_fails_in_one_line_before_creating_anything(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    wenv = WorkerEnv(
        bootstrap=kafka_bootstrap,
        datadir=tmp_path / "worker",
        extra={"CAREPATH_REPLICATION_FACTOR": "3"},
    )
    run = _worker_run(wenv)
    assert run.returncode == 2, run.stderr
    assert _errors(run) == [
        "carepath worker: CAREPATH_REPLICATION_FACTOR=3 but the cluster has 1 broker(s): "
        "every topic needs at most that many replicas"
    ], run.stderr
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert not [t for t in admin.list_topics() if wenv.tag in t]
    finally:
        admin.close()


@pytest.mark.integration
def test_a_broker_refusing_the_factor_is_one_line_too(kafka_bootstrap: str) -> None:
    """When the cluster cannot be counted first (an ACL may deny it), the broker's own
    refusal to create the topic becomes the line, with the broker's reason."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    topic = f"rf-{uuid.uuid4().hex[:10]}"
    try:
        with pytest.raises(InvalidReplicationFactorError) as refused:
            admin.create_topics([NewTopic(topic, 1, 2)])
    finally:
        admin.close()
    line = replication.replication_refused(topic, 2, refused.value)
    assert "\n" not in line
    assert line.startswith(
        f"cannot create topic {topic} with replication factor 2 (CAREPATH_REPLICATION_FACTOR): "
    )
    assert "only 1 broker(s) are registered" in line
    assert "CreateTopicsRequest" not in line


@pytest.mark.integration
def test_every_topic_gets_the_configured_factor(kafka_bootstrap: str, tmp_path: Path) -> None:
    with running_worker(kafka_bootstrap, tmp_path, CAREPATH_REPLICATION_FACTOR="1") as w:
        wenv = w.wenv
        names = ("inbound", "events", "tasks", "referrals", "deadletter")
        ours = [wenv.topic(f"care.{n}") for n in names]
        faust = [f"{wenv.group}-patient-state-changelog", f"{wenv.group}{LEADER}"]
        factors = replication.replication_factors(kafka_bootstrap, [*ours, *faust])
        assert factors == dict.fromkeys([*ours, *faust], 1), w.tail()
        assert "replication factor" not in w.log.read_text(errors="replace"), w.tail()
