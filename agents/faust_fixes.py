"""Fixes to faust-streaming 0.15.3 (the newest release), applied by the composition root;
each is tested without a broker in ``tests/agents/test_faust_fixes.py``. Remove one when a
Faust release has it.

**Producer buffer flush.** ``ProducerBuffer.flush`` gives up as soon as no message has
left the buffer for 0.1 s (with a broker taking 0.15 s per message it returns with none of
three sent). The buffer holds the table changelog writes (``table[k] = v`` is
``send_soon``), and Faust flushes the producer before it commits offsets and before it
measures the changelog highwaters of a table recovery after a rebalance; a flush that
returns early lets offsets be committed, or a table be rebuilt, without state writes made
for them. The fix waits until every message put in the buffer before the flush, the one
being sent included, has been handed to the Kafka client, whose own flush then waits for
the acknowledgements. While the buffer stops, Faust's behaviour is kept (its sender task is
gone).

Found while chasing a broker-restart run (6 s session timeout, the worker's session dropped
and its partitions rebalanced) whose recovery rebuilt a patient without the PHQ-9 applied
just before; the same symptom still showed in that setting with this fix alone: the
rebalance of a live worker has other races, which the contiguity guard below closes.

**Unknown partition count** (issue 12). The consumer's ``topic_partitions`` reads aiokafka's
group metadata snapshot, which counts a topic missing from the cluster metadata as 0
partitions; Faust takes only ``None`` for unknown, so a table whose changelog topic was
created while the group formed (several workers started at once on a new deployment) raised
``PartitionsMismatch`` (4 != 0) on every write until the metadata refresh, minutes later:
every event of the leader's partitions became a dead letter (seen in the three-worker test).
0 now reads as unknown, as a real topic has at least one partition.

**Failed commits are not bookkept** (issue 12, the session-expiry test). ``Consumer.
_commit_offsets`` records the offsets it tried in ``_committed_offset`` whether or not Kafka
took them. A commit refused with ``UnknownMemberIdError`` (the worker's session expired: a
broker restart or a freeze longer than the session timeout) returns after the rejoin has
already revoked and re-assigned the partitions, so the stale offsets overwrite the ones the
assignment read from the broker; ``_new_offset`` then sees a gap between that offset and
the acknowledged records ("the head of the acked list is more than one past it") and
commits nothing more on the partition while the worker goes on processing (seen: the
session-expiry test's group stayed at its commit for 3 minutes, in 2 of 4 runs on
2026-12-02). The fix is faust-streaming's own (PR #692, merged 2026-07, after 0.15.3): the
bookkeeping and the monitor's commit event only when the commit succeeded.

**Contiguity guard** (issue 12, "scale-out, proven"). Faust can hand a stream a record whose
predecessors it fetched but never delivered, and then it never delivers them:

- records it fetched before a seek still reach the streams after it: the fetcher loop
  (``Consumer._drain_messages``) delivers the rest of a batch, and sets ``_read_offset`` for
  the record in hand, after ``Recovery.on_recovery_completed`` re-seeked the partition to
  its committed offset; that recovery also resumes the flow before the seek and clears the
  stream buffers after it (``flow_control.resume()``), dropping records delivered between;
  a ``chan.put`` blocked on a full buffer when a rebalance starts lands after the clear
  (faust-streaming #216, #221, #236 are earlier rounds of the same races);
- ``_read_offset`` then runs ahead of what the stream processed, so the drain loop drops
  the re-fetched copies of the lost records (``offset < r_offset``) for good;
- the committed offset cannot pass the first lost record (``_new_offset``: the head of the
  acked list is more than one past it), so the group stays committed there while the
  worker goes on, and the next rebalance re-reads everything since, out of order (the
  issue: care.events-0 processed 2462-2600, then 2617 onward; commit stuck at 2601); or,
  when the stale read offset is below a stale record, the drain loop's gap filling
  (``_add_gap``) marks the skipped offsets as acknowledged and commits over them (the
  broker-restart runs that lost 169 inbound documents).

The fix does not chase each race: it checks, where a stream takes a record from its
buffer, that the record is the next one of the partition, and makes Faust fetch again
otherwise. aiokafka hands out a partition's records as *runs*: from a position set by a
seek or a reset, consecutive records (a gap inside a run is a gap in the log itself:
compaction, transaction markers). Each record is stamped, in the consumer thread as it is
drained, with its run and its index in it; the stream takes a record only if it continues
the run of the one before (next index), or starts a run (index 0) at or before the
partition's next unprocessed offset. Any other record is held back (not processed, not
acknowledged) and, if one of its run is missing, the partition is seeked back to the next
unprocessed offset; a record below it is a re-fetched copy of one already processed, held
back too. So a stream processes each partition's offsets in order, once, with no gap
other than the log's own, which the guard hands to Faust's commit bookkeeping; and since
nothing is acknowledged out of order, no commit passes an unprocessed record. Faust's read
offset no longer filters these partitions (it ran ahead: the guard drops copies itself),
nor guesses gaps from it. Assumes one stream per topic, as carepath has: a record read by
several streams is left to Faust.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import faust.transport.drivers.aiokafka as faust_aiokafka
from aiokafka.consumer.subscription_state import TopicPartitionState
from faust.transport.consumer import Consumer
from faust.transport.producer import ProducerBuffer
from faust.types.tuples import ConsumerMessage, ack_lock
from faust.utils import terminal
from mode import flight_recorder
from mode.utils.queues import ThrowableQueue

log = logging.getLogger("carepath.faust")

_MARK = "_carepath_fixed"
_PUT, _SENT = "_carepath_put", "_carepath_sent"


def apply_faust_fixes() -> None:
    """Patch Faust once (idempotent); before the app creates its consumer and producer."""
    if not getattr(ProducerBuffer.flush, _MARK, False):
        _drain_buffer_on_flush()
    if not getattr(ThrowableQueue.get_nowait, _MARK, False):
        _guard_contiguity()
        _unknown_partition_count_is_none()
    if not getattr(Consumer._commit_offsets, _MARK, False):
        _bookkeep_successful_commits_only()


def _bookkeep_successful_commits_only() -> None:
    """``Consumer._commit_offsets`` as faust-streaming PR #692 has it: ``_committed_offset``
    and ``monitor.on_tp_commit`` move inside ``if did_commit`` (the rest is 0.15.3's)."""

    async def _commit_offsets(
        self: Any, offsets: Mapping[Any, int], start_new_transaction: bool = True
    ) -> bool:
        table = terminal.logtable(
            [(str(tp), str(offset)) for tp, offset in offsets.items()],
            title="Commit Offsets",
            headers=["TP", "Offset"],
        )
        self.log.dev("COMMITTING OFFSETS:\n%s", table)
        assignment = self.assignment()
        committable_offsets: dict[Any, int] = {}
        revoked: dict[Any, int] = {}
        for tp, offset in offsets.items():
            if tp in assignment:
                committable_offsets[tp] = offset
            else:
                revoked[tp] = offset
        if revoked:
            self.log.info(
                "Discarded commit for revoked partitions that "
                "will be eventually processed again: %r",
                revoked,
            )
        if not committable_offsets:
            return False
        with flight_recorder(self.log, timeout=300.0) as on_timeout:
            did_commit = False
            on_timeout.info("+consumer.commit()")
            if self.in_transaction:
                did_commit = await self.transactions.commit(
                    committable_offsets, start_new_transaction=start_new_transaction
                )
            else:
                await self.app.producer.flush()
                did_commit = await self._commit(committable_offsets)
            on_timeout.info("-consumer.commit()")
            if did_commit:
                on_timeout.info("+tables.on_commit")
                self.app.tables.on_commit(committable_offsets)
                on_timeout.info("-tables.on_commit")
                # the fix: only offsets Kafka took are committed
                self._committed_offset.update(committable_offsets)
                self.app.monitor.on_tp_commit(committable_offsets)
        return bool(did_commit)

    setattr(_commit_offsets, _MARK, True)
    Consumer._commit_offsets = _commit_offsets  # type: ignore[method-assign]


def _drain_buffer_on_flush() -> None:
    put, send_pending, best_effort_flush = (
        ProducerBuffer.put,
        ProducerBuffer._send_pending,
        ProducerBuffer.flush,
    )

    def _put(self: Any, fut: Any) -> None:
        put(self, fut)
        setattr(self, _PUT, getattr(self, _PUT, 0) + 1)

    async def _send_pending(self: Any, fut: Any) -> None:
        try:
            await send_pending(self, fut)
        finally:
            setattr(self, _SENT, getattr(self, _SENT, 0) + 1)

    async def flush(self: Any) -> None:
        """Until the messages put before the call have been handed over (in order)."""
        if self.should_stop or self.app.conf.producer_threaded:
            await best_effort_flush(self)
            return
        target = getattr(self, _PUT, 0)
        while getattr(self, _SENT, 0) < target and not self.should_stop:
            self.message_sent.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)

    setattr(flush, _MARK, True)
    ProducerBuffer.put = _put  # type: ignore[method-assign]
    ProducerBuffer._send_pending = _send_pending  # type: ignore[method-assign]
    ProducerBuffer.flush = flush  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# Contiguity guard

