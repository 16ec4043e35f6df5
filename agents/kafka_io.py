"""Plain Kafka client helpers for the CLI, the bench and the tests: create, describe and
delete topics, read a topic to its end, publish (kafka-python; aiokafka for the bench's fast
and paced sends), and wait until a consumer group has committed everything that was
published (:class:`Offsets`); aiokafka clients with the connection's security
(:func:`aio_producer`, :func:`aio_consumer`); and, for the worker, :class:`RecordReader`
(aiokafka) to read one record back by its position.

Each helper takes where to connect as a ``host:port`` string (PLAINTEXT) or as an
``agents.security.Connection`` (``connection(settings)``: TLS and SASL from the settings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as AioTopicPartition
from aiokafka.errors import KafkaError as AioKafkaError
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from agents.security import Connection, aio_client_kwargs, client_kwargs

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
    timestamp: int = -1  # ms: the producer's, or the broker's append time (LogAppendTime)


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


class Offsets:
    """End offsets of topics and a consumer group's committed offsets, through one consumer
    and one admin client kept open, so a caller can poll them quickly (the bench, every
    50 ms). Asking about a topic never creates it."""

    def __init__(self, bootstrap: Target) -> None:
        self.bootstrap = bootstrap
        self.consumer = KafkaConsumer(**client_kwargs(bootstrap), allow_auto_create_topics=False)
        self._admin: KafkaAdminClient | None = None

    def __enter__(self) -> Offsets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.consumer.close()
        if self._admin is not None:
            self._admin.close()

    def ends(self, topic: str) -> dict[int, int]:
        """{partition: end offset} of ``topic`` ({} if it has no partitions within 10 s)."""
        tps = [TopicPartition(topic, p) for p in _partitions(self.consumer, topic)]
        return {tp.partition: off for tp, off in self.consumer.end_offsets(tps).items()}

    def total(self, topic: str) -> int:
        return sum(self.ends(topic).values())

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """{partition: offset} that ``group`` has committed on ``topic`` ({} if unknown)."""
        if self._admin is None:
            self._admin = KafkaAdminClient(**client_kwargs(self.bootstrap))
        try:
            found = self._admin.list_group_offsets(group).get(group, {})
        except KafkaError:
            return {}
        return {tp.partition: om.offset for tp, om in found.items() if tp.topic == topic}

    def wait_committed(
        self,
        group: str,
        topic: str,
        timeout: float,
        alive: Callable[[], bool] | None = None,
        poll: float = 0.3,
    ) -> None:
        """Block until ``group`` has committed offsets ≥ the current end of every partition;
        ``alive``: whether the consumer still runs (else ``RuntimeError`` at once)."""
        targets = self.ends(topic)
        deadline = time.monotonic() + timeout
        while True:
            done = self.committed(group, topic)
            if all(done.get(p, 0) >= end for p, end in targets.items()):
                return
            if alive is not None and not alive():
                raise RuntimeError(f"the consumer of {topic} (group {group}) exited")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"group {group} did not consume {topic} to {targets} within {timeout}s "
                    f"(committed {done}); is a worker running on this broker?"
                )
            time.sleep(poll)


def end_offsets(bootstrap: Target, topic: str) -> dict[int, int]:
    with Offsets(bootstrap) as offsets:
        return offsets.ends(topic)


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
                        headers = tuple(m.headers or ())
                        yield Record(
                            topic, tp.partition, m.offset, m.key, m.value, headers, m.timestamp
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
    with Offsets(bootstrap) as offsets:
        offsets.wait_committed(group, topic, timeout)


async def apublish(
    bootstrap: Target, topic: str, values: Iterable[bytes], rate: float | None = None
) -> int:
    """Send ``values`` (no key) with aiokafka, ``acks=all``: as fast as it can, or paced at
    ``rate`` records a second (the bench's offered load). Raise if Kafka refused any."""
    producer = aio_producer(bootstrap, acks="all", linger_ms=2)
    await producer.start()
    sent: list[asyncio.Future[Any]] = []
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        send = producer.send
        for value in values:
            if rate:
                delay = start + len(sent) / rate - loop.time()
                if delay > 0.0005:
                    await asyncio.sleep(delay)
            sent.append(await send(topic, value=value))
        await producer.flush()
    finally:
        await producer.stop()
    refused = [f for f in sent if f.done() and not f.cancelled() and f.exception()]
    if refused or not all(f.done() for f in sent):
        raise KafkaError(f"{len(refused)} of {len(sent)} records not acknowledged by {topic}")
    return len(sent)


def publish_values(
    bootstrap: Target, topic: str, values: Iterable[bytes], rate: float | None = None
) -> int:
    """:func:`apublish` from synchronous code."""
    return asyncio.run(apublish(bootstrap, topic, values, rate))


def aio_producer(bootstrap: Target, **kwargs: Any) -> AIOKafkaProducer:
    """An aiokafka producer (not started) with the connection's TLS and SASL."""
    return AIOKafkaProducer(**aio_client_kwargs(bootstrap), **kwargs)


def aio_consumer(bootstrap: Target, *topics: str, **kwargs: Any) -> AIOKafkaConsumer:
    """An aiokafka consumer (not started) with the connection's TLS and SASL."""
    return AIOKafkaConsumer(*topics, **aio_client_kwargs(bootstrap), **kwargs)


def wait_leaders(bootstrap: Target, partitions: dict[str, int], timeout: float = 30.0) -> None:
    """Block until every topic of ``partitions`` has that many partitions, each with a
    leader (a topic just created can be written at once); ``TimeoutError`` otherwise."""
    admin = KafkaAdminClient(**client_kwargs(bootstrap))
    deadline = time.monotonic() + timeout
    try:
        while True:
            meta = admin.describe_topics(list(partitions))
            if all(
                t["error_code"] == 0
                and len(t["partitions"]) == partitions[t["name"]]
                and all(p["leader_id"] >= 0 for p in t["partitions"])
                for t in meta
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(partitions)} have no leaders in {timeout}s")
            time.sleep(0.1)
    finally:
        admin.close()


def delete_topics(bootstrap: Target, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (a test's or a bench run's own
    topics); return their names."""
    admin = KafkaAdminClient(**client_kwargs(bootstrap))
    try:
        mine = sorted(t for t in admin.list_topics() if t.startswith(prefix))
        if mine:
            admin.delete_topics(mine)
        return mine
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
