"""Poison protection (issue 11): a message that fails the same way twice is dead-lettered
and the worker goes on; no crash loop, whatever the cause.

A message can fail in two ways:

- It **raises** inside an agent. ``Pipeline.guarded`` runs it once more (a retry repeats
  nothing that mattered: a crash-point test shows that any prefix of a message's writes
  followed by the whole message gives the uncrashed result) and, if it raises again,
  dead-letters it (DESIGN.md convention 8).
- It **stops the process**: killed for its memory, a fault in native code, a watchdog.
  Faust never sees an exception, nothing is committed, and every restarted worker gets the
  same message first. :class:`FlightRecorder` notes, in a small file of the worker's data
  directory, the unit each agent is working on before it starts and clears it when done
  (two ``pwrite`` calls of one fixed slot a message; the page cache keeps them when the
  process dies). A restarted worker reads the notes: a unit that was in flight when the
  worker stopped twice is not run a third time; the agent dead-letters it and goes on.

A unit is a message, or one patient's part of a tick (so that one patient who stops a
tick does not hold back the patients filed with it). A message is known by its bytes and
its origin: for an event, the ``care.inbound`` record it was read from (header
``carepath-inbound``), else its own position. When the worker stops, the ingest agent's
last documents are usually not committed yet, so the restarted worker publishes the poison
event again at a new offset of ``care.events``: by its origin and bytes it is the same unit,
is not given two more chances, and once dead-lettered its copies are skipped (logged), so
the document gets one dead letter. The last ``REMEMBERED`` dead-lettered units are kept in
the file too. The file holds hashes and positions only, no identifiers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zlib
from collections import OrderedDict
from pathlib import Path

import orjson

log = logging.getLogger("carepath.agents")

#: A unit in flight when the worker stopped this many times is dead-lettered, not run.
STOPS = 2
#: Runs of a message that raises before it is dead-lettered.
ATTEMPTS = 2
#: Bytes of a slot in the file (topic names are at most 249 characters).
SLOT = 512
#: The flight recorder's slots: one per agent (the documents agent's is the third: a file
#: written before it read its first remembered unit as one in flight, with no stops).
INGEST, TRANSITIONS, DOCUMENTS = 0, 1, 2
AGENTS = 3
#: Dead-lettered units remembered (in the file, after the agents' slots): their copies are
#: skipped.
REMEMBERED = 64

Unit = tuple[str, int, str, str]  # topic, partition, origin and CRC of the bytes, patient hash


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def unit_of(topic: str, partition: int, origin: bytes, value: bytes, patient: bytes = b"") -> Unit:
    """The unit of a message of ``topic``/``partition`` from ``origin`` (where its document
    was read: a Kafka position, no identifier), with bytes ``value`` (a CRC tells the events
    of one document apart); with ``patient``, that patient's part of it (hashed)."""
    known = f"{origin[:200].decode('ascii', 'replace')}#{zlib.crc32(value):08x}"
    return (topic, partition, known, digest(patient) if patient else "")


class FlightRecorder:
    """What each agent was doing when the process stopped (see the module docstring).

    ``path`` ``None`` keeps the notes in memory only (a process that never restarts).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None
        #: units in flight when the process last stopped → how many times in a row
        self.stopped: dict[Unit, int] = {}
        #: dead-lettered units → their slot in the file
        self.poisoned: OrderedDict[Unit, int] = OrderedDict()
        self._blank = b" " * (SLOT - 1) + b"\n"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._load(os.pread(self._fd, SLOT * (AGENTS + REMEMBERED), 0))

    def _load(self, data: bytes) -> None:
        for slot, start in enumerate(range(0, len(data), SLOT)):
            try:
                topic, partition, value, patient, stops = orjson.loads(data[start : start + SLOT])
                unit = (str(topic), int(partition), str(value), str(patient))
            except (orjson.JSONDecodeError, TypeError, ValueError):
                continue  # blank, or torn: nothing to go by
            if slot < AGENTS:
                self.stopped[unit] = int(stops)
            else:
                self.poisoned[unit] = slot
        if self.stopped:
            log.warning("the worker stopped while processing %d message(s)", len(self.stopped))

    def enter(self, slot: int, unit: Unit) -> int:
        """Note that ``unit`` starts in ``slot``; the times it was in flight when the worker
        stopped (``STOPS`` or more: do not run it, dead-letter it)."""
        stops = self.stopped.get(unit, 0)
        if stops < STOPS:
            self._write(slot, orjson.dumps([*unit, stops + 1]))
        return stops

    def done(self, unit: Unit) -> None:
        """``unit`` ran to its end: it no longer counts as having stopped the worker."""
        self.stopped.pop(unit, None)

    def leave(self, slot: int) -> None:
        """Nothing is in flight in ``slot``."""
        self._write(slot, b"")

    def clear(self) -> None:
        """Nothing is in flight in any slot: the process is being stopped on purpose (a
        stop that is ours, not a message's, must not count towards its dead letter)."""
        for slot in range(AGENTS):
            self.leave(slot)

    def poison(self, unit: Unit) -> None:
        """Remember ``unit`` as dead-lettered (in the file too), so copies are skipped."""
        self.stopped.pop(unit, None)
        if unit in self.poisoned:
            return
        used = set(self.poisoned.values())
        free = [s for s in range(AGENTS, AGENTS + REMEMBERED) if s not in used]
        slot = free[0] if free else self.poisoned.popitem(last=False)[1]  # the oldest goes
        self.poisoned[unit] = slot
        self._write(slot, orjson.dumps([*unit, 0]))

    def is_poisoned(self, unit: Unit) -> bool:
        return unit in self.poisoned

    def _write(self, slot: int, record: bytes) -> None:
        if self._fd is None:
            return
        line = record.ljust(SLOT - 1)[: SLOT - 1] + b"\n"
        os.pwrite(self._fd, line if record else self._blank, slot * SLOT)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
