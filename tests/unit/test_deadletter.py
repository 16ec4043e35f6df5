"""Dead-letter records (contract §6): OperationOutcome error, raw text or base64, cut."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from schemas.deadletter import dead_letter_record
from schemas.ingest import InvalidInput, ingest

SOURCE: dict[str, object] = {"file": "in.ndjson", "line": 5}
AT = "2026-07-02T10:00:00+00:00"
OBS = (
    b'{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":'
    b'"http://loinc.org","code":"44261-6"}]},"subject":{"reference":"Patient/p"},'
    b'"effectiveDateTime":"2026-07-02T10:00:00Z","valueInteger":31}'
)


def issue(rec: dict[str, object]) -> dict[str, Any]:
    error = rec["error"]
    assert isinstance(error, dict)
    first: dict[str, Any] = error["issue"][0]
    return first


def test_record_from_ingest_error() -> None:
    [err] = ingest(OBS).errors
    rec = dead_letter_record(err, err.raw, SOURCE, AT)
    assert rec == {
        "source": SOURCE,
        "received_at": AT,
        "error": {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "value",
                    "diagnostics": "Observation.valueInteger: 31 is outside 0–27 for PHQ-9 total",
                    "expression": ["Observation.valueInteger"],
                }
            ],
        },
        "raw": OBS.decode(),
        "raw_encoding": "utf-8",
        "raw_truncated": False,
    }
    OperationOutcome.model_validate(rec["error"])
    assert orjson.loads(orjson.dumps(rec)) == rec


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1]", b"\xff\xfe", OBS.replace(b"31", b"1").replace(b'"o"', b"7")]
)
def test_every_ingest_error_gives_a_valid_operation_outcome(raw: bytes) -> None:
    for err in ingest(raw).errors:
        rec = dead_letter_record(err, err.raw, SOURCE, AT)
        OperationOutcome.model_validate(rec["error"])


def test_document_level_error_has_no_expression() -> None:
    [err] = ingest(b"[1, 2]").errors
    first = issue(dead_letter_record(err, err.raw, SOURCE, AT))
    assert "expression" not in first and first["code"] == "structure"


def test_tuple_errors_from_the_core_and_from_agents() -> None:
    rejected = dead_letter_record(
        ("Task.status: completed → accepted", "Task.status"), b"{}", SOURCE, AT
    )
    assert issue(rejected)["code"] == "business-rule"
    crash = dead_letter_record(("internal error while processing: KeyError", None), b"", SOURCE, AT)
    assert issue(crash)["code"] == "exception"
    forced = dead_letter_record(("x", None), b"", SOURCE, AT, code="invalid")
    assert issue(forced)["code"] == "invalid"


def test_non_utf8_raw_is_base64() -> None:
    raw = b'{"a": "\xff"}'
    err = InvalidInput("not UTF-8: invalid byte at offset 7", None, raw, "structure")
    rec = dead_letter_record(err, raw, SOURCE, AT)
    assert rec["raw_encoding"] == "base64" and rec["raw_truncated"] is False
    assert base64.b64decode(str(rec["raw"])) == raw


def test_raw_is_cut_at_the_size_limit() -> None:
    raw = b"x" * 100
    rec = dead_letter_record(("too big", None), raw, SOURCE, AT, max_bytes=10)
    assert (rec["raw"], rec["raw_encoding"], rec["raw_truncated"]) == ("x" * 10, "utf-8", True)


def test_cut_inside_a_utf8_character_stays_text() -> None:
    raw = ("é" * 10).encode()  # 2 bytes each
    rec = dead_letter_record(("too big", None), raw, SOURCE, AT, max_bytes=5)
    assert (rec["raw"], rec["raw_encoding"], rec["raw_truncated"]) == ("éé", "utf-8", True)


def test_cut_binary_is_base64_of_the_cut() -> None:
    raw = b"\xff" * 100
    rec = dead_letter_record(("too big", None), raw, SOURCE, AT, max_bytes=8)
    assert rec["raw_encoding"] == "base64"
    assert base64.b64decode(str(rec["raw"])) == b"\xff" * 8


# -- one record per document (issue 11) ---------------------------------------------------
def test_one_record_lists_every_problem_of_a_document() -> None:
    from pipeline.outputs import Rejected
    from schemas.deadletter import document_record

    doc = (
        b'{"resourceType":"Bundle","type":"collection","entry":['
        + b'1,{"resource":'
        + OBS.replace(b"31", b"29")
        + b"}]}"
    )
    found = ingest(doc).errors
    refused = Rejected(
        "Task/t#1", "Task.status: completed → accepted is not allowed", "Task.status"
    )
    rec = document_record([*found, refused, ("internal error while processing: X", None)],
                          doc, SOURCE, AT)  # fmt: skip
    issues = rec["error"]["issue"]  # type: ignore[index]
    assert [(i["code"], i.get("expression")) for i in issues] == [
        ("structure", ["Bundle.entry[0]"]),
        ("value", ["Bundle.entry[1].resource.valueInteger"]),
        ("business-rule", ["Task.status"]),
        ("exception", None),
    ]
    assert rec["raw"] == doc.decode()  # the document as it came, not an entry
    OperationOutcome.model_validate(rec["error"])


def test_a_record_lists_100_problems_and_counts_the_rest() -> None:
    from schemas.deadletter import MAX_ISSUES, document_record
    from schemas.inbound.types import MAX_LISTED

    raw = (
        b'{"resourceType":"Bundle","type":"collection","entry":[' + b",".join([b"1"] * 250) + b"]}"
    )
    ing = ingest(raw)
    assert len(ing.errors) == MAX_LISTED == MAX_ISSUES and ing.unlisted == 150
    rec = document_record(ing.errors, raw, SOURCE, AT, unlisted=ing.unlisted)
    issues = rec["error"]["issue"]  # type: ignore[index]
    assert len(issues) == 101 and issues[99]["expression"] == ["Bundle.entry[99]"]
    assert issues[100] == {
        "severity": "information",
        "code": "informational",
        "diagnostics": "and 150 more problems in this document (the first 100 are listed)",
    }
    OperationOutcome.model_validate(rec["error"])
    many = document_record([("x", None)] * 130, b"{}", SOURCE, AT)
    assert many["error"]["issue"][-1]["diagnostics"].startswith("and 30 more problems")  # type: ignore[index]


def test_long_diagnostics_are_cut() -> None:
    from schemas.deadletter import MAX_DIAGNOSTICS

    first = issue(dead_letter_record(("y" * 5000, None), b"{}", SOURCE, AT))
    assert len(first["diagnostics"]) == MAX_DIAGNOSTICS and first["diagnostics"].endswith("…")
