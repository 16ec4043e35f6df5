"""Property: mutated valid documents through ``Engine.feed`` (what ``carepath replay`` runs):
nothing escapes, every document is accounted for, and it dead-letters exactly when it has
errors, with one record per document listing them and nothing applied from a refused atomic
document.

Extends ``test_ingest_property`` (same seeds and structural mutations, ingest alone) with:
the engine after it, patients whose Tasks the pipeline has emitted (so mutated Task
updates reach the state machine), the hostile-corpus templates as further seeds, a
*retype* mutation (same content, another JSON type) and byte-level damage (truncation,
bit flips, dropped and doubled bytes) on the same path.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.engine import Engine
from agents.replay import dead_letter
from pipeline.config import DEFAULT_RULES
from pipeline.events import TaskUpdated
from pipeline.outputs import Rejected, TaskRecord
from pipeline.state import PatientState
from schemas.inbound.bundle import ENTRYWISE
from schemas.ingest import DEFAULT_BASE, InvalidInput, Limits, ingest
from tests.hostile.cases_tasks import PATIENT, setup_events, task_update
from tests.hostile.templates import names, template
from tests.unit.test_ingest_property import JSON, SEEDS, mutate, paths

LIMITS = Limits()


def _emitted() -> tuple[dict[str, PatientState], list[dict[str, Any]]]:
    """Patient states after the hostile-corpus setup, and an update of each emitted Task."""
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    tasks = [o for raw in setup_events() for o in engine.feed(raw).outputs]
    updates = [
        orjson.loads(task_update(o.id, status, 40))
        for o in tasks
        if isinstance(o, TaskRecord)
        for status in ("accepted", "completed", "on-hold")
    ]
    return dict(engine.states), updates


STATES, UPDATES = _emitted()


def _referral() -> str:
    """The id of the referral Task of the setup (requested: ``completed`` is refused)."""
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    found = [o for raw in setup_events() for o in engine.feed(raw).outputs]
    return next(o.id for o in found if isinstance(o, TaskRecord) and o.code == "fulfill")


REFUSABLE = _referral()
ALL_SEEDS: list[Any] = [*SEEDS, *UPDATES, *(template(n) for n in names())]


def retype(value: Any) -> Any:
    """The same content as another JSON type (``14`` → ``"14"``, ``"x"`` → ``["x"]``…)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return int(value) if value.isdecimal() else [value]  # "²".isdigit(), but no int
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value[0] if value else {}
    return ""


def damage(raw: bytes, data: st.DataObject) -> bytes:
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        if not out:
            break
        at = data.draw(st.integers(0, len(out) - 1))
        op = data.draw(st.sampled_from(["flip", "drop", "double", "cut"]))
        if op == "flip":
            out[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "drop":
            del out[at]
        elif op == "double":
            out.insert(at, out[at])
        else:
            del out[at:]
    return bytes(out)


def atomic(raw: bytes) -> bool:
    """A bare resource or a message: one document, one outcome (not entry by entry)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        return True
    btype = doc.get("type")
    return not (isinstance(btype, str) and btype in ENTRYWISE)


def check_feed(raw: bytes) -> None:
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    engine.states = dict(STATES)
    before = dict(engine.states)
    ing = ingest(raw, LIMITS)
    result = engine.feed(raw)  # must not raise
    invalid = [e for e in result.errors if isinstance(e, InvalidInput)]
    rejected = [e for e in result.errors if isinstance(e, Rejected)]
    assert invalid == ing.errors and len(invalid) + len(rejected) == len(result.errors)
    assert len(rejected) <= sum(isinstance(e, TaskUpdated) for e in ing.events)
    assert all(e.code != "exception" for e in invalid), invalid  # an internal error is a bug
    assert ing.events or ing.ignored or ing.errors  # normalized, ignored or dead-lettered
    if atomic(raw):
        assert bool(ing.events) + bool(ing.ignored) + bool(ing.errors) == 1, ing
        assert len(ing.errors) <= 1 and len(ing.ignored) <= 1
        if ing.errors:  # a refused document applies nothing
            assert result.outputs == [] and all(engine.states[k] is v for k, v in before.items())
            assert engine.states.keys() == before.keys()
    assert result.unlisted == ing.unlisted
    if not result.errors:
        return
    where = {"file": "-", "line": 1}
    record = orjson.loads(orjson.dumps(dead_letter(result.errors, raw, where, LIMITS)))
    issues = record["error"]["issue"]  # one record per document, every problem an issue
    assert len(issues) == min(len(result.errors), 100) + (len(result.errors) > 100)
    assert record["raw"].encode() == raw[: LIMITS.max_bytes] or record["raw_encoding"] == "base64"
    for issue in issues:
        where = issue.get("expression", [None])[0]
        assert where is None or issue["diagnostics"].startswith(f"{where}: ")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_through_the_engine(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(ALL_SEEDS)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(doc)))
        op = data.draw(st.sampled_from(["delete", "replace", "insert", "retype"]))
        if op == "retype":
            parent: Any = doc
            for key in path[:-1]:
                parent = parent[key]
            if path:
                parent[path[-1]] = retype(parent[path[-1]])
            continue
        doc = mutate(doc, path, op, data.draw(JSON))
    try:
        raw = orjson.dumps(doc)
    except TypeError:  # a drawn integer beyond 64 bits
        return
    check_feed(raw)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(ALL_SEEDS), st.data())
def test_damaged_bytes_through_the_engine(seed: Any, data: st.DataObject) -> None:
    check_feed(damage(orjson.dumps(seed), data))


def test_seeds_are_valid() -> None:
    """Every seed normalizes (or is ignored) without errors: mutations start from valid."""
    for seed in ALL_SEEDS:
        assert ingest(orjson.dumps(seed)).errors == [], seed
    assert PATIENT in STATES and len(UPDATES) == 6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["bad", "good", "junk", "refused"]), max_size=260))
def test_a_collection_is_at_most_one_bounded_record(kinds: list[str]) -> None:
    """Whatever a collection mixes (entries that are no objects, invalid resources, valid
    ones, Task updates the state machine refuses), it yields its valid events and at most
    one record, of at most 101 issues, whose raw is the document."""
    engine = Engine(DEFAULT_RULES, LIMITS, DEFAULT_BASE)
    engine.states = dict(STATES)
    bad = {**template("obs"), "valueInteger": 99}
    refused = orjson.loads(task_update(REFUSABLE, "completed", 0))
    entries: list[Any] = []
    for i, kind in enumerate(kinds):
        if kind == "junk":
            entries.append(i)
        elif kind == "refused":
            entries.append({"resource": {**refused, "meta": {"versionId": f"v{i}"}}})
        else:
            res = bad if kind == "bad" else template("obs")
            entries.append({"resource": {**res, "id": f"o{i}"}})
    raw = orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    result = engine.feed(raw)
    problems = len(result.errors) + result.unlisted
    assert problems == sum(k != "good" for k in kinds)
    if not problems:
        return
    record = dead_letter(result.errors, raw, {"file": "-", "line": 1}, LIMITS, result.unlisted)
    issues = record["error"]["issue"]  # type: ignore[index]
    assert len(issues) == min(problems, 100) + (problems > 100)
    assert record["raw"] == raw.decode() and len(orjson.dumps(record)) < len(raw) + 40_000
