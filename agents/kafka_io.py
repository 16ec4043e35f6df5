"""Plain Kafka client helpers (kafka-python) for the CLI: read a topic to its end, publish,
and wait until a consumer group has committed everything that was published; and, for the
worker, :class:`RecordReader` (aiokafka) to read one record back by its position.

Each helper takes where to connect as a ``host:port`` string (PLAINTEXT) or as an
``agents.security.Connection`` (``connection(settings)``: TLS and SASL from the settings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioTopicPartition
from aiokafka.errors import KafkaError as AioKafkaError
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from agents.security import Connection, client_kwargs

log = logging.getLogger("carepath.agents")
Header = tuple[str, bytes]
Target = str | Connection
_PARTITIONER = DefaultPartitioner()


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[Header, ...]


def _partitions(consumer: KafkaConsumer, topic: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        if time.monotonic() > deadline:
            return []
        consumer.topics()  # refresh metadata
        time.sleep(0.2)


def end_offsets(bootstrap: Target, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(**client_kwargs(bootstrap))
    try:
        tps = [TopicPartition(topic, p) for p in _partitions(consumer, topic)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def read_topic(bootstrap: Target, topic: str, timeout: float = 30.0) -> Iterator[Record]:
    """Every record of ``topic`` from the beginning up to its end offsets at call time."""
    consumer = KafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in _partitions(consumer, topic)]
        if not tps:
            return
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout}s")
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                for m in msgs:
                    if m.offset < ends[tp]:
                        yield Record(
                            topic, tp.partition, m.offset, m.key, m.value, tuple(m.headers or ())
                        )
    finally:
        consumer.close()


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition the worker's producer (aiokafka's default partitioner, murmur2 as in
    the Java client) gives a message keyed ``key``."""
    return int(_PARTITIONER(key, partitions, partitions))


def producer(bootstrap: Target, max_request_size: int | None = None) -> KafkaProducer:
    """``max_request_size``: the largest record it sends (kafka-python's default: 1 MiB)."""
    sized = {"max_request_size": max_request_size} if max_request_size else {}
    return KafkaProducer(**client_kwargs(bootstrap), acks="all", linger_ms=5, **sized)


def publish(
    bootstrap: Target,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes, list[Header]]],
    max_request_size: int | None = None,
) -> int:
    """Send every record and wait for them; raise if Kafka refused any (never drop one)."""
    items = list(records)
    refused = publish_checked(bootstrap, topic, items, max_request_size)
    if refused:
        first = min(refused)
        raise KafkaError(
            f"{len(refused)} records refused by {topic}, first #{first}: {refused[first]}"
        )
    return len(items)


def publish_checked(
    bootstrap: Target,
    topic: str,
    records: list[tuple[bytes | None, bytes, list[Header]]],
    max_request_size: int | None = None,
) -> dict[int, str]:
    """Send every record and wait for them: {position: error type} of those Kafka refused
    (a record over the producer's or the topic's size limit, for instance)."""
    prod = producer(bootstrap, max_request_size)
    refused: dict[int, str] = {}
    futures = []
    try:
        for i, (key, value, headers) in enumerate(records):
            try:
                futures.append((i, prod.send(topic, key=key, value=value, headers=headers)))
            except KafkaError as e:  # checked before sending: too large for the producer
                refused[i] = type(e).__name__
        prod.flush()
    finally:
        prod.close()
    for i, fut in futures:
        if fut.failed():
            refused[i] = type(fut.exception).__name__
    return refused


def wait_committed(bootstrap: Target, group: str, topic: str, timeout: float) -> None:
    """Block until ``group`` has committed offsets ≥ the current end of every partition."""
    targets = end_offsets(bootstrap, topic)
    admin = KafkaAdminClient(**client_kwargs(bootstrap))
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                committed = admin.list_group_offsets(group).get(group, {})
            except KafkaError:
                committed = {}
            done = {tp.partition: om.offset for tp, om in committed.items() if tp.topic == topic}
            if all(done.get(p, 0) >= end for p, end in targets.items()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"group {group} did not consume {topic} to {targets} within {timeout}s "
                    f"(committed {done}); is a worker running on this broker?"
                )
            time.sleep(0.3)
    finally:
        admin.close()


