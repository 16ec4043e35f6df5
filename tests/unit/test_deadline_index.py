"""The per-partition deadline index: a tick reaches only patients with due deadlines, and
its buckets are consumed only after the tick has stored their patients (replay-safe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from agents.state_store import DeadlineIndex, hour_of

T = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def test_due_returns_only_patients_whose_hour_has_started() -> None:
    table: dict[bytes, bytes] = {}
    idx = DeadlineIndex(table)
    idx.add(0, b"a", T)
    idx.add(0, b"b", T + timedelta(days=2))
    idx.add(1, b"c", T)
    assert idx.due(0, T - timedelta(hours=2)) == []
    assert idx.due(0, T + timedelta(minutes=1)) == [b"a"]
    assert idx.due(0, T + timedelta(days=3)) == [b"a", b"b"]
    assert idx.due(1, T + timedelta(days=3)) == [b"c"], "partitions are independent"


def test_due_consumes_nothing_until_the_tick_has_stored_its_patients() -> None:
    """A tick redelivered after a crash (before ``consume``) finds the same patients."""
    idx = DeadlineIndex({})
    idx.add(0, b"a", T)
    now = T + timedelta(minutes=1)
    assert idx.due(0, now) == [b"a"]
    assert idx.due(0, now) == [b"a"]
    idx.consume(0, now, {b"a": None})
    assert idx.due(0, now + timedelta(days=9)) == []


def test_same_hour_members_are_deduplicated_and_sorted() -> None:
    idx = DeadlineIndex({})
    for key in (b"z", b"a", b"z"):
        idx.add(2, key, T)
    assert idx.due(2, T) == [b"a", b"z"]


def test_consumed_buckets_are_deleted() -> None:
    table: dict[bytes, bytes] = {}
    idx = DeadlineIndex(table)
    idx.add(0, b"a", T)
    idx.add(0, b"b", T + timedelta(days=1))
    idx.consume(0, T + timedelta(hours=1), {b"a": None})
    h = hour_of(T + timedelta(days=1))
    assert set(table) == {
        b"0:days",
        f"0:day:{h // 24}".encode(),
        f"0:n:{h}".encode(),
        f"0:s:{h}:0".encode(),
    }
    assert orjson.loads(table[b"0:days"]) == [h // 24]


def test_a_patient_filed_again_in_a_reached_hour_stays_there() -> None:
    """Advanced at 10:30 with a next deadline at 10:45: the 10:00 bucket keeps it."""
    idx = DeadlineIndex({})
    idx.add(0, b"a", T - timedelta(minutes=20))
    idx.add(0, b"b", T - timedelta(hours=3))
    idx.add(0, b"a", T + timedelta(minutes=15))  # what storing the advanced state does
    idx.consume(
        0, T, {b"a": hour_of(T + timedelta(minutes=15)), b"b": hour_of(T + timedelta(days=1))}
    )
    assert idx.due(0, T + timedelta(minutes=20)) == [b"a"]


def test_last_tick_only_moves_forward() -> None:
    idx = DeadlineIndex({})
    assert idx.last_tick(0) is None
    idx.set_last_tick(0, T)
    idx.set_last_tick(0, T - timedelta(days=1))
    assert idx.last_tick(0) == T
    assert idx.last_tick(1) is None


def test_last_tick_is_read_from_the_value_the_table_holds() -> None:
    """The parsed tick is cached per stored bytes object: a table rolled back under the
    cache (changelog recovery) is read again, not answered from the cache."""
    table: dict[bytes, bytes] = {}
    idx = DeadlineIndex(table)
    assert idx.last_tick(0) is None and idx.last_tick_marker(0) == b""
    idx.set_last_tick(0, T)
    assert idx.last_tick(0) == T
    assert idx.last_tick_marker(0) == T.isoformat().encode()
    assert idx.last_tick(0) is idx.last_tick(0), "parsed once for the value held"
    earlier = T - timedelta(hours=5)
    table[b"0:tick"] = f'"{earlier.isoformat()}"'.encode()  # another object, as on recovery
    assert idx.last_tick(0) == earlier
    assert idx.last_tick_marker(0) == earlier.isoformat().encode()
    del table[b"0:tick"]
    assert idx.last_tick(0) is None and idx.last_tick_marker(0) == b""


class Logged(dict[bytes, bytes]):
    """A dict table that logs its writes in order (``None``: a deletion), as a changelog."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.log: list[tuple[bytes, bytes | None]] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.log.append((key, value))

    def pop(self, key: bytes, *default: object) -> object:  # type: ignore[override]
        self.log.append((key, None))
        return super().pop(key, *default)


