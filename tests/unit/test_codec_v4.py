"""State encoding version 4 (issue 11: a smaller state, same behaviour): exact round trip
of the dense forms and of whole states (property tests), and states of versions 1–3 still
decode to the same value."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.codec_old import encode_v3
from pipeline.packing import (
    WORDS,
    pack_hashes,
    pack_ints,
    uid,
    unpack_hashes,
    unpack_ints,
    unuid,
    unword,
    word,
)
from pipeline.state import Obs, PatientState, decode_state, encode_state
from tests.unit.test_core_scenarios import SCENARIOS
from tests.unit.test_core_state import full_state

U64 = st.integers(min_value=0, max_value=2**64 - 1)
I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
#: event times the core accepts (1900–2199), whole seconds or whole minutes
EPOCHS = st.integers(min_value=-2208988800, max_value=7258118399)
MINUTES = st.integers(min_value=-2208988800 // 60, max_value=7258118399 // 60).map(lambda m: m * 60)


@given(st.dictionaries(U64, I64 | EPOCHS | MINUTES, min_size=1, max_size=600))
def test_pack_ints_round_trip_in_value_order(values: dict[int, int]) -> None:
    packed = pack_ints(values)
    assert json.loads(json.dumps(packed)) == packed
    back = unpack_ints(packed)
    assert back == values
    assert list(back.items()) == sorted(values.items(), key=lambda kv: kv[1])


def test_pack_ints_is_narrow_for_minutes_and_weeks() -> None:
    seen = {k: 1772460900 + 3600 * k for k in range(40)}  # whole minutes, an hour apart
    first, unit, _ = pack_ints(seen)
    assert (first, unit) == (1772460900, 3600)
    assert len(pack_ints(seen)[2]) <= 4 * (1 + 40 * 9) // 3 + 4  # one byte a delta
    counted = {k: 739649 + 7 * (k % 3) for k in range(10)}
    assert pack_ints(counted)[:2] == [739649, 7]


@given(st.uuids())
def test_uid_round_trip_of_uuids(u: uuid.UUID) -> None:
    assert len(uid(str(u))) == 22
    assert unuid(uid(str(u))) == str(u)


@given(st.text(max_size=60) | st.uuids().map(lambda u: str(u).upper()))
def test_uid_round_trip_of_other_ids(text: str) -> None:
    assert unuid(uid(text)) == text


@given(st.lists(st.binary(min_size=8, max_size=8).map(bytes.hex), max_size=70))
def test_hashes_round_trip(versions: list[str]) -> None:
    packed = pack_hashes(versions)
    assert packed is not None and unpack_hashes(packed) == versions


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_other_versions_are_not_packed(versions: list[str]) -> None:
    packed = pack_hashes(versions)
    assert packed is None or unpack_hashes(packed) == versions
    assert pack_hashes(["aabbccddeeff0011aabb", "ccddeeff0011"]) is None
    assert pack_hashes(["AABBCCDDEEFF0011"]) is None


@given(st.sampled_from(WORDS) | st.text(max_size=30))
def test_words_round_trip(text: str) -> None:
    assert unword(word(text)) == text


def _times(draw: st.DrawFn, n: int) -> list[datetime]:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    micro = st.sampled_from([0, 0, 0, 123456])
    return [
        base + timedelta(seconds=draw(st.integers(-(10**8), 10**8)), microseconds=draw(micro))
        for _ in range(n)
    ]


@st.composite
def states(draw: st.DrawFn) -> PatientState:
    s = full_state()
    s.seen = draw(st.dictionaries(U64, EPOCHS | MINUTES, max_size=80))
    s.counted = draw(st.dictionaries(U64, st.integers(700000, 800000), max_size=20))
    refs = st.none() | st.sampled_from(["Observation/o1", "Observation/a.b-9", "Condition/c"])
    n = draw(st.integers(0, 12))
    times = sorted(_times(draw, n))
    version = st.binary(min_size=8, max_size=8).map(bytes.hex) | st.sampled_from(["1", "h:x"])
    inst = st.sampled_from(["phq9", "cssrs", "gad7", "phq9-item9", "auditc", "other"])
    s.obs = tuple(
        Obs(t, draw(st.integers(0, 27)), draw(refs), draw(inst), draw(version)) for t in times
    )
    task_id = draw(st.uuids().map(str) | st.text(min_size=1, max_size=40))
    task = replace(next(iter(s.tasks.values())), id=task_id, rule=draw(st.text(max_size=12)))
    s.tasks = {**s.tasks, task_id: task}
    if draw(st.booleans()):
        s.clock = s.clock + timedelta(microseconds=draw(st.integers(1, 999999)))
    return s


@settings(max_examples=200, deadline=None)
@given(states())
def test_state_round_trip(s: PatientState) -> None:
    raw = encode_state(s)
    assert raw.startswith(b'{"v":4,')
    back = decode_state(raw)
    assert back == s
    assert encode_state(back) == raw


def test_every_scenario_state_is_smaller_and_decodes_from_v3() -> None:
    states = [full_state()] + [
        step.state for build in SCENARIOS.values() for j in build() for step in j.steps
    ]
    for s in states:
        old = encode_v3(s)
        assert decode_state(old) == s  # a version-3 state still reads
        assert decode_state(old.replace(b'"v":3', b'"v":2', 1)) == s  # version 2
        assert len(encode_state(s)) <= len(old)


def test_a_state_with_an_odd_observation_reference_uses_rows() -> None:
    s = full_state()
    s.obs = (Obs(datetime(2026, 3, 2, tzinfo=UTC), 4, "no-slash", "phq9", "1"),)
    raw = encode_state(s)
    assert b'"o":' in raw and b'"o4"' not in raw
    assert decode_state(raw) == s
