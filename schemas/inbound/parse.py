"""Bytes → JSON value, with the document-level checks of contract §6.

Order: size limit, then orjson (which also checks UTF-8), then the depth limit. For the
depth, orjson re-serializes the parsed document with two-space indentation (in C); the
members of a container nested ``k`` deep sit at indent ``2k``, so a line indented
``2(max_depth + 1)`` proves a container deeper than the limit, and so does an empty
container (``{}``/``[]``, printed inline) on a line indented ``2 * max_depth``.
Small documents (≤ 2 KB) first try a cheaper bound: nesting never exceeds the number of
``{``/``[`` bytes (0.35 µs for a 350-byte resource; the indented check costs 1.2 µs).
Then duplicate keys: a compact ``orjson.dumps`` of the parsed value equal to the input
proves there is none (the common case: FHIR servers write compact JSON; 6.5k instructions
for a 400-byte resource, against 17k for ``orjson.loads``); otherwise
:mod:`schemas.inbound.dupkeys` compares colon counts and, if needed, parses exactly.
Measured on the 17 KB Da Vinci message Bundle: 11 µs, against 23 µs for ``orjson.loads``;
rejected there: the bracket count (13 µs, and useless at 181 brackets), a bytes scan
that skips strings (160 µs), a Python walk of the parsed value (38 µs).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from schemas.inbound.dupkeys import may_repeat_keys, repeated_key
from schemas.inbound.problem import show
from schemas.inbound.types import Cut

_BOM = b"\xef\xbb\xbf"
_COUNT_BELOW = 2048  # larger documents nearly always have more brackets than the limit


class DocumentProblem(Exception):
    """The document as a whole is unusable; ``expression`` locates the problem when it
    lies inside (a repeated key), else ``None``."""

    def __init__(self, message: str, code: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.expression = expression


def parse_document(raw: bytes, max_bytes: int, max_depth: int) -> object:
    if len(raw) > max_bytes:
        size = raw.size if isinstance(raw, Cut) else len(raw)  # a Cut: only its head was read
        raise DocumentProblem(
            f"the document is {size} bytes, over the {max_bytes}-byte limit", "too-long"
        )
    if raw.startswith(_BOM):  # RFC 8259 §8.1: a parser may ignore a byte order mark
        raw = raw[3:]
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise _not_json(raw, e, max_depth) from None
    if too_deep(doc, raw, max_depth):
        raise DocumentProblem(f"JSON nested deeper than {max_depth} levels", "too-costly")
    _check_keys(raw, doc)
    return doc


def _check_keys(raw: bytes, doc: object) -> None:
    """A :class:`DocumentProblem` if a key repeats: orjson's compact serialization of the
    parsed ``doc`` equal to ``raw`` proves there is none (a compact producer's document,
    ~0.1 µs to compare); else :mod:`schemas.inbound.dupkeys` decides."""
    try:
        dumped: bytes | None = orjson.dumps(doc)
    except orjson.JSONEncodeError:  # orjson writes at most ~255 levels and 64-bit integers
        dumped = None
    if dumped == raw or not may_repeat_keys(raw, dumped):
        return
    found = repeated_key(raw)
    if found is None:
        return
    where, key = found
    why = "JSON keys must be unique: readers disagree on which value counts"
    raise DocumentProblem(f"{where}: duplicate JSON key {show(key)} ({why})", "structure", where)


def _not_json(raw: bytes, error: orjson.JSONDecodeError, max_depth: int) -> DocumentProblem:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return DocumentProblem(f"not UTF-8: invalid byte at offset {u.start}", "structure")
    if "depth limit" in error.msg or "recursion" in error.msg:
        return DocumentProblem(f"JSON nested deeper than {max_depth} levels", "too-costly")
    return DocumentProblem(f"not JSON: {error.msg} at offset {error.pos}", "structure")


def too_deep(doc: object, raw: bytes, max_depth: int) -> bool:
    """Whether the parsed ``doc`` (from ``raw``) nests containers more than ``max_depth``."""
    if len(raw) <= _COUNT_BELOW and raw.count(b"{") + raw.count(b"[") <= max_depth:
        return False  # nesting never exceeds the number of brackets
    try:
        text = b"\n" + orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:  # orjson serializes at most ~255 levels
        return _deeper_than(doc, max_depth)
    if b"\n" + b"  " * (max_depth + 1) in text:
        return True
    return b"\n" + b"  " * max_depth in text and _empty_at(max_depth).search(text) is not None


@lru_cache(maxsize=8)
def _empty_at(depth: int) -> re.Pattern[bytes]:
    """An empty container as a member of a container ``depth`` deep (indented text)."""
    key = rb'(?:"(?:[^"\\]|\\.)*": )?'
    return re.compile(rb"\n" + b"  " * depth + rb"(?! )" + key + rb"(?:\{\}|\[\])")


def _deeper_than(doc: object, max_depth: int) -> bool:
    """Iterative walk for documents too deep for orjson to re-serialize (rare)."""
    stack: list[tuple[Any, int]] = [(doc, 1)] if isinstance(doc, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