_runs = itertools.count(1)  # run ids: increasing, so a smaller one is an older run
REJECTED = -1  # the generation id of a held-back message: every Faust stream skips it
#: Seek attempts before a run that starts past the next offset is believed (the offsets
#: between are gone from the log: retention).
SEEK_ATTEMPTS = 3


class StampedMessage(ConsumerMessage):
    """A consumed message with ``fetch``: (run, run start offset, index in the run)."""

    __slots__ = ("fetch",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch: tuple[int, int | None, int] | None = None


@dataclass(slots=True)
class Next:
    """What a stream takes next from one partition."""

    offset: int | None  # the next unprocessed offset (None: nothing taken yet)
    run: int = 0  # the run of the last record taken or dropped as a copy
    index: int = 0  # that record's index in the run
    behind: int = 0  # runs up to this one are superseded by a seek back asked for


def _guard_contiguity() -> None:
    _number_runs()
    _stamp_records()
    _screen_dequeued()
    _guard_consumer()


def _number_runs() -> None:
    """aiokafka: a partition's position set by a seek or reset starts a new run."""
    init, seek, reset_to = (
        TopicPartitionState.__init__,
        TopicPartitionState.seek,
        TopicPartitionState.reset_to,
    )

    def start_run(state: Any, position: int | None) -> None:
        state.carepath_run = (next(_runs), position)
        state.carepath_index = 0

    def _init(self: Any, assignment: Any) -> None:
        init(self, assignment)
        start_run(self, None)  # no position: nothing is fetched before a reset

    def _seek(self: Any, position: int) -> None:
        seek(self, position)
        start_run(self, position)

    def _reset_to(self: Any, position: int) -> None:
        reset_to(self, position)
        start_run(self, position)

    TopicPartitionState.__init__ = _init
    TopicPartitionState.seek = _seek
    TopicPartitionState.reset_to = _reset_to


def _stamp_records() -> None:
    """Stamp records as the consumer thread drains them (nothing can seek in between),
    and carry the stamp onto Faust's message."""
    thread_cls, consumer_cls = faust_aiokafka.AIOKafkaConsumerThread, faust_aiokafka.Consumer
    fetch_records, to_message = thread_cls._fetch_records, consumer_cls._to_message

    async def _fetch_records(self: Any, consumer: Any, *args: Any, **kwargs: Any) -> Any:
        records = await fetch_records(self, consumer, *args, **kwargs)
        if records:
            stamp(consumer, records)
        return records

    def _to_message(self: Any, tp: Any, record: Any) -> Any:
        message = to_message(self, tp, record)
        if isinstance(message, StampedMessage):
            message.fetch = getattr(record, "carepath_fetch", None)
        return message

    faust_aiokafka.ConsumerMessage = StampedMessage  # type: ignore[attr-defined]
    thread_cls._fetch_records = _fetch_records  # type: ignore[method-assign]
    consumer_cls._to_message = _to_message  # type: ignore[method-assign]


def stamp(consumer: Any, records: Mapping[Any, list[Any]]) -> None:
    """``(run, start, index)`` on each record just drained from an aiokafka consumer."""
    assignment = consumer._subscription.subscription.assignment
    for tp, batch in records.items():
        state: Any = assignment.state_value(tp) if assignment is not None else None
        run = getattr(state, "carepath_run", None)
        if run is None:
            continue
        index = state.carepath_index
        for record in batch:
            record.carepath_fetch = (run[0], run[1], index)
            index += 1
        state.carepath_index = index


def _screen_dequeued() -> None:
    """Every stream takes its events through its buffer's ``get_nowait``."""
    get_nowait = ThrowableQueue.get_nowait

    def _get_nowait(self: Any) -> Any:
        item = get_nowait(self)
        message = getattr(item, "message", None)
        if getattr(message, "fetch", None) is not None:
            screen(self, item.app, message)
        return item

    setattr(_get_nowait, _MARK, True)
    ThrowableQueue.get_nowait = _get_nowait  # type: ignore[method-assign]


def screen(queue: Any, app: Any, message: Any) -> None:
    """Let the stream take ``message`` only if it is the partition's next record; else
    hold it back (:func:`hold_back`) and, if records are missing, fetch them again."""
    consumer = app.consumer
    if message.refcount != 1 or not app.topics.acks_enabled_for(message.topic):
        return  # several streams read it, or nothing is committed: Faust's way
    if not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id:
        hold_back(consumer, message)  # a rebalance is under way: fetched again after it
        return
    run, start, index = message.fetch
    tp, offset = message.tp, message.offset
    try:
        at = queue.carepath_next[tp]
    except (AttributeError, KeyError):
        at = next_of(consumer, queue, tp)
    if run < at.run or run <= at.behind:
        hold_back(consumer, message)  # fetched before a later seek, whose run covers it
    elif at.offset is None:  # the first record since the assignment
        now = current_run(consumer, tp)
        if now is not None and run != now:
            hold_back(consumer, message)  # a later seek: its run comes next
        elif index:
            hold_back(consumer, message)
            committed = consumer._committed_offset.get(tp)
            seek_back(consumer, tp, at, run, committed, "lost its first records")
        else:
            at.offset = first_offset(consumer, tp, start, offset)
            at.run, at.index = run, index
            take(consumer, at, message)
    elif (run == at.run and index == at.index + 1) or (
        run > at.run
        and index == 0
        and start is not None
        and (start <= at.offset or gone(consumer, tp, at.offset, start))
    ):  # the next record of the run, or the first of a later run starting early enough
        at.run, at.index = run, index
        take(consumer, at, message)
    else:
        hold_back(consumer, message)
        seek_back(consumer, tp, at, run, at.offset, f"lost records before {offset}")


def next_of(consumer: Any, queue: Any, tp: Any) -> Next:
    """A new partition for a stream buffer (the consumer lists the buffers, to forget a
    revoked partition in each)."""
    nexts = consumer.carepath_next.get(queue)
    if nexts is None:
        nexts = queue.carepath_next = consumer.carepath_next[queue] = {}
    at = nexts[tp] = Next(None)
    return at


def take(consumer: Any, at: Next, message: Any) -> None:
    """Take a record that continues the partition: a copy of a processed one is held back,
    a gap before it is the log's own (offsets that do not exist) and is committable."""
    offset, next_offset = message.offset, at.offset
    assert next_offset is not None
    if offset < next_offset:
        hold_back(consumer, message)
        return
    if offset > next_offset:
        committed = consumer._committed_offset.get(message.tp)
        low = next_offset if committed is None else max(next_offset, committed)
        if low < offset:
            gaps = consumer._gap[message.tp]
            gaps.addi(low, offset)
            gaps.merge_overlaps()
    at.offset = offset + 1


def first_offset(consumer: Any, tp: Any, start: int | None, offset: int) -> int:
    """Where a partition's processing starts: its run's start (what lies between it and
    the first record is not in the log), or the committed offset if that is before it
    (an offset reset past it: those records are gone too)."""
    committed = consumer._committed_offset.get(tp)
    first = offset if start is None else min(start, offset)
    return first if committed is None else min(first, committed)


def hold_back(consumer: Any, message: Any) -> None:
    """Not processed and never acknowledged: every stream skips a message of another
    generation, and an acknowledged one is not acknowledged again."""
    with ack_lock:
        message.generation_id = REJECTED
        message.acked = True
        consumer._unacked_messages.discard(message)


def gone(consumer: Any, tp: Any, next_offset: int, start: int) -> bool:
    """A run starts past the next offset: believed (the offsets between are gone from the
    log) after :data:`SEEK_ATTEMPTS` seeks back to it."""
    key = (tp, next_offset)
    tries = consumer.carepath_tries
    if tries.get(key, 0) < SEEK_ATTEMPTS:
        tries[key] = tries.get(key, 0) + 1
        return False
    log.error(
        "contiguity guard: %s[%s] offsets %s to %s are no longer in the log; going on",
        tp.topic,
        tp.partition,
        next_offset,
        start - 1,
    )
    return True


def current_run(consumer: Any, tp: Any) -> int | None:
    """The run aiokafka fetches ``tp`` in now (read from the main thread)."""
    try:
        assignment = consumer._thread._consumer._subscription.subscription.assignment
        return int(assignment.state_value(tp).carepath_run[0])
    except (AttributeError, TypeError):
        return None


def seek_back(consumer: Any, tp: Any, at: Next, run: int, offset: int | None, why: str) -> None:
    """Seek ``tp`` to ``offset`` (``None``: the committed offset, else the beginning) in
    the consumer thread, once at a time per partition; the runs fetched until then
    (``run`` and older) are superseded by the seek's, so their records are held back."""
    at.behind = max(at.behind, run, current_run(consumer, tp) or 0)
    pending = consumer.carepath_seeks
    if tp in pending:
        return
    log.warning(
        "contiguity guard: %s[%s] %s; fetching again from %s",
        tp.topic,
        tp.partition,
        why,
        "the committed offset" if offset is None else offset,
    )
    generation = consumer.app.consumer_generation_id
    pending[tp] = asyncio.ensure_future(_seek_back(consumer, tp, at, offset, generation))


async def _seek_back(consumer: Any, tp: Any, at: Next, offset: int | None, generation: int) -> None:
    thread = consumer._thread
    try:
        await thread.call_thread(seek_in_thread, thread, tp, offset, generation)
    except Exception as e:  # a rebalance took the partition away, or the broker is gone
        at.behind = 0  # no seek: what comes is all there is, checked as usual
        log.info("contiguity guard: no seek of %s[%s] (%r)", tp.topic, tp.partition, e)
    finally:
        consumer.carepath_seeks.pop(tp, None)


async def seek_in_thread(thread: Any, tp: Any, offset: int | None, generation: int) -> None:
    aio = thread._ensure_consumer()
    if thread.app.consumer_generation_id != generation or tp not in aio.assignment():
        return  # reassigned since: the new assignment starts from the committed offsets
    if offset is None:
        offset = await aio.committed(tp)
    if offset is None:
        await aio.seek_to_beginning(tp)
    else:
        aio.seek(tp, offset)


class ReadOffsets(dict):  # type: ignore[type-arg]
    """Faust's read offsets, with none for the guarded topics: the drain loop neither
    drops their records below a read offset nor fills gaps it guesses from one."""

    def __init__(self, app: Any, items: Any = ()) -> None:
        super().__init__(items)
        self.app = app

    def __missing__(self, tp: Any) -> None:
        return None

    def __getitem__(self, tp: Any) -> Any:
        if self.app.topics.acks_enabled_for(tp.topic):
            return None
        return super().__getitem__(tp)


def _guard_consumer() -> None:
    """The guard's state on Faust's consumer, forgotten with a revoked partition."""
    init, on_revoked = Consumer.__init__, Consumer.on_partitions_revoked

    def _init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._read_offset = ReadOffsets(self.app, self._read_offset)
        self.carepath_next = weakref.WeakKeyDictionary()  # buffer -> {tp: Next}
        self.carepath_seeks = {}  # tp -> seek task
        self.carepath_tries = {}  # (tp, offset) -> seeks back to it

    async def _on_revoked(self: Any, revoked: Any) -> None:
        for nexts in self.carepath_next.values():
            for tp in revoked:
                nexts.pop(tp, None)
        self.carepath_tries.clear()
        await on_revoked(self, revoked)

    Consumer.__init__ = _init  # type: ignore[method-assign]
    Consumer.on_partitions_revoked = _on_revoked  # type: ignore[method-assign]


def _unknown_partition_count_is_none() -> None:
    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    topic_partitions = thread_cls.topic_partitions

    def _topic_partitions(self: Any, topic: str) -> int | None:
        return topic_partitions(self, topic) or None

    thread_cls.topic_partitions = _topic_partitions  # type: ignore[method-assign]
