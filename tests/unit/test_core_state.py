"""PatientState: effective level, copying, and the compact codec (exact round trip of every
v2.2 field, size, a v1-encoded state still decodes)."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime

from pipeline.codes import Business, CareTask, Priority, Status
from pipeline.events import Contra
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord
from pipeline.state import (
    NEVER,
    Condition,
    Cooldown,
    Obs,
    PatientState,
    decode_state,
    encode_state,
    new_state,
)
from tests.unit.core_kit import Journey, t
from tests.unit.test_core_scenarios import SCENARIOS, run


def test_new_state() -> None:
    s = new_state("p9")
    assert s.patient == "p9" and s.level is None and s.clock == NEVER
    assert s.tasks == {} and s.seen == {} and not s.deceased
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


def full_state() -> PatientState:
    """A state with every field set to something other than its default."""
    task = TaskRecord(
        "7d3c1a52-1111-5222-8333-444455556666", "p-ü", "C-CRISIS", CareTask.CRISIS,
        Status.IN_PROGRESS, Priority.STAT, t("2026-03-05T10:00"), t("2026-03-05T14:00"),
        "C-SSRS risk high.", "Observation/c1", t("2026-03-05T11:00"), "called",
        None, "Practitioner/on-call", Business.OVERDUE, ("one", "two"), "Ada", True,
    )  # fmt: skip
    fulfill = TaskRecord(
        "8d3c1a52-1111-5222-8333-444455556666", "p-ü", "T-CRISIS", CareTask.FULFILL,
        Status.REQUESTED, Priority.STAT, t("2026-03-05T10:00"), t("2026-03-05T14:00"),
        "Refer.", "ServiceRequest/x", target=Level.INPATIENT, owner="Organization/ip",
    )  # fmt: skip
    pending = ReferralRecord(
        "9d3c1a52-1111-5222-8333-444455556666", "p-ü", "T-CRISIS", Level.INPATIENT, "step-up",
        Status.ACTIVE, Priority.STAT, t("2026-03-05T10:00"), ("Observation/c1",), fulfill.id,
        t("2026-03-05T10:30"), "why", "Organization/ip", "Practitioner/req", "Ada",
    )  # fmt: skip
    at = datetime(2026, 3, 5, 10, 0, 0, 123456, tzinfo=UTC)  # microseconds: an ISO string
    return PatientState(
        patient="p-ü",
        level=Level.OP,
        level_since=t("2026-03-01"),
        pending=pending,
        clock=t("2026-03-06T00:00"),
        tasks={task.id: task, fulfill.id: fulfill},
        closed={"0123456789abcdef": Status.ENTERED_IN_ERROR},
        seen={0: 1772532000, 2**64 - 1: -5, 12345: 0},
        counted={7: 739676},
        obs=(
            Obs(t("2026-03-02T10:00"), 14, "Observation/q1", "phq9", "1"),
            Obs(at, 3, None, "cssrs", "h:abc"),
        ),
        resolved_at=t("2026-03-04"),
        contras=(
            Condition("Condition/c1", Contra.PSYCHOSIS, t("2026-03-01")),
            Condition("Condition/c2", Contra.WITHDRAWAL, t("2026-02-01"), t("2026-02-20")),
        ),
        weeks=((739676, 300, 0b101), (739683, 0, 0)),
        last_attended=t("2026-03-03T10:00"),
        no_shows=(t("2026-03-04T09:00"),),
        week_due=t("2026-03-09"),
        inactive_due=t("2026-06-01"),
        last_event=t("2026-03-05T10:00"),
        stays=((2**63 + 5, 1 | 4), (17, 8)),
        stay_start=t("2026-02-20T08:00"),
        last_discharge=t("2026-02-25T12:00"),
        bh_contact=t("2026-02-25T12:00"),
        medical=(t("2026-03-04T08:00"), None),
        followup_from=t("2026-02-25T12:00"),
        followup_ed=True,
        lost_due=t("2026-03-28"),
        stalled=True,
        cooldowns=(Cooldown(Level.IOP, t("2026-03-01T09:00"), 12), Cooldown(Level.PHP, at, None)),
        female=True,
        display="Ada Example",
        deceased=True,
        death_ref="Patient/p-ü",
        last_bh=t("2026-03-03T10:00"),
        seen_floor=1772400000,
        left_care=t("2026-02-25T12:00"),
    )


def test_full_state_sets_every_field() -> None:
    s, empty = full_state(), new_state("p-ü")
    same = [f.name for f in fields(PatientState) if getattr(s, f.name) == getattr(empty, f.name)]
    assert same == ["patient"], "give full_state() a value for each new field"


def test_round_trip_of_every_field() -> None:
    s = full_state()
    raw = encode_state(s)
    assert decode_state(raw) == s
    assert encode_state(decode_state(raw)) == raw
    closed_medical = full_state()
    closed_medical.medical = (t("2026-03-04T08:00"), t("2026-03-05T08:00"))
    assert decode_state(encode_state(closed_medical)) == closed_medical


def test_copy_is_shallow_and_carries_every_field() -> None:
    s = full_state()
    c = s.copy()
    assert c == s and c is not s and c.tasks is s.tasks and c.closed is s.closed
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    assert j.state is not None and j.state.copy() == j.state


def test_round_trip_every_scenario_step() -> None:
    for name in SCENARIOS:
        for j in run(name):
            for step in j.steps:
                raw = encode_state(step.state)
                assert decode_state(raw) == step.state
                assert encode_state(decode_state(raw)) == raw


def test_a_v1_state_still_decodes() -> None:
    """A state a v1 worker stored (PHQ-9 ``q`` and C-SSRS ``r`` lists, ``ra`` risk time,
    weeks without day bits) reads with v2 defaults."""
    v1 = {
        "v": 1,
        "p": "p1",
        "c": int(t("2026-03-10").timestamp()),
        "l": "iop",
        "ls": int(t("2026-03-02").timestamp()),
        "t": [
            [
                "a1b2",
                "C-RECERT",
                "recertification",
                "requested",
                "routine",
                int(t("2026-03-02").timestamp()),
                int(t("2026-05-01").timestamp()),
                "Enrolled at IOP.",
                None,
            ]
        ],
        "x": {"0123456789abcdef": "completed"},
        "q": [
            [int(t("2026-03-05T10:00").timestamp()), 14, "Observation/q1"],
            [int(t("2026-03-03T10:00").timestamp()), 18],
        ],
        "r": [[int(t("2026-03-04T10:00").timestamp()), 2, "Observation/c1"]],
        "ra": int(t("2026-03-04T10:00").timestamp()),
        "w": [[739676, 300]],
        "la": int(t("2026-03-05T09:00").timestamp()),
        "wd": int(t("2026-03-16").timestamp()),
        "id": int(t("2026-03-19T09:00").timestamp()),
    }
    s = decode_state(json.dumps(v1).encode())
    assert (s.patient, s.level, s.level_since, s.clock) == (
        "p1",
        Level.IOP,
        t("2026-03-02"),
        t("2026-03-10"),
    )
    assert [(o.time, o.value, o.ref, o.inst) for o in s.obs] == [
        (t("2026-03-03T10:00"), 18, None, "phq9"),
        (t("2026-03-04T10:00"), 2, "Observation/c1", "cssrs"),
        (t("2026-03-05T10:00"), 14, "Observation/q1", "phq9"),
    ]
    assert s.resolved_at is None  # v1's "ra" was the risk time, not a resolution
    assert s.weeks == ((739676, 300, 0),)
    [task] = s.tasks.values()
    assert (task.code, task.owner, task.notes, task.overdue) == (CareTask.RECERT, None, (), False)
    assert (s.last_event, s.deceased, s.cooldowns, s.last_bh) == (NEVER, False, (), None)
    assert decode_state(encode_state(s)) == s


def test_state_is_compact() -> None:
    """A typical patient (scenario 01: discharge, referral, follow-up, enrollment) stays
    far under 1 KiB; even scenario 17 with five open Tasks (descriptions included) stays
    under 2 KiB."""
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
    assert raw.startswith(b'{"v":4,')


def test_encoding_is_the_stdlib_json_text_it_replaced() -> None:
    """pydantic_core writes exactly what ``json.dumps(ensure_ascii=False, separators=(",",
    ":"))`` wrote before it, so states stored by earlier workers decode, and changelogs do
    not change bytes across the upgrade."""
    states = [full_state()] + [
        step.state for build in SCENARIOS.values() for j in build() for step in j.steps
    ]
    for s in states:
        raw = encode_state(s)
        assert (
            raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
        )
        assert decode_state(json.dumps(json.loads(raw), indent=1).encode()) == s
