"""The Faust fixes (agents/faust_fixes.py): the producer buffer's flush hands over every
message put before it, even when the broker is slow; the contiguity guard makes a stream
take each partition's records in order, once, or has Faust fetch them again."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.transport.producer import ProducerBuffer

from agents import faust_fixes
from agents.faust_fixes import apply_faust_fixes


async def _flush_with_a_slow_broker() -> tuple[int, int]:
    """Three buffered changelog writes that take 0.15 s each to hand over."""
    sent: list[int] = []

    async def publish_message(fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(0.15)  # longer than the 0.1 s Faust waits
        sent.append(fut.n)

    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    await buffer.start()
    try:
        for n in range(3):
            channel = SimpleNamespace(publish_message=publish_message)
            buffer.put(SimpleNamespace(n=n, message=SimpleNamespace(channel=channel)))  # type: ignore[arg-type]
        await buffer.flush()
        return len(sent), buffer.size
    finally:
        await buffer.stop()


def test_flush_waits_for_every_buffered_message() -> None:
    apply_faust_fixes()
    apply_faust_fixes()  # idempotent
    assert asyncio.run(_flush_with_a_slow_broker()) == (3, 0)


# ---------------------------------------------------------------------------------------------
# The contiguity guard: a stream takes each partition's records in order, once, or Faust
# fetches them again (agents/faust_fixes.py). Driven here without a broker: records as the
# aiokafka consumer thread drains them, through Faust's own message type and stream buffer.

EVENTS, CHANGELOG = "care.events", "app-state-changelog"
TP = TopicPartition(EVENTS, 0)


class Harness:
    """A Faust app's consumer (not started) and one stream buffer; ``drain`` plays the
    consumer thread, ``put`` the conductor, ``take`` the stream."""

    def __init__(self) -> None:
        apply_faust_fixes()
        self.app = faust.App("guard-test", broker="kafka://localhost:1", store="memory://")
        self.app.flow_control.resume()
        self.app.topics._acking_topics.add(EVENTS)
        self.consumer = self.app.consumer
        self.seeks: list[tuple[Any, int | None]] = []

        async def call_thread(fun: Any, thread: Any, tp: Any, offset: Any, gen: int) -> None:
            self.seeks.append((tp, offset))

        self.consumer._thread.call_thread = call_thread  # type: ignore[method-assign]
        self.queue = self.app.FlowControlQueue(maxsize=100_000, clear_on_resume=True)
        self.subs = SubscriptionState()
        self.subs.assign_from_user({TP})
        self.state = self.subs.subscription.assignment.state_value(TP)
        self.processed: list[int] = []

    def seek(self, offset: int) -> None:
        """A seek in the consumer thread (``state.seek``; a reset does the same)."""
        if self.state.awaiting_reset:
            self.state.reset_to(offset)
        else:
            self.state.seek(offset)

    def drain(self, *offsets: int) -> list[Any]:
        """Records drained from the current run, stamped, as Faust messages."""
        records = [ConsumerRecord(EVENTS, 0, o, 0, 0, b"k", b"v", None, 1, 1, []) for o in offsets]
        faust_fixes.stamp(SimpleNamespace(_subscription=self.subs), {TP: records})
        return [self.consumer._to_message(TP, r) for r in records]

    def put(self, messages: list[Any]) -> None:
        for m in messages:
            m.incref(1)
            self.queue.put_nowait(self.app.create_event(m.key, m.value, m.headers, m))

    def take(self) -> list[int]:
        """What the stream processes (and acknowledges); held-back messages are skipped."""
        taken = []
        while not self.queue.empty():
            event = self.queue.get_nowait()
            message = event.message
            if message.generation_id == self.app.consumer_generation_id:
                taken.append(message.offset)
            event.ack()  # Faust's stream acknowledges skipped messages too (pure Python)
        self.processed += taken
        return taken

    def committable(self) -> int | None:
        return self.consumer._new_offset(TP)


async def _run(scenario: Any) -> Any:
    return scenario(Harness())


def run(scenario: Any) -> Any:
    return asyncio.run(_run(scenario))


def test_a_run_of_records_is_taken_in_order_and_committed() -> None:
    def scenario(h: Harness) -> tuple[list[int], int | None]:
        h.seek(100)
        h.put(h.drain(*range(100, 110)))
        return h.take(), h.committable()

    assert run(scenario) == (list(range(100, 110)), 110)


def test_records_lost_between_fetch_and_stream_are_fetched_again() -> None:
    """The issue's run: 2462-2600 processed, 2601-2616 fetched but lost before the stream
    (cleared buffers, a stale read offset), 2617 onward delivered. Unguarded, Faust
    processed 2617 onward and never committed past 2601."""

    async def scenario() -> tuple[list[int], list[Any], list[int], list[int], int | None]:
        h = Harness()
        h.seek(2462)
        h.put(h.drain(*range(2462, 2601)))
        h.take()
        h.drain(*range(2601, 2617))  # fetched, never reached the stream
        h.put(h.drain(*range(2617, 2640)))
        held = h.take()
        await asyncio.sleep(0)  # the seek back runs
        seeks = list(h.seeks)
        h.seek(2601)  # what that seek does in the consumer thread
        h.put(h.drain(*range(2601, 2650)))
        again = h.take()
        return held, seeks, again, h.processed, h.committable()

    held, seeks, again, processed, committable = asyncio.run(scenario())
    assert held == [] and seeks == [(TP, 2601)]
    assert again == list(range(2601, 2650))
    assert processed == list(range(2462, 2650))  # each offset once, in order
    assert committable == 2650


def test_copies_of_processed_records_are_not_processed_again() -> None:
    def scenario(h: Harness) -> tuple[list[int], list[int]]:
        h.seek(10)
        h.put(h.drain(*range(10, 20)))
        first = h.take()
        h.seek(12)  # e.g. Faust's seek to the committed offset after a rebalance
        h.put(h.drain(*range(12, 25)))
        return first, h.take()

    assert run(scenario) == (list(range(10, 20)), list(range(20, 25)))


def test_records_fetched_before_a_later_seek_are_dropped_without_a_seek() -> None:
    async def scenario() -> tuple[list[int], list[Any]]:
        h = Harness()
        h.seek(10)
        h.put(h.drain(10, 11))
        h.take()
        stale = h.drain(12, 13)  # fetched, then the partition is seeked back
        h.seek(11)
        h.put(h.drain(11, 12, 13))
        h.put(stale)  # delivered late (a put blocked on a full buffer)
        taken = h.take()
        await asyncio.sleep(0)
        return taken, h.seeks

    assert asyncio.run(scenario()) == ([12, 13], [])


def test_a_gap_in_the_log_is_committable() -> None:
    """Offsets that are not in the log (compaction, transaction markers) inside a run."""

    def scenario(h: Harness) -> tuple[list[int], int | None, list[Any]]:
        h.seek(10)
        h.put(h.drain(10, 11, 15, 16))
        return h.take(), h.committable(), h.seeks

    assert run(scenario) == ([10, 11, 15, 16], 17, [])


def test_nothing_is_taken_or_acknowledged_during_a_rebalance() -> None:
    def scenario(h: Harness) -> tuple[list[int], list[int], Any]:
        h.seek(10)
        h.app.flow_control.suspend()
        h.put(h.drain(10, 11))
        h.app.flow_control.resume()
        during = h.take()
        h.app.consumer_generation_id = 7  # the next generation; old messages come late
        h.put(h.drain(12))
        late = h.take()
        return during, late, h.committable()

    assert run(scenario) == ([], [], None)


def test_a_partition_whose_first_records_were_lost_starts_again_at_the_commit() -> None:
    async def scenario() -> tuple[list[int], list[Any]]:
        h = Harness()
        h.consumer._committed_offset[TP] = 40
        h.seek(40)
        h.drain(40, 41)  # lost
        h.put(h.drain(42, 43))
        taken = h.take()
        await asyncio.sleep(0)
        return taken, h.seeks

    assert asyncio.run(scenario()) == ([], [(TP, 40)])


def test_a_revoked_partition_starts_afresh() -> None:
    async def scenario() -> list[int]:
        h = Harness()
        h.seek(10)
        h.put(h.drain(10, 11, 12))
        h.take()
        h.consumer._on_partitions_revoked = _noop  # Faust's app-level revocation
        await h.consumer.on_partitions_revoked({TP})
        h.seek(5)  # the next owner committed less (or more): start where it says
        h.put(h.drain(5, 6))
        return h.take()

    assert asyncio.run(scenario()) == [5, 6]


async def _noop(revoked: Any) -> None:
    return None


def test_read_offsets_do_not_filter_guarded_topics() -> None:
    def scenario(h: Harness) -> tuple[Any, Any]:
        h.consumer._read_offset[TP] = 2617
        other = TopicPartition(CHANGELOG, 0)
        h.consumer._read_offset[other] = 9
        return h.consumer._read_offset[TP], h.consumer._read_offset[other]

    assert run(scenario) == (None, 9)


@pytest.mark.parametrize(
    ("generation", "committed", "expected"),
    [(3, 40, [("seek", 40)]), (3, None, [("seek_to_beginning",)]), (4, 40, [])],
)
def test_the_seek_back_happens_only_in_the_same_generation(
    generation: int, committed: int | None, expected: list[Any]
) -> None:
    calls: list[Any] = []

    class Aio:
        def assignment(self) -> set[Any]:
            return {TP}

        async def committed(self, tp: Any) -> int | None:
            return committed

        def seek(self, tp: Any, offset: int) -> None:
            calls.append(("seek", offset))

        async def seek_to_beginning(self, tp: Any) -> None:
            calls.append(("seek_to_beginning",))

    thread = SimpleNamespace(
        _ensure_consumer=Aio, app=SimpleNamespace(consumer_generation_id=generation)
    )
    asyncio.run(faust_fixes.seek_in_thread(thread, TP, None, 3))
    assert calls == expected


def test_a_topic_missing_from_the_metadata_has_an_unknown_partition_count() -> None:
    """aiokafka's group snapshot says 0 for it; Faust took that for a count and refused
    every table write (PartitionsMismatch 4 != 0) until the next metadata refresh."""

    def scenario(h: Harness) -> tuple[int | None, int | None]:
        snapshot = {EVENTS: 4, CHANGELOG: 0}
        coordinator = SimpleNamespace(_metadata_snapshot=snapshot)
        h.consumer._thread._consumer = SimpleNamespace(_coordinator=coordinator)
        return h.consumer.topic_partitions(EVENTS), h.consumer.topic_partitions(CHANGELOG)

    assert run(scenario) == (4, None)


def test_one_seek_back_for_a_broken_run_even_after_it_is_done() -> None:
    """The rest of a broken run, still buffered when the seek back is done, is held back
    without seeking again (each seek would restart the run being fetched)."""

    async def scenario() -> tuple[list[int], list[Any]]:
        h = Harness()
        h.seek(10)
        h.put(h.drain(10, 11))
        h.take()
        h.drain(12)  # lost
        broken = h.drain(13, 14, 15)
        h.put(broken[:1])
        h.take()
        await asyncio.sleep(0)  # the seek back is done
        h.put(broken[1:])
        h.take()
        await asyncio.sleep(0)
        h.seek(12)
        h.put(h.drain(12, 13, 14, 15))
        h.take()
        return h.processed, h.seeks

    assert asyncio.run(scenario()) == ([10, 11, 12, 13, 14, 15], [(TP, 12)])


def _committing(did_commit: bool) -> Any:
    """A consumer whose ``_commit`` answers ``did_commit`` (Kafka took the offsets or not),
    with the bookkeeping ``Consumer._commit_offsets`` writes."""
    from collections import defaultdict

    from faust.transport.consumer import Consumer

    apply_faust_fixes()
    tp = TopicPartition("care.inbound", 0)
    seen: list[Any] = []

    async def commit(offsets: Any) -> bool:
        return did_commit

    async def flush() -> None:
        return None

    fake = SimpleNamespace(
        log=SimpleNamespace(dev=lambda *a: None, info=lambda *a: None),
        assignment=lambda: {tp},
        in_transaction=False,
        app=SimpleNamespace(
            producer=SimpleNamespace(flush=flush),
            tables=SimpleNamespace(on_commit=lambda offsets: seen.append(("tables", offsets))),
            monitor=SimpleNamespace(on_tp_commit=lambda offsets: seen.append(("monitor", offsets))),
        ),
        _commit=commit,
        _committed_offset=defaultdict(lambda: None, {tp: 568}),
    )
    return Consumer._commit_offsets, fake, tp, seen


def test_a_refused_commit_leaves_the_committed_offsets_as_kafka_has_them() -> None:
    """faust-streaming PR #692: a commit Kafka refused (UnknownMemberIdError in a rejoin)
    must not be bookkept as committed, or ``_new_offset`` sees a gap before the acknowledged
    records and never commits the partition again."""
    commit_offsets, fake, tp, seen = _committing(did_commit=False)
    assert asyncio.run(commit_offsets(fake, {tp: 615})) is False
    assert fake._committed_offset[tp] == 568 and seen == []


def test_a_commit_kafka_took_is_bookkept() -> None:
    commit_offsets, fake, tp, seen = _committing(did_commit=True)
    assert asyncio.run(commit_offsets(fake, {tp: 615})) is True
    assert fake._committed_offset[tp] == 615
    assert seen == [("tables", {tp: 615}), ("monitor", {tp: 615})]