def test_filing_writes_a_few_small_values_whatever_the_bucket_size() -> None:
    """Issue 11: 10k patients in one hour rewrote a list of up to 10k names on every add
    (~650 MB of changelog a weekly tick). Now each filing is two small writes, and the
    hour's registries are written once."""
    table = Logged()
    idx = DeadlineIndex(table)
    n = 10_000
    for i in range(n):
        idx.add(0, b"hosp-a|patient-%06d" % i, T)
    registry = [k for k, _ in table.log if k in (b"0:days", f"0:day:{hour_of(T) // 24}".encode())]
    assert len(registry) == 2
    assert len(table.log) == 2 * n + 2
    assert max(len(k) + len(v or b"") for k, v in table.log) < 64
    assert len(idx.due(0, T)) == n


def test_one_hundred_thousand_patients_on_a_partition() -> None:
    """100k patients spread over a month of hours: filing, a tick that reaches half of
    them, and the rest later; changelog bytes grow linearly (about 100 bytes a filing)."""
    table = Logged()
    idx = DeadlineIndex(table)
    n = 100_000
    for i in range(n):
        idx.add(0, b"p%06d" % i, T + timedelta(hours=i % 720))
    assert sum(len(k) + len(v or b"") for k, v in table.log) < 100 * n
    mid = T + timedelta(hours=359)
    due = idx.due(0, mid)
    assert len(due) == sum(1 for i in range(n) if i % 720 <= 359)
    idx.consume(0, mid, dict.fromkeys(due))
    rest = idx.due(0, T + timedelta(days=60))
    assert len(rest) == n - len(due) and not set(rest) & set(due)
    idx.consume(0, T + timedelta(days=60), dict.fromkeys(rest))
    assert set(table) == set(), "every key of a consumed bucket and registry is gone"


def test_no_index_key_can_be_a_patient_key() -> None:
    """Patient keys are UTF-8 ``<id>`` or ``<source>|<id>`` (a source may hold ``:``): an
    index key has a ``:`` (no FHIR id has one) and no ``|``."""
    table = Logged()
    idx = DeadlineIndex(table)
    idx.add(3, b"http://hosp:8080/fhir|p1", T)
    idx.set_last_tick(3, T)
    assert table.log
    for key, _ in table.log:
        assert b":" in key and b"|" not in key


def _index_view(table: dict[bytes, bytes], now: datetime) -> list[bytes]:
    return DeadlineIndex(dict(table)).due(0, now)


def _replayed(table: dict[bytes, bytes], log: list[tuple[bytes, bytes | None]]) -> Logged:
    out = Logged(table)
    for key, value in log:
        if value is None:
            dict.pop(out, key, None)
        else:
            dict.__setitem__(out, key, value)
    return out


def test_a_crash_inside_add_or_consume_is_repaired_by_the_redelivery() -> None:
    """Any prefix of an ``add``'s or a ``consume``'s writes (Kafka keeps a prefix of a
    changelog partition), then the same call again: the index answers as if no crash had
    happened."""
    later = T + timedelta(days=3)
    ops = [
        ("add", b"a", T),
        ("add", b"b", T),
        ("add", b"c", later),
        ("add", b"a", T),
        ("consume", None, T + timedelta(hours=1)),
        ("add", b"b", T + timedelta(minutes=10)),
        ("add", b"d", T),
    ]
    placed = {b"a": None, b"b": hour_of(later)}
    table: dict[bytes, bytes] = {}
    for kind, patient, when in ops:

        def call(idx: DeadlineIndex, kind: str = kind, patient: bytes | None = patient,
                 when: datetime = when) -> None:  # fmt: skip
            if kind == "add":
                assert patient is not None
                idx.add(0, patient, when)
            else:
                idx.consume(0, when, placed)

        clean = Logged(table)
        call(DeadlineIndex(clean))
        for cut in range(len(clean.log) + 1):
            crashed = _replayed(table, clean.log[:cut])
            call(DeadlineIndex(crashed))
            for probe in (T, T + timedelta(hours=2), later + timedelta(hours=1)):
                assert _index_view(crashed, probe) == _index_view(clean, probe), (kind, cut)
        table = dict(clean)


def test_buckets_of_the_first_design_are_read_and_consumed() -> None:
    """A worker upgraded over a changelog of JSON-list buckets still fires their deadlines."""
    h = hour_of(T)
    table = {
        b"0:hours": orjson.dumps([h, h + 48]),
        f"0:h:{h}".encode(): orjson.dumps(["a", "b"]),
        f"0:h:{h + 48}".encode(): orjson.dumps(["c"]),
    }
    idx = DeadlineIndex(table)
    idx.add(0, b"d", T)
    assert idx.due(0, T) == [b"a", b"b", b"d"]
    idx.consume(0, T, {b"a": None, b"b": None, b"d": None})
    assert idx.due(0, T + timedelta(days=3)) == [b"c"]
    assert orjson.loads(table[b"0:hours"]) == [h + 48] and f"0:h:{h}".encode() not in table
