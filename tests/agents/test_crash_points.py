"""A worker killed at any point of any message loses nothing and publishes nothing new.

The transition agent's shell (``Pipeline.transition_one``, ticks included) runs without
Faust on a table that logs its writes in order, as the one changelog partition of a
``care.events`` partition does. For every message and every point between its writes, a
crash is simulated: the table keeps the writes before the point (Kafka keeps a prefix of a
partition), the outputs sent before the last kept write are kept (they were acknowledged
before it), the later ones are lost; then the message and all after it come again, as a
restarted worker reads them from the last committed offset. The final version of every
Task and ServiceRequest must equal the uncrashed run's, and every publication must be one
the uncrashed run made.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from agents.app import Pipeline, Ports
from agents.poison import FlightRecorder
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES
from pipeline.events import Tick
from schemas.ingest import Limits, ingest
from schemas.wire import encode_event

DATA = Path(__file__).parents[1] / "scenarios" / "data"
# discharge follow-up deadlines, a step-up, no-shows and the low-hours week check
SCENARIOS = ("01-", "02-", "05-", "08-")
Op = tuple[str, bytes, bytes | None]  # ("write", key, value or None for a pop) | ("out", ...)


class Changelog(dict[bytes, bytes]):
    """A dict table whose writes are logged in order into ``ops``."""

    def __init__(self, ops: list[Op], *args: Any) -> None:
        super().__init__(*args)
        self.ops = ops

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.ops.append(("write", key, value))

    def pop(self, key: bytes, *default: Any) -> Any:  # type: ignore[override]
        self.ops.append(("write", key, None))
        return super().pop(key, *default)


class Sink:
    def __init__(self, ops: list[Op]) -> None:
        self.ops = ops

    async def send(self, *, key: bytes | None = None, value: bytes = b"", **_: Any) -> Any:
        self.ops.append(("out", key or b"", value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _pipeline(
    table: MutableMapping[bytes, bytes],
    ops: list[Op],
    *,
    logged: bool = True,
    events: Any = None,
    outputs: Any = None,
    letters: Any = None,
    max_request: int = 1_000_000,
    **kw: Any,
) -> Pipeline:
    """The agents' logic without a Faust app: a dict table logging its writes into ``ops``
    (``logged``, else ``table`` itself) and a sink logging into ``ops`` for every topic not
    given; ``kw``: the pipeline's other collaborators."""
    sink = Sink(ops)
    states = Changelog(ops, table) if logged else table
    ports = Ports(
        states, events or sink, outputs or sink, outputs or sink, letters or sink, max_request
    )
    kw.setdefault("flight", FlightRecorder(None))  # notes in memory: it never restarts
    return Pipeline(Settings(_env_file=None), DEFAULT_RULES, ports, **kw)  # type: ignore[call-arg]


def _messages() -> list[bytes]:
    """Some scenarios' events on one partition, a few sent twice (a redelivery), with a
    tick halfway and a final one."""
    limits = Limits(max_bytes=1_048_576, max_depth=64)
    events = [
        encode_event(ev)
        for path in sorted(DATA.glob("*.ndjson"))
        if path.name.startswith(SCENARIOS)
        for line in path.read_bytes().splitlines()
        if line.strip()
        for ev in ingest(line, limits, Settings(_env_file=None).base_url).events
    ]
    half = len(events) // 2
    tick = [encode_event(Tick(time=datetime(2026, 3, 1, tzinfo=UTC)))]
    end = [encode_event(Tick(time=datetime(2026, 12, 31, tzinfo=UTC)))]
    return events[:half] + events[:3] + tick + events[half:] + end


async def _run(table: dict[bytes, bytes], msgs: list[bytes], first: int) -> list[Op]:
    ops: list[Op] = []
    p = _pipeline(table, ops)
    for offset, value in enumerate(msgs[first:], first):
        msg = SimpleNamespace(
            topic="care.events", partition=0, offset=offset, key=None, value=value, headers=[]
        )
        await p.transition_one(SimpleNamespace(message=msg))
    return ops


def _outputs(ops: list[Op]) -> list[bytes]:
    return [value for kind, _, value in ops if kind == "out" and value is not None]


def _by_id(outputs: list[bytes]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for value in outputs:
        doc = orjson.loads(value)
        if "resourceType" in doc:  # dead letters have none; their repeats are allowed
            out[f"{doc['resourceType']}/{doc['id']}"].append(value)
    return out


def _apply(table: dict[bytes, bytes], ops: list[Op]) -> dict[bytes, bytes]:
    table = dict(table)
    for kind, key, value in ops:
        if kind == "write":
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    return table


async def _check_every_crash_point() -> int:
    msgs = _messages()
    reference = _by_id(_outputs(await _run({}, msgs, 0)))
    assert any("follow-up-missed" in v[-1].decode() for v in reference.values()), "no deadline"
    table: dict[bytes, bytes] = {}
    before: list[bytes] = []
    crashes = 0
    for i in range(len(msgs)):
        ops = await _run(table, msgs[i : i + 1], 0)
        writes = [n for n, op in enumerate(ops) if op[0] == "write"]
        for cut in [0, *(n + 1 for n in writes)]:
            kept = ops[:cut]
            again = await _run(_apply(table, kept), msgs, i)
            published = before + _outputs(kept) + _outputs(again)
            got = _by_id(published)
            final = {rid: v[-1] for rid, v in got.items()}
            assert final == {rid: v[-1] for rid, v in reference.items()}, (i, cut)
            for rid, versions in got.items():
                assert set(versions) <= set(reference[rid]), (i, cut, rid)
            crashes += 1
        table = _apply(table, ops)
        before += _outputs(ops)
    return crashes


def test_a_crash_between_any_two_writes_loses_and_changes_nothing() -> None:
    assert asyncio.run(_check_every_crash_point()) > 60
