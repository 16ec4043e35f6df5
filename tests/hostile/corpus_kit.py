"""Helpers shared by the hostile case generators: paths, expectations, lines."""

from __future__ import annotations

import json
from typing import Any

import orjson

from tests.hostile.templates import Doc, template

Path = tuple[str | int, ...]
Expect = dict[str, Any]
Line = tuple[bytes, Expect | None]
DELETE = object()


def render(path: Path) -> str:
    """``("code", "coding", 0, "code")`` → ``code.coding[0].code``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def expression(doc: Doc, path: Path) -> str:
    root = str(doc["resourceType"])
    return f"{root}.{render(path)}" if path else root


def put(doc: Doc, path: Path, value: Any) -> Doc:
    """``doc`` with the member at ``path`` replaced (or removed, for :data:`DELETE`)."""
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def dump(doc: Doc) -> bytes:
    try:
        return orjson.dumps(doc)
    except TypeError:  # integers beyond 64 bits: valid JSON that orjson does not write
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def invalid(
    case: str,
    raw: bytes | Doc,
    where: str | None,
    problem: str,
    also: list[tuple[str, str]] | None = None,
) -> Line:
    """An invalid line: its dead letter names ``where`` and says ``problem``. ``also``:
    (where, problem) of each further dead letter, in order, when the document holds several
    resources that are each invalid on their own (a collection's entries, contract §2)."""
    data = raw if isinstance(raw, bytes) else dump(raw)
    expect: Expect = {"case": case, "expression": where, "problem": problem}
    if also:
        expect["also"] = [{"expression": w, "problem": p} for w, p in also]
    return data, expect


def changed(name: str, path: Path, value: Any) -> Doc:
    return put(template(name), path, value)


def valid(raw: bytes | Doc) -> Line:
    return (raw if isinstance(raw, bytes) else orjson.dumps(raw)), None
