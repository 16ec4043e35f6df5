"""The worker's decoded-state cache (``DecodedStates``) changes nothing but speed: the
same table writes and outputs with and without it, also when the table goes back to an
earlier value behind the cache's back (a crash recovery replaying a changelog prefix)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agents.app import DecodedStates, Pipeline
from pipeline.state import new_state
from tests.agents.test_crash_points import Op, _apply, _messages, _pipeline


def test_hit_only_for_the_bytes_stored() -> None:
    cache = DecodedStates(limit=2)
    state = new_state("p1")
    stored = b"\n" + b"x" * 40
    cache.put(b"p1", stored, state)
    assert cache.get(b"p1", stored) is state
    # equal bytes in another object (what RocksDB returns on every read): still a hit
    assert cache.get(b"p1", bytes(bytearray(stored))) is state
    assert cache.get(b"p1", b"\n" + b"x" * 39 + b"y") is None  # another value: decoded
    assert cache.get(b"p2", stored) is None
    cache.put(b"p2", b"a", new_state("p2"))
    cache.put(b"p3", b"b", new_state("p3"))  # over the limit: p1, stored first, goes
    assert cache.get(b"p1", stored) is None


async def _feed(p: Pipeline, msgs: list[bytes], first: int = 0) -> None:
    for offset, value in enumerate(msgs[first:], first):
        msg = SimpleNamespace(
            topic="care.events", partition=0, offset=offset, key=None, value=value, headers=[]
        )
        await p.transition_one(SimpleNamespace(message=msg))


def _pipe(table: dict[bytes, bytes], ops: list[Op], cached: bool) -> Pipeline:
    return _pipeline(table, ops, decoded=DecodedStates(limit=100_000 if cached else 0))


def test_same_writes_and_outputs_with_the_cache() -> None:
    msgs = _messages()
    plain: list[Op] = []
    cached: list[Op] = []
    asyncio.run(_feed(_pipe({}, plain, cached=False), msgs))
    asyncio.run(_feed(_pipe({}, cached, cached=True), msgs))
    assert cached == plain and any(kind == "out" for kind, _, _ in plain)


def test_table_rolled_back_under_the_cache() -> None:
    msgs = _messages()
    half = len(msgs) // 2
    ops: list[Op] = []
    warm = _pipe({}, ops, cached=True)
    asyncio.run(_feed(warm, msgs[:half]))
    # the table goes back to an earlier prefix of its writes (same bytes objects as then),
    # while the cache remembers the later states
    prefix = _apply({}, ops[: len(ops) // 2])
    again: list[Op] = []
    rolled = _pipeline(prefix, again, decoded=warm.decoded)  # the same cache, as a worker has
    asyncio.run(_feed(rolled, msgs, half // 2))
    fresh: list[Op] = []
    asyncio.run(_feed(_pipe(dict(prefix), fresh, cached=False), msgs, half // 2))
    assert again == fresh
