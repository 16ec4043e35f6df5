"""What the shell reports about ignored input, dead letters and start-up (no core needed)."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from agents.headers import ORIGIN, SOURCE, header, run_headers, source_of
from agents.reporting import (
    UNEXPLAINED,
    Ignored,
    IgnoredCounts,
    dead_letter_notice,
    from_ref,
    ignored_line,
    reason_class,
    timezone_notice,
    top_reasons,
)
from pipeline.config import DEFAULT_RULES, parse_rules
from schemas.deadletter import dead_letter_record

SECRET = '{"resourceType":"Observation","valueString":"hears voices, Jane Doe"}'


@pytest.mark.parametrize(
    ("reason", "cls"),
    [
        (
            "Task/abc: not a Task emitted for this patient",
            "Task: not a Task emitted for this patient",
        ),
        (
            "Encounter/e-17.x: out of scope: not a behavioral-health stay",
            "Encounter: out of scope: not a behavioral-health stay",
        ),
        (
            "Observation.code: SNOMED 720433000 is not a recognized instrument (LOINC only)",
            "Observation.code: SNOMED # is not a recognized instrument (LOINC only)",
        ),
        ("older than the retention window", "older than the retention window"),
        (
            "Encounter/e1: principal diagnosis M17.11 (ICD-10-CM)",
            "Encounter: principal diagnosis # (ICD-10-CM)",
        ),
        ("PHQ-9 item 9 LA6568-5, GAD-7 (ICD-10-CM F41.1)", "PHQ-9 item # #, GAD-7 (ICD-10-CM #)"),
    ],
)
def test_reason_class_drops_ids_and_codes(reason: str, cls: str) -> None:
    assert reason_class(reason) == cls


def test_top_reasons_most_frequent_first_then_alphabetical() -> None:
    counts = Counter({"b": 2, "a": 2, "c": 5, "d": 1, "e": 1, "f": 1, "g": 1})
    assert top_reasons(counts, 3) == "5 × c; 2 × a; 2 × b; 4 more reason(s)"
    assert top_reasons(Counter()) == "none"


def test_ignored_line_names_source_type_id_and_reason() -> None:
    item = Ignored("Observation", "o9", "Observation.status: preliminary is not final")
    rec = orjson.loads(ignored_line(item, {"file": "a.ndjson", "line": 3}))
    assert rec == {
        "source": {"file": "a.ndjson", "line": 3},
        "resourceType": "Observation",
        "id": "o9",
        "reason": "Observation.status: preliminary is not final",
    }


def test_from_ref_splits_the_reference_and_always_has_a_reason() -> None:
    assert from_ref("Task/abc", "Task/abc: not ours") == Ignored(
        "Task", "abc", "Task/abc: not ours"
    )
    assert from_ref(None, None) == Ignored(None, None, UNEXPLAINED)


def test_dead_letter_notice_never_shows_the_document() -> None:
    raw = SECRET.encode()
    rec = dead_letter_record(
        ("Observation.code: required", "Observation.code"), raw, {"file": "x", "line": 2}, "t"
    )
    line = dead_letter_notice(rec)
    assert line == "dead letter x:2: Observation.code: required (Observation.code)"
    assert "Jane" not in line and "voices" not in line
    kafka = {**rec, "source": {"topic": "care.inbound", "partition": 0, "offset": 7}}
    assert dead_letter_notice(kafka).startswith("dead letter care.inbound[0]@7: ")
    assert dead_letter_notice(kafka, "f.ndjson:4").startswith("dead letter f.ndjson:4: ")


def test_timezone_notice_only_when_unset() -> None:
    assert timezone_notice(DEFAULT_RULES) is not None
    assert "UTC" in (timezone_notice(parse_rules({"transition": {"lookback_days": 3}})) or "")
    assert timezone_notice(parse_rules({"site": {"timezone": "America/Chicago"}})) is None
    assert timezone_notice(parse_rules({"site": {"timezone": "UTC"}})) is None  # said so


def test_ignored_counts_report_only_when_changed() -> None:
    counts = IgnoredCounts()
    assert counts.report() is None
    counts.add("Task/a: not a Task emitted for this patient")
    counts.add("Task/b: not a Task emitted for this patient")
    counts.add(None)
    line = counts.report()
    assert line == (
        f"ignored since start: 3 (2 × Task: not a Task emitted for this patient; 1 × {UNEXPLAINED})"
    )
    assert "Task/a" not in line
    assert counts.report() is None


def test_source_header() -> None:
    assert source_of([(SOURCE, b"https://ehr.a.example")]) == "https://ehr.a.example"
    assert source_of({SOURCE: b" hosp-b "}) == "hosp-b"
    assert source_of([(SOURCE, b"a"), (SOURCE, b"b")]) == "b"  # the last one wins
    assert source_of([(SOURCE, b"  ")]) is None
    assert source_of([("other", b"x")]) is None
    assert source_of(None) is None


def test_replay_broker_headers() -> None:
    with_source = run_headers("r1", "in.ndjson", 4, "hosp-a")
    assert header(with_source, ORIGIN) == b"in.ndjson:4"
    assert header(with_source, SOURCE) == b"hosp-a"
    assert header(run_headers("r1", "in.ndjson", 4, None), SOURCE) is None