def ensure_topics(
    bootstrap: Target,
    partitions: dict[str, int],
    timeout: float = 60.0,
    configs: dict[str, dict[str, str]] | None = None,
    replication: int = 1,
) -> dict[str, str | None]:
    """Create the topics that do not exist yet (Faust creates only its internal ones), each
    with its ``configs`` (e.g. ``cleanup.policy``) and ``replication`` replicas. Returns the
    ``cleanup.policy`` of every topic in ``configs``: as configured for one created here, as
    the broker describes it for one that existed (``None``: unknown), so a caller can tell a
    topic someone else created otherwise. Raises ``agents.replication.TopicProblem`` when
    the cluster has fewer brokers than ``replication``."""
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    from agents.replication import TopicProblem, check_brokers, replication_refused

    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(**client_kwargs(bootstrap))
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
    configs = configs or {}
    try:
        check_brokers(admin, replication)
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, n, replication, topic_configs=configs.get(name, {}))
            for name, n in partitions.items()
            if name not in existing
        ]
        for topic in new:
            try:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([topic])
            except InvalidReplicationFactorError as e:
                raise TopicProblem(replication_refused(topic.name, replication, e)) from None
        # created here: as configured; found: as the broker describes it
        policies = {t: c.get("cleanup.policy", "delete") for t, c in configs.items()}
        found = [t for t in configs if t in existing]
        if found:
            wanted = {"cleanup.policy": None}
            asked = [ConfigResource(ConfigResourceType.TOPIC, t, configs=wanted) for t in found]
            try:
                described = admin.describe_configs(asked, config_filter="all").get("topic", {})
            except KafkaError:
                described = {}
            for t in found:
                policies[t] = (described.get(t, {}).get("cleanup.policy") or {}).get("value")
        return policies
    finally:
        admin.close()


def group_state(bootstrap: Target, group: str) -> str | None:
    """The consumer group's state ("Stable", "Empty", ...) or None if unknown (also while a
    freshly started broker is still loading its group coordinator)."""
    admin = KafkaAdminClient(**client_kwargs(bootstrap))
    try:
        for g in admin.list_groups():
            if g.get("group_id") == group:
                return str(g.get("group_state"))
        return None
    except KafkaError:  # CoordinatorLoadInProgressError and other retriable states
        return None
    finally:
        admin.close()


class RecordReader:
    """One record of ``topic`` by its position, read without blocking the event loop: how
    a dead letter of the transition agent gets its original document back from
    ``care.inbound`` (rare, so one lazily started consumer without a group, and a timeout).
    ``kwargs``: the security keywords of an aiokafka client (``security.aiokafka_kwargs``).
    """

    def __init__(self, bootstrap: str, topic: str, timeout: float = 10.0, **kwargs: Any) -> None:
        self.bootstrap, self.topic, self.timeout = bootstrap, topic, timeout
        self.kwargs = kwargs
        self._consumer: AIOKafkaConsumer | None = None

    async def get(self, partition: int, offset: int) -> bytes | None:
        """The record's value; ``None`` if it cannot be read in time or is gone (retention)."""
        try:
            return await asyncio.wait_for(self._get(partition, offset), self.timeout)
        except (TimeoutError, AioKafkaError, OSError) as e:
            log.warning("could not read %s[%s]@%s back: %s", self.topic, partition, offset,
                        type(e).__name__)  # fmt: skip
            await self.close()
            return None

    async def _get(self, partition: int, offset: int) -> bytes | None:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                **self.kwargs,
            )
            await consumer.start()
            self._consumer = consumer
        consumer, tp = self._consumer, AioTopicPartition(self.topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        while True:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
            for rec in batch.get(tp, []):
                return rec.value if rec.offset == offset else None  # later: it is gone

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
