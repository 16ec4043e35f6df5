"""faust-streaming + aiokafka against the project's broker: a table survives a worker restart.

A tiny faust app counts messages per key in a ``Table`` (``table[k] = v``, so every update is
written to the changelog topic) and publishes each new count. The first worker counts a few
messages and stops; a second worker with a fresh data dir and the in-memory store can only know
the old counts by replaying the changelog, so its next count must continue from them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

pytestmark = pytest.mark.integration

PROBE_APP = """
import os

import faust

app = faust.App(
    os.environ["PROBE_APP_ID"],
    broker="kafka://" + os.environ["PROBE_BROKER"],
    store="memory://",
    topic_partitions=1,
    topic_replication_factor=1,
    broker_commit_interval=0.5,
)
source = app.topic(os.environ["PROBE_IN"], key_serializer="raw", value_serializer="raw")
output = app.topic(os.environ["PROBE_OUT"], key_serializer="raw", value_serializer="raw")
counts = app.Table("counts", default=int, partitions=1)


@app.agent(source)
async def count(stream):
    async for key, _value in stream.items():
        name = key.decode()
        counts[name] = counts[name] + 1
        await output.send(key=key, value=str(counts[name]).encode())
"""


class Probe:
    """One faust probe app (topics, app id) and the worker subprocesses that run it."""

    def __init__(self, bootstrap: str, folder: Path) -> None:
        tag = uuid.uuid4().hex[:10]
        self.bootstrap = bootstrap
        self.folder = folder
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
            "PROBE_APP_ID": f"carepath-probe-{tag}",
            "PROBE_BROKER": bootstrap,
            "PROBE_IN": f"carepath-probe-in-{tag}",
            "PROBE_OUT": f"carepath-probe-out-{tag}",
        }
        (folder / "probe_app.py").write_text(PROBE_APP)
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            topics = [self.env["PROBE_IN"], self.env["PROBE_OUT"]]
            admin.create_topics([NewTopic(topic, 1, 1) for topic in topics])
        finally:
            admin.close()
        self.published: list[tuple[str, int]] = []
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.consumer.assign([TopicPartition(self.env["PROBE_OUT"], 0)])

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        datadir = str(self.folder / name)
        cmd = [sys.executable, "-m", "faust", "-A", "probe_app", "--datadir", datadir]
        cmd += ["worker", "-l", "warn", "--without-web"]
        with log:
            return subprocess.Popen(cmd, cwd=self.folder, env=self.env, stdout=log, stderr=log)

    def send(self, *keys: str) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        try:
            for key in keys:
                producer.send(self.env["PROBE_IN"], key=key.encode(), value=b"x").get(timeout=30)
        finally:
            producer.close()

    def wait_counts(
        self, worker: subprocess.Popen[bytes], expected: dict[str, int], timeout: float = 45.0
    ) -> dict[str, int]:
        """Read published counts until every key reached ``expected``, time runs out or the
        worker exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and worker.poll() is None:
            latest = dict(self.published)
            if all(latest.get(k, 0) >= v for k, v in expected.items()):
                break
            for records in self.consumer.poll(timeout_ms=500).values():
                self.published += [(r.key.decode(), int(r.value)) for r in records]
        return dict(self.published)

    def changelog_size(self) -> int:
        topic = f"{self.env['PROBE_APP_ID']}-counts-changelog"
        partition = TopicPartition(topic, 0)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            return int(consumer.end_offsets([partition])[partition])
        finally:
            consumer.close()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


def _stop(worker: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(grace)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.fixture()
def probe(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Probe]:
    probe = Probe(kafka_bootstrap, tmp_path)
    try:
        yield probe
    finally:
        probe.consumer.close()


def test_table_is_recovered_from_changelog(probe: Probe) -> None:
    first = probe.start_worker("worker1")
    try:
        probe.send("a", "a", "a", "b", "b")
        counts = probe.wait_counts(first, {"a": 3, "b": 2})
        assert counts == {"a": 3, "b": 2}, probe.logs()
    finally:
        _stop(first)
    assert first.returncode is not None
    assert probe.changelog_size() >= 5  # one changelog record per table assignment
    before = len(probe.published)

    second = probe.start_worker("worker2")  # fresh datadir, memory store: only the changelog
    try:
        probe.send("a", "b")
        counts = probe.wait_counts(second, {"a": 4, "b": 3})
        # Exactly two new counts that continue the old ones: the table came back from the
        # changelog and the input offsets were committed (a replay would publish a=1 again).
        assert probe.published[before:] == [("a", 4), ("b", 3)], probe.logs()
        assert counts == {"a": 4, "b": 3}
    finally:
        _stop(second)
