"""PatientState: effective level, copying, and the compact codec (exact round trip, size)."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.levels import Level
from pipeline.state import NEVER, PatientState, decode_state, encode_state, new_state
from tests.unit.core_kit import Journey, t
from tests.unit.test_core_scenarios import SCENARIOS


def test_new_state() -> None:
    s = new_state("p9")
    assert s.patient == "p9" and s.level is None and s.clock == NEVER
    assert s.tasks == {} and s.seen == frozenset() and not s.deceased
    assert s.effective_level() is None and s.effective_since() is None


def test_effective_level_and_since() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    s = j.state
    assert s is not None and s.level is None
    assert s.effective_level() is Level.IOP and s.effective_since() == t("2026-03-08T15:00")
    j.enroll("2026-03-10T00:00", "php")
    assert j.state is not None and j.state.effective_level() is Level.PHP
    assert j.state.effective_since() == t("2026-03-10T00:00")


def test_copy_is_shallow_and_equal() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    s = j.state
    assert s is not None
    c = s.copy()
    assert c == s and c is not s and c.tasks is s.tasks


def test_round_trip_every_scenario_step() -> None:
    for build in SCENARIOS.values():
        for j in build():
            for step in j.steps:
                raw = encode_state(step.state)
                assert decode_state(raw) == step.state
                assert encode_state(decode_state(raw)) == raw


def test_round_trip_odd_values() -> None:
    s = PatientState(
        "p-ü",
        level=Level.PHP,
        level_since=datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC),
        clock=datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        closed={"0123456789abcdef": "entered-in-error"},
        seen=frozenset({0, 2**64 - 1, 12345}),
        weeks=((20000, 1), (20007, 0)),
        deceased=True,
    )
    assert decode_state(encode_state(s)) == s


def test_state_is_compact() -> None:
    """A typical patient (scenario 01: discharge, referral, follow-up, enrollment) stays
    far under 2 KiB; even scenario 07 with five open Tasks does."""
    sizes = {}
    for name, build in SCENARIOS.items():
        for j in build():
            assert j.state is not None
            sizes[(name, j.patient)] = len(encode_state(j.state))
    assert sizes[("01-discharge-home-to-iop", "s01")] < 1024
    assert max(sizes.values()) < 2048


def test_encoding_is_deterministic_json() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    j.assess("2026-03-03T10:00", "phq9", 12)
    assert j.state is not None
    raw = encode_state(j.state)
    assert raw == encode_state(decode_state(raw))
    assert raw.startswith(b'{"v":1,')


def test_encoding_is_the_stdlib_json_text_it_replaced() -> None:
    """pydantic_core writes exactly what ``json.dumps(ensure_ascii=False, separators=(",",
    ":"))`` wrote before it, so states stored by earlier workers decode, and changelogs do
    not change bytes across the upgrade."""
    import json

    odd = PatientState("p-ü", clock=datetime(2026, 1, 1, tzinfo=UTC), closed={"x": 'y\n"ü'})
    states = [odd] + [
        step.state for build in SCENARIOS.values() for j in build() for step in j.steps
    ]
    for s in states:
        raw = encode_state(s)
        assert (
            raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
        )
        assert decode_state(json.dumps(json.loads(raw), indent=1).encode()) == s
