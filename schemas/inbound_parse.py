"""Bytes → JSON value, with the document-level checks of contract §6.

Order: size limit, then orjson (which also checks UTF-8), then the depth limit. The depth
check is cheap for ordinary documents: nesting can never exceed the number of ``{``
and ``[`` bytes, so a document with at most ``max_depth`` of them needs nothing more.
Only larger documents get the exact check: strings are cut out and everything but
brackets deleted (both in C), then innermost ``{}``/``[]`` pairs are removed one layer
per pass; a document still non-empty after ``max_depth`` passes is too deep.
"""

from __future__ import annotations

import re

import orjson

_BOM = b"\xef\xbb\xbf"
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_LEAF_PAIRS = re.compile(rb"\{\}|\[\]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"{}[]")


class DocumentProblem(Exception):
    """The document as a whole is unusable (no location inside it)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def parse_document(raw: bytes, max_bytes: int, max_depth: int) -> object:
    if len(raw) > max_bytes:
        raise DocumentProblem(
            f"the document is {len(raw)} bytes, over the {max_bytes}-byte limit", "too-long"
        )
    if raw.startswith(_BOM):  # RFC 8259 §8.1: a parser may ignore a byte order mark
        raw = raw[3:]
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise _not_json(raw, e, max_depth) from None
    if too_deep(raw, max_depth):
        raise DocumentProblem(f"JSON nested deeper than {max_depth} levels", "too-costly")
    return doc


def _not_json(raw: bytes, error: orjson.JSONDecodeError, max_depth: int) -> DocumentProblem:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return DocumentProblem(f"not UTF-8: invalid byte at offset {u.start}", "structure")
    if "depth limit" in error.msg or "recursion" in error.msg:
        return DocumentProblem(f"JSON nested deeper than {max_depth} levels", "too-costly")
    return DocumentProblem(f"not JSON: {error.msg} at offset {error.pos}", "structure")


def too_deep(raw: bytes, max_depth: int) -> bool:
    """Whether valid JSON ``raw`` nests containers more than ``max_depth`` deep."""
    if raw.count(b"{") + raw.count(b"[") <= max_depth:
        return False
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        brackets = _LEAF_PAIRS.sub(b"", brackets)
        if not brackets:
            return False
    return True
