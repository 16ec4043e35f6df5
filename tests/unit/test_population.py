"""The synthetic population: deterministic, every input shape present, valid input ingests
cleanly and invalid input is caught. No timing assertions (targets live in the bench)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from agents.bench.population import generate, generate_labeled, write_ndjson

N = 600
SEED = 11


@pytest.fixture(scope="module")
def labeled() -> list[tuple[str, bytes]]:
    return list(generate_labeled(N, SEED))


def test_same_seed_same_bytes() -> None:
    assert list(generate(150, 3)) == list(generate(150, 3))


def test_other_seed_other_documents() -> None:
    a = list(itertools.islice(generate(150, 3), 200))
    b = list(itertools.islice(generate(150, 4), 200))
    assert a != b


def test_valid_documents_do_not_depend_on_invalid_rate() -> None:
    noisy = [d for s, d in generate_labeled(100, 5, 0.05) if not s.startswith("invalid-")]
    clean = list(generate(100, 5, 0.0))
    assert noisy == clean


def test_invalid_rate_roughly_holds(labeled: list[tuple[str, bytes]]) -> None:
    bad = sum(s.startswith("invalid-") for s, _ in labeled)
    assert 0.007 < bad / len(labeled) < 0.013
    rate = 0.1
    docs = list(generate_labeled(200, 2, rate))
    assert abs(sum(s.startswith("invalid-") for s, _ in docs) / len(docs) - rate) < 0.02
    assert not any(s.startswith("invalid-") for s, _ in generate_labeled(100, 2, 0.0))


SHAPES = {
    "message-admit",
    "message-discharge",
    "encounter-admit",
    "encounter-discharge",
    "encounter-amb",
    "encounter-amb-appointment",
    "episode-active",
    "episode-finished",
    "appointment-fulfilled",
    "appointment-group",
    "appointment-noshow",
    "appointment-booked",
    "appointment-cancelled",
    "phq9",
    "gad7",
    "item9",
    "item9-answer",
    "cssrs-low",
    "cssrs-moderate",
    "cssrs-high",
    "auditc",
    "collection",
    "patient",
    "observation-other",
    "observation-preliminary",
    "invalid-broken-json",
    "invalid-not-utf8",
    "invalid-not-object",
    "invalid-no-resource-type",
    "invalid-missing-subject",
    "invalid-subject-not-reference",
    "invalid-score-out-of-range",
    "invalid-no-zone",
    "invalid-bad-value-string",
    "invalid-group-subject",
    "invalid-message-no-header",
}

FRAGMENTS = [
    # discharge dispositions: community, against advice, transfer, expired, other systems
    b'"code":"home"',
    b'"code":"alt-home"',
    b'"code":"aadvice"',
    b'"code":"psy"',
    b'"code":"other-hcf"',
    b'"code":"exp"',
    b"nubc-UB92",
    # value[x] variants
    b'"valueInteger"',
    b'"valueQuantity":{"value"',
    b'"valueString":"',
    b'"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA65',
    b'"effectivePeriod"',
    # level codes: own system, HCPCS, NUBC revenue codes
    b"level-of-care",
    b'"code":"H0035"',
    b'"code":"S9480"',
    b'"code":"0905"',
    b'"code":"0912"',
    # attendance details
    b'"minutesDuration"',
    b'"end":"',
    b'"length":{"value"',
    b'"appointment":[{"reference":"Appointment/',
    # time formats
    b"-05:00",
    b".000+00:00",
    b'"period":{"start":"2026-',
    # Da Vinci message with urn:uuid references, class variants
    b'"subject":{"reference":"urn:uuid:pat-',
    b'"code":"ACUTE"',
    # principal diagnoses (rules.md §2): behavioral health, self-poisoning, medical
    b'"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"F33.2"',
    b'"code":"T43.222A"',
    b'"code":"I21.4"',
]


def test_every_shape_appears(labeled: list[tuple[str, bytes]]) -> None:
    shapes = Counter(s for s, _ in labeled)
    assert set(shapes) >= SHAPES, SHAPES - set(shapes)
    blob = b"\n".join(d for _, d in labeled)
    missing = [f for f in FRAGMENTS if f not in blob]
    assert not missing


def test_date_only_episode_start(labeled: list[tuple[str, bytes]]) -> None:
    starts = [orjson.loads(d)["period"]["start"] for s, d in labeled if s == "episode-active"]
    assert any(len(s) == 10 for s in starts)


def test_group_appointments_have_several_patients(labeled: list[tuple[str, bytes]]) -> None:
    groups = [orjson.loads(d) for s, d in labeled if s == "appointment-group"]
    sizes = [
        sum(p["actor"]["reference"].startswith("Patient/") for p in g["participant"])
        for g in groups
    ]
    assert max(sizes) >= 2


def test_documents_are_one_line_and_json_where_meant(labeled: list[tuple[str, bytes]]) -> None:
    for shape, doc in labeled:
        assert b"\n" not in doc
        if shape not in ("invalid-broken-json", "invalid-not-utf8"):
            orjson.loads(doc)


def test_roughly_time_ordered(labeled: list[tuple[str, bytes]]) -> None:
    """Arrival order follows event time: the admission-era documents come first."""
    first = [orjson.loads(d) for s, d in labeled[:200] if s == "phq9"]
    last = [orjson.loads(d) for s, d in labeled[-200:] if s == "phq9"]
    assert first and last
    assert max(o.get("effectiveDateTime", "") for o in first) < min(
        o.get("effectiveDateTime", "9") for o in last
    )


def test_start_and_prefix() -> None:
    start = datetime(2027, 6, 1, tzinfo=UTC)
    docs = list(generate(20, 1, start=start, prefix="zz"))
    blob = b"".join(docs)
    assert b"Patient/zz000000" in blob
    assert b"2026-" not in blob


def test_write_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "pop.ndjson"
    n = write_ndjson(path, 50, 9)
    lines = path.read_bytes().splitlines()
    assert len(lines) == n == len(list(generate(50, 9)))


def test_valid_documents_ingest_cleanly(labeled: list[tuple[str, bytes]]) -> None:
    ingest_mod = pytest.importorskip("schemas.ingest")
    events = ignored = 0
    for shape, doc in labeled:
        result = ingest_mod.ingest(doc)
        if shape.startswith("invalid-"):
            assert result.errors, (shape, doc[:300])
            continue
        assert not result.errors, (shape, result.errors[0], doc[:300])
        events += len(result.events)
        ignored += not result.events
    assert events > ignored > 0


def test_group_appointment_is_one_event_per_patient(labeled: list[tuple[str, bytes]]) -> None:
    ingest_mod = pytest.importorskip("schemas.ingest")
    for shape, doc in labeled:
        if shape == "appointment-group":
            n = sum(
                p["actor"]["reference"].startswith("Patient/")
                for p in orjson.loads(doc)["participant"]
            )
            assert len(ingest_mod.ingest(doc).events) == n


def test_replay_has_no_dead_letters_but_the_invalid_ones() -> None:
    pytest.importorskip("pipeline.decide")
    from agents.engine import Engine
    from pipeline.config import DEFAULT_RULES
    from schemas.ingest import Limits
    from schemas.outbound import DEFAULT_BASE

    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
    invalid = 0
    rules: Counter[str] = Counter()
    for shape, doc in generate_labeled(300, 21):
        result = engine.feed(doc)
        invalid += shape.startswith("invalid-")
        assert bool(result.errors) == shape.startswith("invalid-"), (shape, result.errors)
        rules.update(o.rule for o in result.outputs)
    assert engine.stats.dead_letters == invalid
    assert engine.stats.outputs > 0
    # most stays are behavioral health (rules.md §2): the discharge rules act on them, and
    # the medical ones (about one in ten) are passed over
    stays = engine.stats.events["admission"] + engine.stats.events["discharge"]
    out_of_scope = sum(
        n
        for reason, n in engine.stats.reasons.items()
        if reason.startswith("Encounter: out of scope: not a behavioral-health stay")
    )
    assert 0 < out_of_scope == engine.stats.ignored_events < stays / 5
    assert rules["T-DISCHARGE"] > 20 and rules["C-FOLLOWUP"] > 50
