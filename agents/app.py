"""The Faust application: the one composition root of the live pipeline.

``care.inbound`` ─ingest─► ``care.events`` (key = patient) ─transitions─► ``care.tasks`` /
``care.referrals``; anything invalid or any unexpected exception ─► ``care.deadletter``,
one record per document (a document whose problems two agents find: their parts
─► ``<app id>-documents`` ─documents─► one record, ``agents/documents.py``).
Agents hold no clinical ``if``: they decode, call ``schemas``/``pipeline``, store state by
assignment and send (DESIGN.md conventions 2 and 8).

Every message is processed under the error policy (``agents/policy.py``): an exception
or a worker that stopped twice on it gives a dead letter naming the original document,
never a lost message or a crash loop. Ticks are in ``agents/ticks.py``.

:class:`Pipeline` is built from what it reads and writes (:class:`Ports`: the patient-state
table and a sink per topic), so a test builds it the normal way on a dict and lists
(DESIGN.md convention 12); :class:`FaustPipeline` builds those from a Faust app and wires
the agents and timers: the worker's composition root.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import faust

from agents import headers as hdr
from agents.documents import SWEEP, Part, collect, decode_part, is_sweep, sweep
from agents.faust_fixes import apply_faust_fixes
from agents.faust_tuning import app_options
from agents.headers import source_of
from agents.logsafe import event_label
from agents.metrics import INVALID, REJECTED, TOO_LONG, WorkerMetrics
from agents.poison import DOCUMENTS, INGEST, TRANSITIONS, FlightRecorder
from agents.policy import ErrorPolicy, StateTooLarge
from agents.reporting import IgnoredCounts
from agents.security import faust_kwargs
from agents.settings import Settings
from agents.state_store import DeadlineIndex, hour_of
from agents.ticks import Ticks
from pipeline.config import RuleConfig
from pipeline.decide import Step, advance, decide, next_deadline
from pipeline.events import KIND, Tick
from pipeline.outputs import Output, TaskRecord
from pipeline.state import PatientState, decode_state, encode_state
from schemas.deadletter import listed_issues
from schemas.ingest import Limits, ingest
from schemas.outbound import output_key, render
from schemas.wire import decode_event, encode_event

log = logging.getLogger("carepath.agents")

#: The hour (``agents.state_store.hour_of``) a patient is filed under in the deadline index.
Filed = int | None

#: Seconds between the info lines that count ignored input (only when the count changed).
IGNORED_LOG_INTERVAL = 60.0
#: The largest changelog record: the changelog topic Faust creates has the broker's default
#: ``max.message.bytes`` (1 MB), which the worker's producer limit may exceed.
CHANGELOG_MESSAGE_BYTES = 1_000_000
#: Bytes of a changelog record besides its key and value (batch and record framing).
CHANGELOG_OVERHEAD = 512
#: Seconds between the sweeps of the documents table (``agents.documents.sweep``).
SWEEP_INTERVAL = 3600.0


def reference_of(headers: Any) -> datetime:
    """The reference time of the plausibility checks: ``carepath-reference`` (replay
    --broker --until, as embedded replay takes ``--until``), else the wall clock."""
    value = hdr.header(headers, hdr.REFERENCE)
    if value:
        try:
            when = datetime.fromisoformat(value.decode())
            if when.tzinfo is not None:
                return when
        except (UnicodeDecodeError, ValueError):
            pass
    return datetime.now(UTC)


def faust_settings(s: Settings) -> dict[str, Any]:
    return dict(
        broker=s.broker,
        store=s.store,
        datadir=str(s.datadir),
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication_factor,  # changelog and leader topics
        web_enabled=False,  # the one listener is agents.ops_server (CAREPATH_WEB_PORT)
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=s.producer_linger_ms,
        broker_commit_interval=1.0,
        stream_wait_empty=True,  # a rebalance or stop lets the message in hand finish
        broker_session_timeout=s.session_timeout,
        broker_heartbeat_interval=min(3.0, s.session_timeout / 3),
        table_standby_replicas=0,
        stream_buffer_maxsize=4096,
        topic_allow_declare=True,
        # the largest record the worker writes: a dead letter quoting a document at the size
        # limit (care.deadletter is created to take it)
        producer_max_request_size=s.deadletter_message_bytes,
        **faust_kwargs(s),  # TLS and SASL (broker_credentials)
        **app_options(s),  # the fast-path settings (agents/faust_tuning.py)
    )


class DecodedStates:
    """The state each patient was last stored with by this worker, next to the bytes
    stored, so ``_load`` skips ``decode_state`` (~40 µs, a tenth of the worker's CPU for
    our code) when the table still holds those bytes. Compared by value, not identity:
    RocksDB returns a new bytes object on every read (the same object is the fast case of
    the memory store); any other value (changelog recovery, a rebalance) is decoded. States
    are values (``decide`` never mutates one), so handing out the same object is safe.
    Bounded: the least recently stored entries go first."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._entries: dict[bytes, tuple[bytes, PatientState]] = {}

    def get(self, key: bytes, stored: bytes) -> PatientState | None:
        hit = self._entries.get(key)
        if hit is None or (hit[0] is not stored and hit[0] != stored):
            return None
        return hit[1]

    def put(self, key: bytes, stored: bytes, state: PatientState) -> None:
        entries = self._entries
        entries.pop(key, None)
        entries[key] = (stored, state)
        if len(entries) > self.limit:
            del entries[next(iter(entries))]


