"""Dead-letter records (contract §6).

One JSON object per inbound document, at most (issue 11)::

    {"source": {...}, "received_at": "...",
     "error": {"resourceType": "OperationOutcome", "issue": [{"severity": "error",
               "code": "value", "diagnostics": "...", "expression": ["..."]}, ...]},
     "raw": "...", "raw_encoding": "utf-8" | "base64", "raw_truncated": false}

:func:`document_record` lists every problem of the document as one issue, the first
:data:`MAX_ISSUES` of them, then one ``informational`` issue counting the rest ("and 99900
more problems"), so a Bundle of 100,000 bad entries is one record of bounded size; each
diagnostics is cut at :data:`MAX_DIAGNOSTICS` characters. ``raw`` is always the document as
it came, never a re-serialized entry or a normalized event.

``raw`` is the original bytes as text when they are UTF-8, else base64; both are cut at
``max_bytes`` of the original (``raw_truncated`` says so). A UTF-8 document cut inside a
multi-byte character is cut back to the character boundary, so it stays text.

On Kafka a record must also fit one message: :func:`fitted` cuts ``raw`` further when its
quoted form (JSON escapes, base64) would make the record too long for the producer.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson

from pipeline.outputs import Rejected
from schemas.inbound.types import InvalidInput

_UTF8_CONTINUATION_MAX = 3  # a cut can split at most 3 bytes of one character
#: Issues listed in one record; one more issue counts the rest.
MAX_ISSUES = 100
#: Characters kept of one issue's diagnostics.
MAX_DIAGNOSTICS = 1000

#: A problem as the stages report it: ingest's :class:`InvalidInput`, the core's
#: :class:`Rejected` (a Task update the state machine refuses, a state over its cap), or
#: ``(diagnostics, expression)`` from the shell (an internal error, a refused document).
Problem = InvalidInput | Rejected | tuple[str, str | None]


def document_record(
    problems: Sequence[Problem],
    raw: bytes,
    source: dict[str, object],
    received_at: str,
    max_bytes: int = 1_048_576,
    *,
    unlisted: int = 0,
    code: str | None = None,
) -> dict[str, object]:
    """The one dead-letter record of the inbound document ``raw`` and its ``problems``
    (at least one), in the order found: the first :data:`MAX_ISSUES` as issues, then one
    issue counting the rest and ``unlisted`` (problems counted but not kept,
    ``Ingested.unlisted``). An issue's code is the problem's own (a tuple's:
    ``business-rule``, or ``exception`` for diagnostics starting "internal error"); ``code``
    overrides it."""
    issues, more = listed_issues(problems, unlisted=unlisted, code=code)
    return issues_record(issues, more, raw, source, received_at, max_bytes)


def listed_issues(
    problems: Sequence[Problem], *, unlisted: int = 0, code: str | None = None
) -> tuple[list[dict[str, object]], int]:
    """The OperationOutcome issues of the first :data:`MAX_ISSUES` ``problems`` and how many
    more there are (with ``unlisted``): one stage's share of a document's record."""
    issues = [_issue(p, code) for p in problems[:MAX_ISSUES]]
    return issues, max(len(problems) - MAX_ISSUES, 0) + unlisted


def merged_issues(
    shares: Sequence[tuple[Sequence[dict[str, object]], int]],
) -> tuple[list[dict[str, object]], int]:
    """The stages' shares (:func:`listed_issues`) of one document, in the document's order,
    as one share: the first :data:`MAX_ISSUES` issues, the rest counted — what
    :func:`listed_issues` gives for all the problems at once."""
    issues: list[dict[str, object]] = []
    more = 0
    for listed, extra in shares:
        room = MAX_ISSUES - len(issues)
        issues.extend(listed[:room])
        more += extra + max(len(listed) - room, 0)
    return issues, more


def issues_record(
    issues: Sequence[dict[str, object]],
    more: int,
    raw: bytes,
    source: dict[str, object],
    received_at: str,
    max_bytes: int = 1_048_576,
) -> dict[str, object]:
    """The record of ``raw`` with ``issues`` (at most :data:`MAX_ISSUES`) and one issue
    counting ``more`` problems not listed."""
    listed = list(issues)
    if more:
        listed.append(
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": f"and {more} more problems in this document (the first "
                f"{len(listed)} are listed)",
            }
        )
    record: dict[str, object] = {
        "source": source,
        "received_at": received_at,
        "error": {"resourceType": "OperationOutcome", "issue": listed},
    }
    record.update(raw_fields(raw, max_bytes))
    return record


def dead_letter_record(
    err: Problem,
    raw: bytes,
    source: dict[str, object],
    received_at: str,
    max_bytes: int = 1_048_576,
    code: str | None = None,
) -> dict[str, object]:
    """The record of a document with the one problem ``err`` (:func:`document_record`)."""
    return document_record([err], raw, source, received_at, max_bytes, code=code)


def _issue(problem: Problem, code: str | None) -> dict[str, object]:
    if isinstance(problem, InvalidInput):
        diagnostics, expression, kind = problem.diagnostics, problem.expression, problem.code
    else:
        if isinstance(problem, Rejected):
            diagnostics, expression = problem.diagnostics, problem.expression
        else:
            diagnostics, expression = problem
        internal = diagnostics.startswith("internal error")
        kind = "exception" if internal else "business-rule"
    if len(diagnostics) > MAX_DIAGNOSTICS:
        diagnostics = diagnostics[: MAX_DIAGNOSTICS - 1] + "…"
    issue: dict[str, object] = {"severity": "error", "code": code or kind}
    issue["diagnostics"] = diagnostics
    if expression:
        issue["expression"] = [expression]
    return issue


def operation_outcome(diagnostics: str, expression: str | None, code: str) -> dict[str, object]:
    """A FHIR R4 OperationOutcome with one error issue."""
    issue = _issue((diagnostics, expression), code)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def raw_fields(raw: bytes, max_bytes: int) -> dict[str, object]:
    """``raw``, ``raw_encoding`` and ``raw_truncated`` for the record."""
    truncated = len(raw) > max_bytes
    cut = raw[:max_bytes] if truncated else raw
    text = _utf8(cut, truncated)
    if text is not None:
        return {"raw": text, "raw_encoding": "utf-8", "raw_truncated": truncated}
    encoded = base64.b64encode(cut).decode("ascii")
    return {"raw": encoded, "raw_encoding": "base64", "raw_truncated": truncated}


def _utf8(data: bytes, truncated: bool) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        # only a character split by the cut itself is forgiven
        if truncated and e.start >= len(data) - _UTF8_CONTINUATION_MAX:
            try:
                return data[: e.start].decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None


def fitted(record: dict[str, object], raw: bytes, limit: int) -> bytes:
    """``record`` (from :func:`document_record` for ``raw``) as JSON of at most ``limit``
    bytes, its ``raw`` cut shorter if needed (``raw_truncated`` is then true)."""
    data = orjson.dumps(record)
    cut = len(raw)
    while len(data) > limit and cut > 0:
        cut = min(cut - 1, int(cut * limit / len(data) * 0.95))
        record.update(raw_fields(raw, max(cut, 0)))
        data = orjson.dumps(record)
    return data


#: FHIR R4 IssueType codes (``http://hl7.org/fhir/issue-type``), the OperationOutcome
#: ``issue.code`` values a record may carry.
ISSUE_TYPES = (
    "invalid",
    "structure",
    "required",
    "value",
    "invariant",
    "security",
    "login",
    "unknown",
    "expired",
    "forbidden",
    "suppressed",
    "processing",
    "not-supported",
    "duplicate",
    "multiple-matches",
    "not-found",
    "deleted",
    "too-long",
    "code-invalid",
    "extension",
    "too-costly",
    "business-rule",
    "conflict",
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
    "informational",
)
OPERATION_OUTCOME_URL = "https://hl7.org/fhir/R4/fhir.schema.json#/definitions/OperationOutcome"


def record_schema() -> dict[str, object]:
    """The JSON Schema (draft 07) of a record as :func:`dead_letter_record` builds it: where
    from (a Kafka position; a file and line; ``refused_by`` when the broker refused the
    document), when, the error as an OperationOutcome (the subset this module writes), and
    the raw document (tests/unit/test_deadletter_schema.py validates every kind of record)."""
    kafka_place = {
        "type": "object",
        "required": ["topic", "partition", "offset"],
        "properties": {
            "topic": {"type": "string"},
            "partition": {"type": "integer", "minimum": 0},
            "offset": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    }
    file_place = {
        "type": "object",
        "required": ["file", "line"],
        "properties": {
            "file": {"type": "string", "description": "input file (`-`: standard input)"},
            "line": {"type": "integer", "minimum": 0},
            "refused_by": {"type": "string", "description": "topic that refused the document"},
        },
        "additionalProperties": False,
    }
    issue = {
        "type": "object",
        "required": ["severity", "code", "diagnostics"],
        "properties": {
            "severity": {
                "enum": ["error", "information"],
                "description": "information: the last issue, counting problems not listed",
            },
            "code": {"enum": list(ISSUE_TYPES)},
            "diagnostics": {
                "type": "string",
                "maxLength": MAX_DIAGNOSTICS,
                "description": "what is wrong and where",
            },
            "expression": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "additionalProperties": False,
    }
    outcome = {
        "type": "object",
        "description": f"a FHIR R4 OperationOutcome ({OPERATION_OUTCOME_URL})",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "items": issue, "minItems": 1, "maxItems": MAX_ISSUES + 1},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "carepath dead-letter record",
        "description": "The problems of one inbound document, one record per document "
        "at most (contract §6).",
        "type": "object",
        "required": ["source", "received_at", "error", "raw", "raw_encoding", "raw_truncated"],
        "properties": {
            "source": {"oneOf": [kafka_place, file_place]},
            "received_at": {"type": "string", "format": "date-time"},
            "error": outcome,
            "raw": {"type": "string", "description": "the document, cut at the size limit"},
            "raw_encoding": {"enum": ["utf-8", "base64"]},
            "raw_truncated": {"type": "boolean"},
        },
        "additionalProperties": False,
    }
