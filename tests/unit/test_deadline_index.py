"""The per-partition deadline index: a tick reaches only patients with due deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.state_store import DeadlineIndex

T = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def test_due_returns_only_patients_whose_hour_has_started() -> None:
    table: dict[bytes, bytes] = {}
    idx = DeadlineIndex(table)
    idx.add(0, b"a", T)
    idx.add(0, b"b", T + timedelta(days=2))
    idx.add(1, b"c", T)
    assert idx.due(0, T - timedelta(hours=2)) == []
    assert idx.due(0, T + timedelta(minutes=1)) == [b"a"]
    assert idx.due(0, T + timedelta(minutes=2)) == [], "a bucket is consumed once"
    assert idx.due(0, T + timedelta(days=3)) == [b"b"]
    assert idx.due(1, T + timedelta(days=3)) == [b"c"], "partitions are independent"


def test_same_hour_members_are_deduplicated_and_sorted() -> None:
    idx = DeadlineIndex({})
    for key in (b"z", b"a", b"z"):
        idx.add(2, key, T)
    assert idx.due(2, T) == [b"a", b"z"]


def test_consumed_buckets_are_deleted() -> None:
    table: dict[bytes, bytes] = {}
    idx = DeadlineIndex(table)
    idx.add(0, b"a", T)
    idx.due(0, T + timedelta(hours=1))
    assert set(table) == {b"0:hours"}


def test_last_tick_only_moves_forward() -> None:
    idx = DeadlineIndex({})
    assert idx.last_tick(0) is None
    idx.set_last_tick(0, T)
    idx.set_last_tick(0, T - timedelta(days=1))
    assert idx.last_tick(0) == T
    assert idx.last_tick(1) is None
