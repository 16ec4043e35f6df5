"""Property: mutated valid documents never make ingest raise, and every document is
accounted for (events, ignored or errors), with well-formed events and errors."""

from __future__ import annotations

import copy
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.events import CareEvent
from schemas.inbound.parse import too_deep
from schemas.ingest import Ingested, Limits, ingest
from tests.unit.ingest_docs import (
    appointment,
    collection,
    encounter,
    episode,
    message,
    observation,
    task,
)

DATA = Path(__file__).parents[1] / "scenarios" / "data"
SEEDS: list[Any] = [
    observation(),
    observation("93374-7", valueInteger=None, valueCodeableConcept={"text": "high"}),
    observation("44260-8", valueInteger=None, valueString="2"),
    encounter(),
    encounter(status="in-progress"),
    encounter("AMB", serviceType={"coding": [{"system": "urn:x", "code": "iop"}]}),
    appointment(patients=("a", "b")),
    appointment("noshow"),
    episode(),
    episode("finished"),
    task(),
    message(),
    message("notification-admit"),
    collection({"resourceType": "Patient", "id": "p1"}, observation(), encounter()),
    *[orjson.loads(ln) for ln in (DATA / "01-discharge-home-to-iop.ndjson").read_bytes().split()],
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["Patient/p1", "urn:uuid:pat-1", "2026-03-01", "2026-03-01T08:00:00", "IMP"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def mutate(doc: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    if not path:
        return value if op == "replace" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = value
    elif isinstance(parent, dict):
        parent[f"{last}x"] = value
    return doc


def check(out: Ingested) -> None:
    assert isinstance(out, Ingested)
    assert out.events or out.ignored or out.errors
    for event in out.events:
        assert isinstance(event, CareEvent)
        assert isinstance(event.patient, str) and event.patient
        assert event.time.tzinfo is UTC
        assert isinstance(event.event_id, str) and event.event_id
    for err in out.errors:
        assert isinstance(err.raw, bytes) and err.diagnostics
        assert err.code != "exception", err.diagnostics  # an internal error is a bug
        assert err.expression is None or err.diagnostics.startswith(err.expression)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(doc)))
        op = data.draw(st.sampled_from(["delete", "replace", "insert"]))
        doc = mutate(doc, path, op, data.draw(JSON))
    check(ingest(orjson.dumps(doc)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_bytes(seed: Any, data: st.DataObject) -> None:
    raw = bytearray(orjson.dumps(seed))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    limits = Limits(
        max_bytes=data.draw(st.integers(0, 4000)), max_depth=data.draw(st.integers(1, 9))
    )
    check(ingest(bytes(raw[:cut]), limits))


@given(st.binary(max_size=200))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(ingest(raw))


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


NESTED = st.recursive(
    st.none() | st.integers(0, 9) | st.text(alphabet='{}[]":\\ ,a\n', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='{}[]":\\ a', max_size=4), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=1500, deadline=None)
@given(NESTED, st.integers(0, 12))
def test_depth_check_matches_a_recursive_count(value: Any, limit: int) -> None:
    assert too_deep(value, orjson.dumps(value), limit) == (depth(value) > limit)
    assert too_deep(value, b"[" * 4096, limit) == (depth(value) > limit)  # no count bound


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["[", "{"]), max_size=1100), st.integers(0, 400))
def test_deep_nesting_never_fails_internally(opens: list[str], limit: int) -> None:
    closes = "".join("]" if o == "[" else "}" for o in reversed(opens))
    inner = "".join(o if o == "[" else '{"k":' for o in opens) + "1" + closes
    raw = ('{"resourceType":"Observation","x":' + inner + "}").encode()
    check(ingest(raw, Limits(max_depth=limit)))
