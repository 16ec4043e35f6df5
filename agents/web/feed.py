"""The read model's feed: ``care.tasks`` and ``care.referrals`` from the beginning, then
on as they grow (a daemon thread with a plain kafka-python consumer, no consumer group:
every web instance reads every partition into its own read model).

Start-up reads both topics to the end offsets they had when it began, logging progress
every few seconds (``read model: 41,200 of 100,000 records (41%)``), and then sets
``model.loaded``; after that each poll's records are applied in one transaction.
Log lines name topics, counts and offsets, never a resource's content.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from agents.web.kafka import client_kwargs
from agents.web.readmodel import ReadModel

log = logging.getLogger("carepath.web.feed")

PROGRESS_EVERY = 5.0  # seconds between progress lines while rebuilding


class Feed(threading.Thread):
    def __init__(
        self, model: ReadModel, settings: Any, topics: list[str], dead_letters: str | None = None
    ) -> None:
        super().__init__(name="carepath-web-feed", daemon=True)
        self.model = model
        self.settings = settings
        self.topics = topics
        self.dead_letters = dead_letters  # read from its end: refusals of pending updates
        self.stopping = threading.Event()
        self.error: str | None = None
        self.records = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._consume()
            except KafkaError as e:
                self.error = type(e).__name__
                log.warning("read model: Kafka error %s; retrying in 2 s", type(e).__name__)
                self.stopping.wait(2.0)

    def _partitions(self, consumer: KafkaConsumer) -> list[TopicPartition]:
        deadline = time.monotonic() + 60
        while not self.stopping.is_set():
            found = {t: consumer.partitions_for_topic(t) for t in self.topics}
            if all(found.values()):
                return [TopicPartition(t, p) for t, ps in found.items() for p in sorted(ps or ())]
            if time.monotonic() > deadline:
                missing = [t for t, ps in found.items() if not ps]
                log.warning("read model: waiting for topics %s to exist", ", ".join(missing))
                deadline = time.monotonic() + 60
            consumer.topics()
            self.stopping.wait(1.0)
        return []

    def _consume(self) -> None:
        consumer = KafkaConsumer(
            enable_auto_commit=False, max_poll_records=2000, **client_kwargs(self.settings)
        )
        try:
            tps = self._partitions(consumer)
            if not tps:
                return
            dlq = [
                TopicPartition(self.dead_letters, p)
                for p in sorted(consumer.partitions_for_topic(self.dead_letters or "") or ())
            ]
            consumer.assign(tps + dlq)
            consumer.seek_to_beginning(*tps)
            if dlq:
                consumer.seek_to_end(*dlq)
            ends = consumer.end_offsets(tps)
            total = sum(ends.values()) - sum(consumer.beginning_offsets(tps).values())
            self.error = None
            self._rebuild(consumer, tps, ends, total)
            while not self.stopping.is_set():
                self._poll(consumer, 500)
        finally:
            consumer.close()

    def _rebuild(
        self,
        consumer: KafkaConsumer,
        tps: list[TopicPartition],
        ends: dict[TopicPartition, int],
        total: int,
    ) -> None:
        started = last = time.monotonic()
        log.info("read model: rebuilding from %s (%d records)", ", ".join(self.topics), total)
        while not self.stopping.is_set() and any(consumer.position(tp) < ends[tp] for tp in tps):
            self._poll(consumer, 200)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                pct = 100 * self.records // total if total else 100
                log.info("read model: %d of %d records (%d%%)", self.records, total, pct)
        stats = self.model.stats()
        log.info(
            "read model: ready in %.1f s: %d records, %d Tasks (%d open), %d ServiceRequests",
            time.monotonic() - started,
            self.records,
            stats["tasks"],
            stats["open_tasks"],
            stats["referrals"],
        )
        self.model.loaded.set()

    def _poll(self, consumer: KafkaConsumer, timeout_ms: int) -> None:
        batches = consumer.poll(timeout_ms=timeout_ms)
        if not batches:
            return
        with self.model.batch():
            for tp, msgs in batches.items():
                if tp.topic == self.dead_letters:
                    for m in msgs:
                        self.model.dead_letter(m.value)
                    continue
                for m in msgs:
                    self.model.apply(m.value, m.key)
                    self.records += 1
