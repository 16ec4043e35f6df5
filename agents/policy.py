"""The error policy of the worker's agents (DESIGN.md convention 8, issue 11).

Faust acknowledges a message whose agent raised (faust-streaming #527), so every message is
processed inside :meth:`ErrorPolicy.guarded`: an exception is logged (topic, partition,
offset and the exception type, never a value) and the message is run once more; if it
raises again it is dead-lettered and the stream goes on. A message that was in flight when
the worker stopped twice is dead-lettered without a third run (:mod:`agents.poison`), so no
message can make the worker crash in a loop.

A dead letter names the original document: for an event of ``care.events``, the
``care.inbound`` record it was read from (header ``carepath-inbound``), whose bytes are read
back for the record's ``raw``. An event numbered as a part of its document (header
``carepath-part``) gives its problems, or none, to the documents agent instead, which
writes the document's one record (:mod:`agents.documents`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agents import headers as hdr
from agents.documents import Complete, Part
from agents.kafka_io import RecordReader
from agents.metrics import DOCUMENTS_STAGE, INTERNAL, STAGES, WorkerMetrics
from agents.metrics import STOPPED as STOPS_TWICE
from agents.poison import ATTEMPTS, INGEST, STOPS, TRANSITIONS, FlightRecorder, Unit, unit_of
from agents.security import aiokafka_kwargs
from agents.settings import Settings
from schemas.deadletter import Problem, fitted, issues_record, listed_issues
from schemas.ingest import Limits

log = logging.getLogger("carepath.agents")

#: The flight recorder's file in the worker's data directory (agents/poison.py).
FLIGHT_FILE = "carepath-in-flight"
#: Seconds between the tries of a dead letter Kafka would not take (``None``: give up).
DEAD_LETTER_RETRIES = (0.5, 1.0, 2.0, 4.0, 8.0, None)
STOPPED = (
    f"internal error: the worker stopped {STOPS} times while processing this document, "
    "so it is set aside"
)

Work = Callable[[Any], Awaitable[None]]


class StateTooLarge(Exception):
    """A state the changelog would refuse (its message says how large, never what)."""


def where(msg: Any) -> tuple[str, int, int]:
    return msg.topic, msg.partition, msg.offset


class ErrorPolicy:
    """The policy's part of ``agents.app.Pipeline`` (the attributes below are the
    pipeline's)."""

    s: Settings
    limits: Limits
    deadletter: Any
    metrics: WorkerMetrics
    #: the producer's largest request: a dead letter must fit it
    max_request_size: int
    #: Opened before the first message (:meth:`_flight`).
    flight: FlightRecorder | None = None
    #: Reads a dead letter's original document back, started on first use.
    originals: RecordReader | None = None
    #: The documents topic (``agents.documents``); ``None``: every dead letter is written
    #: where its problem is found.
    documents: Any = None
    #: Events whose part was sent while they are processed (``topic, partition, offset``).
    parted: set[tuple[str, int, int]]

    async def guarded(self, event: Any, work: Work, slot: int) -> None:
        """``work(event)`` under the error policy: run again once if it raises, dead-lettered
        if it raises twice, or if the worker stopped twice while it was in flight (a copy of
        a message so dead-lettered is skipped)."""
        msg = event.message
        started = time.perf_counter()
        unit = self.unit(msg)
        flight = self._flight()
        if flight.is_poisoned(unit):
            log.warning("%s[%s]@%s is a copy of a dead-lettered message; skipped", *where(msg))
        elif flight.enter(slot, unit) >= STOPS:
            log.error("%s[%s]@%s stopped the worker twice; dead-lettered", *where(msg))
            await self._set_aside(event, slot, STOPPED, STOPS_TWICE)
            flight.poison(unit)
            flight.leave(slot)
        else:
            try:
                failures = await self._attempts(msg, lambda: work(event))
            except asyncio.CancelledError:  # the worker stops on purpose: no crash to count
                flight.leave(slot)
                raise
            if failures:
                why = f"internal error while processing: {failures}"
                await self._set_aside(event, slot, why, INTERNAL)
            flight.done(unit)
            flight.leave(slot)
        if slot == TRANSITIONS:
            await self._close_part(msg)
        self.metrics.processed(slot, *where(msg), time.perf_counter() - started)

    async def _set_aside(self, event: Any, slot: int, diagnostics: str, reason: str) -> None:
        """The dead letter of a message its agent could not finish (a document so set
        aside counts as a dead-lettered one)."""
        await self.dead_letter(event, diagnostics, reason)
        if slot == INGEST:
            self.metrics.document("dead_letter")

    def unit(self, msg: Any, patient: bytes = b"") -> Unit:
        """The flight recorder's unit of ``msg`` (or of ``patient``'s part of it): an event
        is known by the ``care.inbound`` record it was read from, so its copies are one."""
        origin = hdr.header(msg.headers, hdr.INBOUND) if msg.topic != self.s.topic_inbound else None
        if not origin:
            origin = f"{msg.topic}:{msg.partition}:{msg.offset}".encode()
        value = msg.value if isinstance(msg.value, bytes) else b""
        return unit_of(msg.topic, msg.partition, origin, value, patient)

    async def _attempts(self, msg: Any, work: Callable[[], Awaitable[Any]]) -> str:
        """Run ``work`` up to ``ATTEMPTS`` times until it does not raise; the exception types
        if it always did (empty: it succeeded)."""
        failures: list[str] = []
        for _ in range(ATTEMPTS):
            try:
                await work()
                return ""
            except Exception as e:  # the policy: never lose a message
                failures.append(type(e).__name__)
                # Frames only: an exception's message may quote clinical values.
                frames = "".join(traceback.format_tb(e.__traceback__, limit=-3)).strip()
                log.error("unexpected %s on %s[%s]@%s\n%s", failures[-1], *where(msg), frames)
        return " then ".join(failures)

    def _flight(self) -> FlightRecorder:
        """The flight recorder, opened (and last run's notes read) before the first message."""
        if self.flight is None:
            self.flight = FlightRecorder(self.s.datadir / FLIGHT_FILE)
        return self.flight

    async def dead_letter(
        self,
        event: Any,
        problems: str | Problem | Sequence[Problem],
        reason: str,
        *,
        unlisted: int = 0,
        code: str | None = None,
        key: bytes | None = None,
    ) -> None:
        """The one record of the message's problems (a text: an internal error), about its
        original document (for an event: the ``care.inbound`` record it was read from),
        keyed as received or by ``key``; counted by stage and ``reason`` (one of
        ``agents.metrics.DEAD_LETTER_REASONS``). An event that is a part of its document
        sends them to the documents agent instead (:meth:`send_part`)."""
        msg = event.message
        if isinstance(problems, str):
            problems = [(problems, None)]
        elif not isinstance(problems, list):
            problems = [problems]  # type: ignore[list-item]
        key = key if key is not None else msg.key
        issues, more = listed_issues(problems, unlisted=unlisted, code=code)
        part = self._part_of(msg)
        if part is not None:
            await self.send_part(msg, Part(*part, issues, more, key, reason))
            return
        source, raw = await self._original(msg)
        await self.write_record(source, raw, issues, more, key, list(msg.headers or []))
        log.info("dead letter from %s[%s]@%s", *where(msg))
        self.metrics.dead_letter(STAGES[msg.topic != self.s.topic_inbound], reason)

    async def write_record(
        self,
        source: dict[str, object],
        raw: bytes,
        issues: list[dict[str, object]],
        more: int,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """One record on ``care.deadletter``, acknowledged by Kafka (retried while the
        broker is briefly away: never lose one)."""
        now = datetime.now(UTC).isoformat()
        rec = issues_record(issues, more, raw, source, now, self.limits.max_bytes)
        # the record must fit one message: a quoted raw can be 6 times the document
        room = self.max_request_size - 512 - len(key or b"")
        room -= sum(len(k) + len(v) for k, v in headers)
        value = fitted(rec, raw, room)
        for wait in DEAD_LETTER_RETRIES:
            try:
                await _acked(await self.deadletter.send(key=key, value=value, headers=headers))
                break
            except Exception as e:
                if wait is None:
                    raise
                log.warning("dead letter not sent (%s); again in %.1f s", type(e).__name__, wait)
                await asyncio.sleep(wait)

    def _part_of(self, msg: Any) -> tuple[int, int] | None:
        """``(part, parts)`` of an event numbered as a part of its document, else ``None``."""
        if self.documents is None or msg.topic != self.s.topic_events:
            return None
        return hdr.part_of(msg.headers)

    async def send_part(self, msg: Any, part: Part) -> None:
        """``part`` of ``msg``'s document to the documents agent, keyed by the document's
        ``care.inbound`` position, acknowledged by Kafka."""
        if msg.topic == self.s.topic_inbound:
            place = f"{msg.topic}:{msg.partition}:{msg.offset}".encode()
            headers = [*(msg.headers or []), (hdr.INBOUND, place)]
        else:
            place = hdr.header(msg.headers, hdr.INBOUND) or b""
            headers = list(msg.headers or [])
        value = part.encode()
        await _acked(await self.documents.send(key=place, value=value, headers=headers))
        self.parted.add(where(msg))
        if part.issues or part.more:
            log.info("dead-letter part %d/%d from %s[%s]@%s", part.part, part.parts, *where(msg))

    async def _close_part(self, msg: Any) -> None:
        """An event numbered as a part that found no problem still gives its (empty) part:
        the documents agent counts them."""
        part = self._part_of(msg)
        if part is not None and where(msg) not in self.parted:
            await self.send_part(msg, Part(*part, []))
        self.parted.discard(where(msg))

    async def write_document(self, place: bytes, complete: Complete) -> None:
        """The one record of a document whose parts are all in (``agents.documents``)."""
        found = hdr.inbound_of([(hdr.INBOUND, place)])
        if found is None:
            source: dict[str, object] = {"inbound": place.decode("utf-8", "replace")}
            raw = b""
        else:
            source, raw = await self._read_back(*found, b"")
        await self.write_record(
            source, raw, complete.issues, complete.more, complete.key, complete.headers
        )
        log.info("dead letter of %s (from its parts)", place.decode("utf-8", "replace"))
        self.metrics.dead_letter(DOCUMENTS_STAGE, complete.reason or INTERNAL)

    async def _original(self, msg: Any) -> tuple[dict[str, object], bytes]:
        """Where the message's original document is, and its bytes: an event names the
        ``care.inbound`` record it came from and is read back (else its own bytes)."""
        own: bytes = msg.value if isinstance(msg.value, bytes) else b""
        place = hdr.inbound_of(msg.headers) if msg.topic != self.s.topic_inbound else None
        if place is None:
            return {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}, own
        return await self._read_back(*place, own)

    async def _read_back(
        self, topic: str, partition: int, offset: int, own: bytes
    ) -> tuple[dict[str, object], bytes]:
        """The ``care.inbound`` record at the position, as a record's ``source`` and
        ``raw`` (``own`` when it cannot be read back)."""
        if self.originals is None or self.originals.topic != topic:
            self.originals = RecordReader(self.s.bootstrap, topic, **aiokafka_kwargs(self.s))
        raw = await self.originals.get(partition, offset)
        return {"topic": topic, "partition": partition, "offset": offset}, raw or own


async def _acked(sent: Any) -> None:
    """Wait for Kafka's acknowledgement of a send (a Faust topic's ``send`` gives a future;
    a test's sink may give nothing)."""
    if inspect.isawaitable(sent):
        await sent
