"""The project-run Kafka broker: a kafka-python round trip, status, stop/start keeping data."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from agents import broker

pytestmark = pytest.mark.integration


def _new_topic(bootstrap: str) -> str:
    topic = f"carepath-test-{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    return topic


def _produce(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)  # bytes in, no serializer callables
    try:
        for value in values:
            producer.send(topic, key=b"key", value=value).get(timeout=30)
    finally:
        producer.close()


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
        return values
    finally:
        consumer.close()


def test_round_trip(kafka_bootstrap: str) -> None:
    topic = _new_topic(kafka_bootstrap)
    payload = f"hello {uuid.uuid4()}".encode()
    _produce(kafka_bootstrap, topic, payload)
    assert _consume(kafka_bootstrap, topic, 1) == [payload]


def test_session_broker_answers(kafka_bootstrap: str) -> None:
    assert broker.answers(kafka_bootstrap)
    assert not broker.answers("localhost:1", timeout=1.0)


@pytest.mark.skipif(
    bool(os.environ.get("CAREPATH_BROKER")), reason="uses a broker of its own, not CAREPATH_BROKER"
)
def test_status_stop_keep_and_restart(tmp_path: Path) -> None:
    directory = tmp_path / "broker"
    version = os.environ.get("CAREPATH_KAFKA_VERSION") or broker.DEFAULT_KAFKA_VERSION
    assert broker.broker_status(directory) is None
    address = broker.broker_up(directory, version, tie_to_caller=True)
    try:
        assert address.startswith("localhost:")
        assert broker.broker_status(directory) == address
        pid = (directory / broker.PID_FILE).read_text()
        assert broker.broker_up(directory, version) == address  # reused, not a second JVM
        assert (directory / broker.PID_FILE).read_text() == pid

        topic = _new_topic(address)
        _produce(address, topic, b"before restart")
        assert broker.broker_stop_keep(directory, grace=10.0)
        assert broker.broker_status(directory) is None

        # same port, same data
        assert broker.broker_start_existing(directory, tie_to_caller=True) == address
        assert broker.broker_status(directory) == address
        _produce(address, topic, b"after restart")
        assert _consume(address, topic, 2) == [b"before restart", b"after restart"]
    finally:
        stopped = broker.broker_down(directory)
    assert stopped
    assert broker.broker_status(directory) is None
    assert not broker.broker_down(directory)
    assert not (directory / broker.DATA_DIR).exists()


def test_generated_config_matches_version() -> None:
    props4 = broker.server_properties("4.4.0", 19092, 19093, Path("/x/data"))
    assert "controller.quorum.bootstrap.servers=localhost:19093" in props4
    assert "share.coordinator.state.topic.replication.factor=1" in props4
    assert "group.initial.rebalance.delay.ms=0" in props4
    props3 = broker.server_properties("3.9.1", 19092, 19093, Path("/x/data"))
    assert "controller.quorum.voters=1@localhost:19093" in props3
    assert "share.coordinator" not in props3
    assert "log4j-slf4j-impl" in broker.pom_xml("4.4.0")
    assert "slf4j-reload4j" in broker.pom_xml("3.9.1")
