"""The per-partition deadline index: a tick reaches only patients with due deadlines, and
its buckets are consumed only after the tick has stored their patients (replay-safe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert set(table) == {b"0:hours", f"0:h:{hour_of(T + timedelta(days=1))}".encode()}


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
