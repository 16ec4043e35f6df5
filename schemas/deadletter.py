"""Dead-letter records (contract §6).

One JSON object per problem::

    {"source": {...}, "received_at": "...",
     "error": {"resourceType": "OperationOutcome", "issue": [{"severity": "error",
               "code": "value", "diagnostics": "...", "expression": ["..."]}]},
     "raw": "...", "raw_encoding": "utf-8" | "base64", "raw_truncated": false}

``raw`` is the original bytes as text when they are UTF-8, else base64; both are cut at
``max_bytes`` of the original (``raw_truncated`` says so). A UTF-8 document cut inside a
multi-byte character is cut back to the character boundary, so it stays text.

On Kafka a record must also fit one message: :func:`fitted` cuts ``raw`` further when its
quoted form (JSON escapes, base64) would make the record too long for the producer.
"""

from __future__ import annotations

import base64

import orjson

from schemas.inbound.types import InvalidInput

_UTF8_CONTINUATION_MAX = 3  # a cut can split at most 3 bytes of one character


def dead_letter_record(
    err: InvalidInput | tuple[str, str | None],
    raw: bytes,
    source: dict[str, object],
    received_at: str,
    max_bytes: int = 1_048_576,
    code: str | None = None,
) -> dict[str, object]:
    """The dead-letter record for ``err`` about ``raw``.

    ``err`` is an :class:`InvalidInput` from ingest, or ``(diagnostics, expression)``
    from elsewhere: issue code ``business-rule`` (a Task update the core rejects), or
    ``exception`` when the diagnostics start with "internal error"; ``code`` overrides.
    """
    diagnostics, expression, issue_code = _parts(err)
    record: dict[str, object] = {
        "source": source,
        "received_at": received_at,
        "error": operation_outcome(diagnostics, expression, code or issue_code),
    }
    record.update(raw_fields(raw, max_bytes))
    return record


def _parts(err: InvalidInput | tuple[str, str | None]) -> tuple[str, str | None, str]:
    if isinstance(err, InvalidInput):
        return err.diagnostics, err.expression, err.code
    diagnostics, expression = err
    code = "exception" if diagnostics.startswith("internal error") else "business-rule"
    return diagnostics, expression, code


def operation_outcome(diagnostics: str, expression: str | None, code: str) -> dict[str, object]:
    """A FHIR R4 OperationOutcome with one error issue."""
    issue: dict[str, object] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
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
    """``record`` (from :func:`dead_letter_record` for ``raw``) as JSON of at most ``limit``
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
            "severity": {"const": "error"},
            "code": {"enum": list(ISSUE_TYPES)},
            "diagnostics": {"type": "string", "description": "what is wrong and where"},
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
            "issue": {"type": "array", "items": issue, "minItems": 1},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "carepath dead-letter record",
        "description": "One problem with one inbound document (contract §6).",
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
