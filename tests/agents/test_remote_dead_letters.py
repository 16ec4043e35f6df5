"""``replay --broker`` writes one dead-letter record per inbound document, as embedded replay
does, although a worker can write one per stage (ingest, then a rule's refusal of an event
on another partition) and write one twice around a stop (at least once)."""

from __future__ import annotations

import orjson

from agents.remote import merged_by_document
from schemas.deadletter import document_record
from schemas.ingest import InvalidInput

AT = {"topic": "care.inbound", "partition": 0, "offset": 7}
OTHER = {"topic": "care.inbound", "partition": 0, "offset": 8}
RAW = b'{"resourceType":"Bundle","type":"batch","entry":[]}'
NOW = "2026-07-01T00:00:00+00:00"


def _record(source: dict[str, object], *problems: object) -> bytes:
    return orjson.dumps(document_record(list(problems), RAW, source, NOW))  # type: ignore[arg-type]


INGEST = InvalidInput("Bundle.entry[2].resource.code: required", "Bundle.entry[2]", RAW, "required")
RULE_A = ("Task/a: requested → completed is not an allowed transition", "Task.status")
RULE_B = ("Task/b: requested → completed is not an allowed transition", "Task.status")


def _diagnostics(value: bytes) -> list[str]:
    return [i["diagnostics"] for i in orjson.loads(value)["error"]["issue"]]


def test_records_of_one_document_from_each_stage_become_one() -> None:
    values = [_record(AT, INGEST), _record(OTHER, RULE_A), _record(AT, RULE_A), _record(AT, RULE_B)]
    merged = merged_by_document(values)
    assert len(merged) == 2
    assert _diagnostics(merged[0]) == [
        "Bundle.entry[2].resource.code: required",
        RULE_A[0],
        RULE_B[0],
    ]
    first = orjson.loads(merged[0])
    assert first["source"] == AT and first["received_at"] == NOW and first["raw"] == RAW.decode()
    assert merged[1] == values[1]  # the other document's record, untouched


def test_a_record_written_twice_around_a_stop_is_one() -> None:
    once = _record(AT, RULE_A)
    assert merged_by_document([once, once]) == [once]


def test_unreadable_records_are_kept_as_they_are() -> None:
    values = [b"not json", _record(AT, RULE_A), b'{"source": 1}']
    assert merged_by_document(values) == values
