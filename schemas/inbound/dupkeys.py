"""Duplicate JSON keys (issue 11): invalid input, found cheaply.

orjson, like most parsers, silently keeps the last value of a repeated key, so
``{"subject": {"reference": "Patient/a"}, "subject": {"reference": "Patient/b"}}`` would be
read as patient b while another reader sees patient a. RFC 8259 §4 leaves such a document's
meaning to the implementation, so the pipeline refuses it.

The cheap test compares colon counts. Outside strings a ``:`` only ever separates a key
from its value; inside strings orjson writes a ``:`` as it is, so its re-serialization of
the parsed document has as many colons as the input — unless a key was repeated (its
dropped pair takes at least its own separator along), or the input escaped a colon as
``\\u003a``, which the output writes plainly. So equal counts and no ``\\u003`` escape
prove that no key repeats; anything else takes the exact test: the stdlib parser with an
``object_pairs_hook`` that marks the object holding a repeated key, then a walk to name
it. Whitespace, pretty-printing and other escapes change no colon count. The parser
(:mod:`schemas.inbound.parse`) first tries the cheapest proof: the compact
re-serialization equal to the input.
"""

from __future__ import annotations

import json
import re
from typing import Any

from schemas.inbound.problem import show

_COLON_ESCAPE = b"\\u003"  # ``\u003a``/``\u003A`` (and the rare escaped digits)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


def may_repeat_keys(raw: bytes, dumped: bytes | None) -> bool:
    """Whether ``raw`` may hold a repeated key; ``dumped`` is orjson's serialization of its
    parsed value (``None`` when orjson could not write it). ``False`` is certain: the
    document has no repeated key."""
    if dumped is None:
        return True
    return raw.count(b":") != dumped.count(b":") or _COLON_ESCAPE in raw


class _Repeated(dict[str, Any]):
    """An object that had ``key`` more than once (its last value kept, like orjson)."""

    key: str


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    marked = _Repeated(obj)
    for key, _ in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


def repeated_key(raw: bytes) -> tuple[str, str] | None:
    """(location, key) of the first object in document order that repeats a key, the
    location FHIRPath-like from the document's ``resourceType`` (``Bundle.entry[2].resource
    .subject``; ``$`` when the top level is no resource); ``None`` if no key repeats (or
    the stdlib parser cannot read what orjson did: the two accept the same JSON)."""
    try:
        doc = json.loads(raw, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return None
    rtype = doc.get("resourceType") if isinstance(doc, dict) else None
    root = rtype if isinstance(rtype, str) and _TYPE.fullmatch(rtype) else "$"
    stack: list[tuple[Any, str]] = [(doc, root)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, _Repeated):
            return where, value.key
        if isinstance(value, dict):
            items = [(v, _member(where, k)) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(v, f"{where}[{i}]") for i, v in enumerate(value)]
        else:
            continue
        stack.extend(reversed([(v, w) for v, w in items if isinstance(v, dict | list)]))
    return None


def _member(where: str, key: str) -> str:
    return f"{where}.{key}" if _NAME.fullmatch(key) else f"{where}[{show(key)}]"
