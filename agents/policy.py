"""The error policy of the worker's agents (DESIGN.md convention 8, issue 11).

Faust acknowledges a message whose agent raised (faust-streaming #527), so every message is
processed inside :meth:`ErrorPolicy.guarded`: an exception is logged (topic, partition,
offset and the exception type, never a value) and the message is run once more; if it
raises again it is dead-lettered and the stream goes on. A message that was in flight when
the worker stopped twice is dead-lettered without a third run (:mod:`agents.poison`), so no
message can make the worker crash in a loop.

A dead letter names the original document: for an event of ``care.events``, the
``care.inbound`` record it was read from (header ``carepath-inbound``), whose bytes are read
back for the record's ``raw``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agents import headers as hdr
from agents.kafka_io import RecordReader
from agents.metrics import INTERNAL, STAGES, WorkerMetrics
from agents.metrics import STOPPED as STOPS_TWICE
from agents.poison import ATTEMPTS, INGEST, STOPS, FlightRecorder, Unit, unit_of
from agents.security import aiokafka_kwargs
from agents.settings import Settings
from schemas.deadletter import Problem, document_record, fitted
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
        ``agents.metrics.DEAD_LETTER_REASONS``)."""
        msg = event.message
        if isinstance(problems, str):
            problems = [(problems, None)]
        elif not isinstance(problems, list):
            problems = [problems]  # type: ignore[list-item]
        source, raw = await self._original(msg)
        now = datetime.now(UTC).isoformat()
        rec = document_record(
            problems, raw, source, now, self.limits.max_bytes, unlisted=unlisted, code=code
        )
        key = key if key is not None else msg.key
        headers = list(msg.headers or [])
        # the record must fit one message: a quoted raw can be 6 times the document
        room = self.max_request_size - 512 - len(key or b"")
        room -= sum(len(k) + len(v) for k, v in headers)
        value = fitted(rec, raw, room)
        for wait in DEAD_LETTER_RETRIES:  # a broker that is briefly away: never lose one
            try:
                await self.deadletter.send(key=key, value=value, headers=headers)
                break
            except Exception as e:
                if wait is None:
                    raise
                log.warning("dead letter not sent (%s); again in %.1f s", type(e).__name__, wait)
                await asyncio.sleep(wait)
        log.info("dead letter from %s[%s]@%s", *where(msg))
        self.metrics.dead_letter(STAGES[msg.topic != self.s.topic_inbound], reason)

    async def _original(self, msg: Any) -> tuple[dict[str, object], bytes]:
        """Where the message's original document is, and its bytes: an event names the
        ``care.inbound`` record it came from and is read back (else its own bytes)."""
        own: bytes = msg.value if isinstance(msg.value, bytes) else b""
        place = hdr.inbound_of(msg.headers) if msg.topic != self.s.topic_inbound else None
        if place is None:
            return {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}, own
        topic, partition, offset = place
        if self.originals is None or self.originals.topic != topic:
            self.originals = RecordReader(self.s.bootstrap, topic, **aiokafka_kwargs(self.s))
        raw = await self.originals.get(partition, offset)
        return {"topic": topic, "partition": partition, "offset": offset}, raw or own
