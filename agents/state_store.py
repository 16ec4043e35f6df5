"""A per-partition index of patient deadlines, so a tick reaches only the patients whose
deadlines are due instead of scanning every patient (issue: live ticks).

Stored in the patient-state table, next to the states: every write made while processing a
message of partition ``p`` goes to partition ``p`` of one changelog topic, so the writes
reach Kafka in the order they were made, and a worker killed midway leaves a prefix of them
(two tables would have two changelog topics, whose partitions Kafka does not order).

Filing a patient never rewrites a shared list (issue 11: one JSON bucket per hour made a
weekly tick of 10k patients cost ~650 MB of changelog writes). An hour's bucket is a row of
numbered slots, each one small key; filing a patient is two small writes whatever the
bucket's size. Keys (none can be a patient key: a patient key with a ``:`` is
``<source>|<id>``, and no key here has a ``|``):

- ``<p>:n:<hour>`` → number of slots used in the hour's bucket (ASCII);
- ``<p>:s:<hour>:<i>`` → the patient key filed in slot ``i`` (a consumed slot is deleted);
- ``<p>:days`` → sorted JSON list of the days (``hour // 24``) that have a bucket;
- ``<p>:day:<day>`` → sorted JSON list of that day's hours that have a bucket;
- ``<p>:tick`` → ISO time of the last tick seen on the partition.

The registries are rewritten only when an hour gets its first patient or its bucket is
consumed (at most 24 hours a day list, one entry a day in the days list), never on each
filing. Filing is not idempotent by itself: the caller keeps, next to each patient's
state, the hour it is filed under and files again only for an earlier deadline
(``agents.app``); a patient filed twice in one hour is one patient to :meth:`due`. A tick
reads the buckets of the hours it has reached (:meth:`DeadlineIndex.due`), stores the
patients in them, and only then consumes those buckets (:meth:`DeadlineIndex.consume`), so
a tick redelivered after a crash finds every patient it had not finished. Entries are
removed lazily: a patient stays in the bucket of a deadline it no longer has until a tick
passes that hour.

Every write order is chosen so that any prefix of a call's writes (a crash) leaves an index
from which a redelivery recovers: a slot becomes visible only with its count, after its
hour is registered; a bucket is unregistered only once its slots are gone.

Buckets of the first design (``<p>:hours`` and ``<p>:h:<hour>``, one JSON list each) are
still read and consumed, so a worker upgraded over such a changelog fires those deadlines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from datetime import datetime

import orjson

HOUR = 3600
DAY_HOURS = 24


def hour_of(t: datetime) -> int:
    return int(t.timestamp()) // HOUR


class DeadlineIndex:
    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table
        # partition -> (the stored tick bytes, its time, its ISO text): the tick is read
        # twice per event and changes only on a tick, so it is parsed once per value the
        # table holds (compared by value: RocksDB hands out a new bytes object every read)
        self._ticks: dict[int, tuple[bytes, datetime, bytes]] = {}

    # -- keys and small JSON values -------------------------------------------------------
    @staticmethod
    def _slot(partition: int, hour: int, i: int) -> bytes:
        return b"%d:s:%d:%d" % (partition, hour, i)

    @staticmethod
    def _count_key(partition: int, hour: int) -> bytes:
        return b"%d:n:%d" % (partition, hour)

    def _ints(self, key: bytes) -> list[int]:
        raw = self.table.get(key)
        value = orjson.loads(raw) if raw is not None else []
        return [int(v) for v in value] if isinstance(value, list) else []

    def _put_ints(self, key: bytes, values: list[int]) -> None:
        if values:
            self.table[key] = orjson.dumps(values)
        else:
            self.table.pop(key, None)

    def _count(self, partition: int, hour: int) -> int:
        raw = self.table.get(self._count_key(partition, hour))
        return int(raw) if raw else 0

    # -- filing ---------------------------------------------------------------------------
    def add(self, partition: int, patient: bytes, due: datetime) -> None:
        """File ``patient`` under the hour of ``due`` (two small writes; see the module
        docstring for when to call it)."""
        hour = hour_of(due)
        n = self._count(partition, hour)
        if n == 0:
            self._register(partition, hour)
        self.table[self._slot(partition, hour, n)] = patient
        self.table[self._count_key(partition, hour)] = b"%d" % (n + 1)

    def members(self, partition: int, hour: int) -> set[bytes]:
        """The patients filed under ``hour``."""
        return {p for _, p in self._slots(partition, hour)}

    def _register(self, partition: int, hour: int) -> None:
        day = hour // DAY_HOURS
        days_key, day_key = b"%d:days" % partition, b"%d:day:%d" % (partition, day)
        days, hours = self._ints(days_key), self._ints(day_key)
        if day not in days:
            self._put_ints(days_key, sorted([*days, day]))
        if hour not in hours:
            self._put_ints(day_key, sorted([*hours, hour]))

    def _reached(self, partition: int, limit: int) -> Iterator[int]:
        """The registered hours up to ``limit``."""
        for day in self._ints(b"%d:days" % partition):
            if day * DAY_HOURS > limit:
                break
            for hour in self._ints(b"%d:day:%d" % (partition, day)):
                if hour <= limit:
                    yield hour

    def _slots(self, partition: int, hour: int) -> Iterator[tuple[int, bytes]]:
        get = self.table.get
        for i in range(self._count(partition, hour)):
            patient = get(self._slot(partition, hour, i))
            if patient is not None:
                yield i, patient

    # -- ticks ----------------------------------------------------------------------------
    def due(self, partition: int, now: datetime) -> list[bytes]:
        """Patients filed under an hour that has started by ``now`` (nothing is removed)."""
        limit = hour_of(now)
        patients: set[bytes] = set()
        for hour in self._reached(partition, limit):
            patients.update(p for _, p in self._slots(partition, hour))
        for hour in self._legacy_hours(partition):
            if hour <= limit:
                patients.update(self._legacy_bucket(partition, hour))
        return sorted(patients)

    def consume(self, partition: int, now: datetime, placed: Mapping[bytes, int | None]) -> None:
        """After a tick at ``now`` has stored the patients of :meth:`due`: empty the buckets
        of the hours it reached, except for a patient ``placed`` (filed again) in that very
        hour, and drop the emptied hours. ``placed`` maps each stored patient to the hour
        of its new next deadline (``None``: none)."""
        limit = hour_of(now)
        emptied = [
            h for h in list(self._reached(partition, limit)) if self._drain(partition, h, placed)
        ]
        if emptied:
            self._unregister(partition, emptied)
        self._consume_legacy(partition, limit)

    def _drain(self, partition: int, hour: int, placed: Mapping[bytes, int | None]) -> bool:
        """Delete the hour's patients not placed in it again; true if none is left."""
        left = False
        for i, patient in list(self._slots(partition, hour)):
            if placed.get(patient, hour) == hour:
                left = True
                continue
            self.table.pop(self._slot(partition, hour, i), None)
        if not left:
            self.table.pop(self._count_key(partition, hour), None)
        return not left

    def _unregister(self, partition: int, hours: list[int]) -> None:
        days_key = b"%d:days" % partition
        days = self._ints(days_key)
        for day in sorted({h // DAY_HOURS for h in hours}):
            day_key = b"%d:day:%d" % (partition, day)
            kept = [h for h in self._ints(day_key) if h not in hours]
            self._put_ints(day_key, kept)
            if not kept and day in days:
                days.remove(day)
        self._put_ints(days_key, days)

    # -- the first design's buckets (read and consumed only) ------------------------------
    def _legacy_hours(self, partition: int) -> list[int]:
        return self._ints(b"%d:hours" % partition)

    def _legacy_bucket(self, partition: int, hour: int) -> list[bytes]:
        raw = self.table.get(b"%d:h:%d" % (partition, hour))
        members = orjson.loads(raw) if raw is not None else []
        return [str(m).encode() for m in members] if isinstance(members, list) else []

    def _consume_legacy(self, partition: int, limit: int) -> None:
        """Reached legacy buckets go whole: their patients were filed in the new index when
        the tick stored them."""
        hours = self._legacy_hours(partition)
        if not hours:
            return
        for hour in hours:
            if hour <= limit:
                self.table.pop(b"%d:h:%d" % (partition, hour), None)
        self._put_ints(b"%d:hours" % partition, [h for h in hours if h > limit])

    # -- the partition's last tick --------------------------------------------------------
    def tick(self, partition: int) -> tuple[datetime, bytes] | None:
        """The last tick seen on the partition and its ISO text (the marker stored next to
        a state), or ``None`` before the first."""
        raw = self.table.get(f"{partition}:tick".encode())
        if raw is None:
            return None
        hit = self._ticks.get(partition)
        if hit is None or (hit[0] is not raw and hit[0] != raw):
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
            self.table[f"{partition}:tick".encode()] = orjson.dumps(now.isoformat())
