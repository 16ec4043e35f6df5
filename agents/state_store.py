"""A per-partition index of patient deadlines, so a tick reaches only the patients whose
deadlines are due instead of scanning every patient (issue: live ticks).

Stored in the patient-state table, next to the states (keys with a ``:`` cannot be patient
keys, which are FHIR ids): every write made while processing a message of partition ``p``
goes to partition ``p`` of one changelog topic, so the writes reach Kafka in the order they
were made, and a worker killed midway leaves a prefix of them (two tables would have two
changelog topics, whose partitions Kafka does not order). Keys:

- ``b"<p>:h:<hour>"`` → JSON list of patient keys with a deadline in that UTC hour;
- ``b"<p>:hours"`` → sorted JSON list of the hours that have a bucket;
- ``b"<p>:tick"`` → ISO time of the last tick seen on the partition.

A tick reads the buckets of the hours it has reached (:meth:`DeadlineIndex.due`), stores
the patients in them, and only then consumes those buckets (:meth:`DeadlineIndex.consume`),
so a tick redelivered after a crash finds every bucket it had not finished. Entries are
removed lazily: a patient stays in the bucket of a deadline it no longer has until a tick
passes that hour.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

import orjson

HOUR = 3600


def hour_of(t: datetime) -> int:
    return int(t.timestamp()) // HOUR


class DeadlineIndex:
    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table
        # partition -> (the stored tick bytes object, its time, its ISO text): the tick is
        # read twice per event and changes only on a tick, so it is parsed once per value
        # the table holds (another object, e.g. after a changelog recovery, is parsed again)
        self._ticks: dict[int, tuple[bytes, datetime, bytes]] = {}

    def _get(self, key: str) -> object:
        raw = self.table.get(key.encode())
        return orjson.loads(raw) if raw is not None else None

    def _put(self, key: str, value: object) -> None:
        self.table[key.encode()] = orjson.dumps(value)

    def _list(self, key: str) -> list[Any]:
        value = self._get(key) or []
        assert isinstance(value, list)
        return value

    def add(self, partition: int, patient: bytes, due: datetime) -> None:
        """File ``patient`` under the hour of ``due`` (idempotent)."""
        hour = hour_of(due)
        bucket_key = f"{partition}:h:{hour}"
        members = self._list(bucket_key)
        name = patient.decode()
        if name not in members:
            self._put(bucket_key, [*members, name])
        hours = self._list(f"{partition}:hours")
        if hour not in hours:
            self._put(f"{partition}:hours", sorted([*hours, hour]))

    def due(self, partition: int, now: datetime) -> list[bytes]:
        """Patients filed under an hour that has started by ``now`` (nothing is removed)."""
        limit = hour_of(now)
        patients: set[str] = set()
        for h in self._list(f"{partition}:hours"):
            if h <= limit:
                patients.update(self._list(f"{partition}:h:{h}"))
        return sorted(p.encode() for p in patients)

    def consume(self, partition: int, now: datetime, placed: Mapping[bytes, int | None]) -> None:
        """After a tick at ``now`` has stored the patients of :meth:`due`: empty the buckets
        of the hours it reached, except for a patient ``placed`` (filed again) in that very
        hour, and drop the emptied hours. ``placed`` maps each stored patient to the hour
        of its new next deadline (``None``: none)."""
        limit = hour_of(now)
        hours = self._list(f"{partition}:hours")
        kept = []
        for h in hours:
            if h > limit:
                kept.append(h)
                continue
            key = f"{partition}:h:{h}"
            members = self._list(key)
            left = [m for m in members if placed.get(m.encode(), h) == h]
            if left:
                kept.append(h)
                if left != members:
                    self._put(key, left)
            else:
                self.table.pop(key.encode(), None)
        if kept != hours:
            self._put(f"{partition}:hours", kept)

    def tick(self, partition: int) -> tuple[datetime, bytes] | None:
        """The last tick seen on the partition and its ISO text (the marker stored next to
        a state), or ``None`` before the first."""
        raw = self.table.get(f"{partition}:tick".encode())
        if raw is None:
            return None
        hit = self._ticks.get(partition)
        if hit is None or hit[0] is not raw:
            text = orjson.loads(raw)
            if not isinstance(text, str):
                return None
            hit = (raw, datetime.fromisoformat(text), text.encode())
            self._ticks[partition] = hit
        return hit[1], hit[2]

    def last_tick(self, partition: int) -> datetime | None:
        entry = self.tick(partition)
        return entry[0] if entry is not None else None

    def last_tick_marker(self, partition: int) -> bytes:
        """The last tick's ISO text as stored next to a state (empty: no tick yet)."""
        entry = self.tick(partition)
        return entry[1] if entry is not None else b""

    def set_last_tick(self, partition: int, now: datetime) -> None:
        last = self.last_tick(partition)
        if last is None or now > last:
            self._put(f"{partition}:tick", now.isoformat())