class Sink(Protocol):
    """A topic the pipeline sends to: ``send`` returns once the record is handed to the
    producer, and gives what to await for Kafka's acknowledgement (a Faust topic does)."""

    async def send(
        self,
        *,
        key: bytes | None = None,
        value: bytes | None = None,
        partition: int | None = None,
        headers: Any = None,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """What a pipeline reads and writes."""

    #: patient key -> stored state (a Faust table live: written by assignment, changelogged)
    states: MutableMapping[bytes, bytes]
    events: Sink
    tasks: Sink
    referrals: Sink
    deadletter: Sink
    #: the producer's largest request in bytes (Faust's ``producer_max_request_size``)
    max_request_size: int
    #: the documents topic and the parts of documents it collects (``agents.documents``);
    #: without them every dead letter is written where its problem is found
    documents: Sink | None = None
    parts: MutableMapping[bytes, bytes] | None = None


class Pipeline(ErrorPolicy, Ticks):
    """The agents' work on one worker's table and topics, from settings and rules.

    ``decoded``: the decoded-state cache (``DecodedStates(limit=0)`` caches nothing);
    ``flight``: the flight recorder (default: opened in the data directory before the
    first message); ``metrics``: where the counters go (default: a registry of its own)."""

    def __init__(
        self,
        settings: Settings,
        rules: RuleConfig,
        ports: Ports,
        *,
        metrics: WorkerMetrics | None = None,
        decoded: DecodedStates | None = None,
        flight: FlightRecorder | None = None,
    ) -> None:
        self.s = settings
        self.rules = rules
        self.limits = Limits(max_bytes=settings.max_bytes, max_depth=settings.max_depth)
        self.states = ports.states
        self.events, self.tasks, self.referrals = ports.events, ports.tasks, ports.referrals
        self.deadletter = ports.deadletter
        self.max_request_size = ports.max_request_size
        self.documents, self.parts = ports.documents, ports.parts
        self.parted = set()
        self.index = DeadlineIndex(self.states)  # one changelog: writes keep their order
        self.decoded = decoded if decoded is not None else DecodedStates()
        self.ignored = IgnoredCounts()
        self.metrics = metrics if metrics is not None else WorkerMetrics()
        self.flight = flight

    # -- ingest ---------------------------------------------------------------------------
    async def ingest_agent(self, stream: Any) -> None:
        async for event in stream.events():
            await self.guarded(event, self.ingest_one, INGEST)

    async def ingest_one(self, event: Any) -> None:
        msg = event.message
        raw = msg.value if isinstance(msg.value, bytes) else b""
        source = source_of(msg.headers)
        result = ingest(
            raw,
            self.limits,
            self.s.base_url,
            rules=self.rules,
            source=source,
            reference=reference_of(msg.headers),
        )
        # the events name their document (a dead letter of theirs carries it back)
        inbound = f"{msg.topic}:{msg.partition}:{msg.offset}".encode()
        headers = [*(msg.headers or []), (hdr.INBOUND, inbound)]
        for item in result.ignored:  # ids only: a reason may name codes
            self.metrics.ignored(self.ignored.add(item.reason))
            log.debug(
                "ignored %s/%s from %s[%s]@%s",
                item.resource_type,
                item.id,
                msg.topic,
                msg.partition,
                msg.offset,
            )
        errors, events = result.errors, result.events
        first = 1 if errors else 0  # part 0: the ingest agent's own problems
        parts = len(events) + first
        parted = self.documents is not None and parts >= 2
        for i, ev in enumerate(events, start=first):
            own = [*headers, (hdr.PART, b"%d/%d" % (i, parts))] if parted else headers
            await self.events.send(key=ev.patient.encode(), value=encode_event(ev), headers=own)
        if errors and parted:  # one record for the document, with its events' problems
            issues, more = listed_issues(errors, unlisted=result.unlisted)
            await self.send_part(msg, Part(0, parts, issues, more, msg.key, INVALID))
        elif errors:  # one record for the document, its problems listed
            await self.dead_letter(event, errors, INVALID, unlisted=result.unlisted)
        outcome = "dead_letter" if errors else "accepted" if events else "ignored"
        self.metrics.document(outcome)

    # -- documents ------------------------------------------------------------------------
    async def documents_agent(self, stream: Any) -> None:
        async for event in stream.events():
            await self.guarded(event, self.collect_one, DOCUMENTS)

    async def collect_one(self, event: Any) -> None:
        """A part of a document (``agents.documents``): kept until all are in, then the
        document's one record (acknowledged) before the done marker that says so; or a
        sweep of the partition's old entries."""
        assert self.parts is not None
        msg = event.message
        now = time.time()
        if is_sweep(msg.value):
            await self._sweep(msg.partition, now)
            return
        place = msg.key or b""
        part = decode_part(msg.value)
        headers = list(msg.headers or [])
        entry, complete = collect(self.parts.get(place), part, headers, now, msg.partition)
        if complete is not None:
            await self.write_document(place, complete)
        self.parts[place] = entry

    async def _sweep(self, partition: int, now: float) -> None:
        """Done markers and documents still missing parts after a day go (the latter's
        problems as a record, saying which parts are missing)."""
        assert self.parts is not None
        for place, complete in sweep(list(self.parts.items()), now, partition):
            if complete is not None:
                await self.write_document(place, complete)
            self.parts.pop(place, None)

    async def send_sweeps(self) -> None:
        """A sweep message to every partition of the documents topic (the leader's timer)."""
        if self.documents is None:
            return
        for partition in range(self.s.partitions):
            await self.documents.send(value=SWEEP, partition=partition)

    # -- transitions ----------------------------------------------------------------------
    async def transition_agent(self, stream: Any) -> None:
        async for event in stream.events():
            await self.guarded(event, self.transition_one, TRANSITIONS)

    async def transition_one(self, event: Any) -> None:
        msg = event.message
        decoded = decode_event(msg.value)
        partition = msg.partition
        if isinstance(decoded, Tick):
            if msg.key:  # a tick for one patient (replay --broker --until)
                await self.on_patient_tick(event, msg.key, decoded.time)
            else:
                await self.on_tick(event, decoded.time)
            self.metrics.event("tick")
            return
        kind = KIND[type(decoded)]
        key = decoded.patient.encode()
        try:
            state, filed = await self._caught_up(partition, key)
            step = decide(state, decoded, self.rules)
            label = event_label(decoded.event_id)  # never an identifier's value
            log.debug("%s %s -> %d outputs", kind, label, len(step.outputs))
            if step.ignored:
                self.metrics.ignored(self.ignored.add(step.reason))
                log.debug("ignored %s %s", kind, label)
            await self._commit(partition, key, step, filed)
        except StateTooLarge as e:  # the old state is kept, as the core does over its cap
            await self.dead_letter(event, str(e), TOO_LONG, code="too-long")
            self.metrics.event(kind)
            return
        if step.rejected is not None:
            await self.dead_letter(event, step.rejected, REJECTED)
        self.metrics.event(kind)

    async def _caught_up(self, partition: int, key: bytes) -> tuple[PatientState | None, Filed]:
        """The patient's state and the hour it is filed under in the deadline index,
        advanced first to a tick that passed the partition since it was stored (a tick
        reaches the patients that exist when it passes)."""
        state, reached, filed = self._load(key)
        if state is None:
            return None, None
        filed = self._still_filed(partition, filed)
        last_tick = self._tick_since(partition, reached)
        if last_tick is not None:
            caught_up = advance(state, last_tick, self.rules)
            filed = await self._commit(partition, key, caught_up, filed)
            state = caught_up.state
        return state, filed

    def _load(self, key: bytes) -> tuple[PatientState | None, bytes, Filed]:
        """The patient's state, the ISO time of the last tick that reached it (empty: none)
        and the hour it is filed under (``None``: not filed, or not known)."""
        raw = self.states.get(key)
        if raw is None:
            return None, b"", None
        marker, _, body = raw.partition(b"\n")
        reached, _, filed = marker.partition(b" ")
        state = self.decoded.get(key, raw)
        if state is None:
            state = decode_state(body)
        return state, reached, int(filed) if filed.isdigit() else None

    def _still_filed(self, partition: int, filed: Filed) -> Filed:
        """``filed``, unless a tick of the partition has reached that hour: then its bucket
        is consumed (a patient a tick left out, for one, is in no bucket any more)."""
        tick = self.index.tick(partition)
        return None if filed is None or (tick and filed <= hour_of(tick[0])) else filed

    def _tick_since(self, partition: int, reached: bytes) -> datetime | None:
        """The partition's last tick if it is later than ``reached`` (a state's marker)."""
        tick = self.index.tick(partition)
        if tick is None or reached == tick[1]:  # the usual case: no tick since, no parsing
            return None
        last = tick[0]
        return last if not reached or last > datetime.fromisoformat(reached.decode()) else None

    async def _commit(self, partition: int, key: bytes, step: Step, filed: Filed) -> Filed:
        """Outputs first, acknowledged by Kafka, then the deadline filing, then the state
        that records both; the hour the patient is filed under after it.

        A crash in between re-emits the outputs when the event comes again (same ids, same
        content); the other order would lose them, as the stored state would make the
        event a duplicate. Kafka orders nothing across partitions, so "first" has to mean
        "acknowledged", not "handed to the producer". The state is encoded (and its size
        checked) before anything is sent.

        The patient is filed again only when its next deadline is earlier than the hour it
        is filed under (or it is filed nowhere): a later deadline leaves the filing as it
        is, and the tick that reaches it advances the patient (nothing due yet) and files
        it then. Most events move a deadline later (the next session resets the lost-to-
        follow-up clock): they write the state only, never the index."""
        if step.duplicate:
            return filed
        after = next_deadline(step.state, self.rules)
        hour = hour_of(after) if after is not None else None
        refile = hour is not None and (filed is None or hour < filed)
        now_filed = hour if refile else filed
        value = self._encoded(partition, key, step, now_filed)
        await self._deliver(step.outputs)
        if refile and after is not None:
            self.index.add(partition, key, after)  # before the state that says so
        self._store(key, value, step.state)
        return now_filed

    def _encoded(self, partition: int, key: bytes, step: Step, filed: Filed) -> bytes:
        """The value to store: ``<last tick of the partition>[ <filed hour>]\n<state>``;
        raises :class:`StateTooLarge` when the changelog could not take it (the producer's
        limit, far above the core's cap: a second line of defence, issue 11)."""
        marker = self.index.last_tick_marker(partition)
        if filed is not None:
            marker += b" %d" % filed
        value = marker + b"\n" + encode_state(step.state)
        limit = min(self.max_request_size, CHANGELOG_MESSAGE_BYTES)
        room = limit - CHANGELOG_OVERHEAD
        if len(key) + len(value) > room:
            raise StateTooLarge(
                f"the patient's state would be {len(value)} bytes, over the {room} bytes a "
                "changelog record may have: the event is refused and the state kept"
            )
        return value

    def _store(self, key: bytes, value: bytes, state: PatientState) -> None:
        """Store the state by assignment (changelogged): a tick reaches the patients that
        exist when it passes (the marker), never those created after it."""
        self.states[key] = value
        self.decoded.put(key, value, state)

    async def _deliver(self, outputs: list[Output]) -> None:
        """Send every output, then wait until Kafka has acknowledged all of them."""
        pending = [await self.send_output(out) for out in outputs]
        for fut in pending:
            await fut
        for out in outputs:
            resource = "Task" if isinstance(out, TaskRecord) else "ServiceRequest"
            self.metrics.output(resource, out.rule)

    async def send_output(self, out: Output) -> Awaitable[Any]:
        """One output on its compacted topic, keyed by its resource id (contract §1:
        ``Task/<id>``, ``ServiceRequest/<id>``), so compaction keeps every resource's
        latest version."""
        topic = self.tasks if isinstance(out, TaskRecord) else self.referrals
        fut = await topic.send(key=output_key(out), value=render(out, self.s.base_url))
        log.debug(
            "emitted %s %s rule %s status %s", type(out).__name__, out.id, out.rule, out.status
        )
        return fut

    async def log_ignored(self) -> None:
        """The periodic count of ignored input by reason class (no ids, no codes)."""
        line = self.ignored.report()
        if line is not None:
            log.info(line)


class FaustPipeline(Pipeline):
    """The pipeline on a Faust app: its topics and ``patient-state`` table as the ports,
    the two agents and the timers (the worker's composition root)."""

    def __init__(
        self, settings: Settings, rules: RuleConfig, metrics: WorkerMetrics | None = None
    ) -> None:
        apply_faust_fixes()
        s = settings
        self.app = app = faust.App(s.app_id, **faust_settings(s))
        raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes)
        self.inbound = app.topic(s.topic_inbound, **raw)
        ports = Ports(
            states=app.Table("patient-state", partitions=s.partitions, **raw),
            events=app.topic(s.topic_events, partitions=s.partitions, **raw),
            tasks=app.topic(s.topic_tasks, partitions=s.partitions, **raw),
            referrals=app.topic(s.topic_referrals, partitions=s.partitions, **raw),
            deadletter=app.topic(s.topic_deadletter, **raw),
            max_request_size=app.conf.producer_max_request_size,
            documents=app.topic(s.documents_topic, partitions=s.partitions, **raw),
            parts=app.Table("document-parts", partitions=s.partitions, **raw),
        )
        super().__init__(settings, rules, ports, metrics=metrics)
        app.agent(self.inbound, name="ingest")(self.ingest_agent)
        app.agent(self.events, name="transitions")(self.transition_agent)
        app.agent(self.documents, name="documents")(self.documents_agent)
        app.timer(SWEEP_INTERVAL, on_leader=True)(self.send_sweeps)
        if s.tick_interval > 0:
            app.timer(s.tick_interval, on_leader=True)(self.send_ticks)
        app.timer(IGNORED_LOG_INTERVAL)(self.log_ignored)
        app.on_partitions_revoked.connect(self._revoked)

    def stopping(self) -> None:
        """The worker exits before Faust finished stopping (``agents.worker``): the message
        in hand was not the cause, so the flight recorder forgets it."""
        if self.flight is not None:
            self.flight.clear()

    async def _revoked(self, app: Any, revoked: Any, **_: Any) -> None:
        self.metrics.forget((tp.topic, tp.partition) for tp in revoked)
