"""A per-partition index of patient deadlines, so a tick reaches only the patients whose
deadlines are due instead of scanning every patient (issue: live ticks).

Stored in a Faust table (changelogged, co-partitioned with ``care.events``: each key is
written while processing a message of its own partition). Keys:

- ``b"<p>:h:<hour>"`` → JSON list of patient keys with a deadline in that UTC hour;
- ``b"<p>:hours"`` → sorted JSON list of the hours that have a bucket;
- ``b"<p>:tick"`` → ISO time of the last tick seen on the partition.

Entries are removed lazily: a bucket is consumed when a tick passes its hour, and each
patient in it re-enters the index at its new next deadline, if any.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime

import orjson

HOUR = 3600


class DeadlineIndex:
    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table

    def _get(self, key: str) -> object:
        raw = self.table.get(key.encode())
        return orjson.loads(raw) if raw is not None else None

    def _put(self, key: str, value: object) -> None:
        self.table[key.encode()] = orjson.dumps(value)

    def add(self, partition: int, patient: bytes, due: datetime) -> None:
        hour = int(due.timestamp()) // HOUR
        bucket_key = f"{partition}:h:{hour}"
        members = self._get(bucket_key) or []
        assert isinstance(members, list)
        name = patient.decode()
        if name not in members:
            self._put(bucket_key, [*members, name])
        hours = self._get(f"{partition}:hours") or []
        assert isinstance(hours, list)
        if hour not in hours:
            self._put(f"{partition}:hours", sorted([*hours, hour]))

    def due(self, partition: int, now: datetime) -> list[bytes]:
        """Patients with a deadline in an hour that has started by ``now`` (consumed)."""
        hours = self._get(f"{partition}:hours") or []
        assert isinstance(hours, list)
        limit = int(now.timestamp()) // HOUR
        ripe = [h for h in hours if h <= limit]
        if not ripe:
            return []
        self._put(f"{partition}:hours", [h for h in hours if h > limit])
        patients: list[bytes] = []
        for h in ripe:
            members = self._get(f"{partition}:h:{h}") or []
            assert isinstance(members, list)
            patients.extend(m.encode() for m in members)
            self.table.pop(f"{partition}:h:{h}".encode(), None)
        return sorted(set(patients))

    def last_tick(self, partition: int) -> datetime | None:
        raw = self._get(f"{partition}:tick")
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None

    def set_last_tick(self, partition: int, now: datetime) -> None:
        last = self.last_tick(partition)
        if last is None or now > last:
            self._put(f"{partition}:tick", now.isoformat())
