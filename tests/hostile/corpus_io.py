"""Loading the hostile corpus and building the replay streams the tests compare.

Sources: the hand-written files in ``data/`` (committed) and the groups written by
``make_corpus`` (generated per session, not committed: they hold documents over 1 MiB).
Each source is NDJSON plus an ``.expected.json`` sidecar with one entry per line
(``null`` for a valid line). The *mixed* stream interleaves every source with the valid
documents of the public scenarios (all but 09, the broken one), keeping each source's
own order; the *valid* stream is the same without the invalid lines.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agents.cli import main

HERE = Path(__file__).parent
DATA = HERE / "data"
SCENARIOS = HERE.parent / "scenarios" / "data"
UNTIL = "2026-12-31T00:00:00Z"


@dataclass(frozen=True)
class Source:
    name: str
    lines: list[bytes]
    expected: list[dict[str, Any] | None]

    @property
    def invalid(self) -> int:
        return sum(e is not None for e in self.expected)


def load(directory: Path) -> list[Source]:
    sources = []
    for path in sorted(directory.glob("*.ndjson")):
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b"", f"{path} must end with a newline"
        expected = orjson.loads(
            path.with_name(path.name[: -len(".ndjson")] + ".expected.json").read_bytes()
        )
        assert len(expected) == len(lines) - 1, f"{path}: one expectation per line"
        sources.append(Source(path.stem, lines[:-1], expected))
    return sources


def scenario_source() -> Source:
    lines = [
        ln
        for path in sorted(SCENARIOS.glob("*.ndjson"))
        if not path.name.startswith("09-")
        for ln in path.read_bytes().splitlines()
        if ln.strip()
    ]
    return Source("scenarios", lines, [None] * len(lines))


@dataclass(frozen=True)
class Stream:
    lines: list[bytes]
    expected: list[dict[str, Any] | None]

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(ln + b"\n" for ln in self.lines))
        return path

    @property
    def invalid(self) -> int:
        return sum(e is not None for e in self.expected)


def interleave(sources: list[Source]) -> Stream:
    """Every line of every source, each source in its own order, spread evenly."""
    keyed = [
        ((i + 0.5) / len(src.lines), s, i)
        for s, src in enumerate(sources)
        for i in range(len(src.lines))
    ]
    keyed.sort()
    return Stream(
        [sources[s].lines[i] for _, s, i in keyed],
        [sources[s].expected[i] for _, s, i in keyed],
    )


def valid_only(stream: Stream) -> Stream:
    kept = [(ln, e) for ln, e in zip(stream.lines, stream.expected, strict=True) if e is None]
    return Stream([ln for ln, _ in kept], [None] * len(kept))


def problems(expected: dict[str, Any] | None, records: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the dead-letter records one input line produced."""
    if expected is None:
        return [
            f"valid line dead-lettered: {r['error']['issue'][0]['diagnostics']}" for r in records
        ]
    case = expected["case"]
    if len(records) != 1:
        return [f"{case}: {len(records)} dead letters, expected exactly one"]
    issue = records[0]["error"]["issue"]
    found: list[str] = []
    if records[0]["error"]["resourceType"] != "OperationOutcome" or len(issue) != 1:
        found.append(f"{case}: the error is not an OperationOutcome with one issue")
    diagnostics, where = issue[0]["diagnostics"], expected["expression"]
    if where is not None and (
        issue[0].get("expression") != [where] or not diagnostics.startswith(f"{where}: ")
    ):
        found.append(f"{case}: expected the field {where}, got {diagnostics[:200]!r}")
    if where is None and "expression" in issue[0]:
        found.append(f"{case}: a document-level problem names a field: {diagnostics[:200]!r}")
    if expected["problem"] not in diagnostics:
        found.append(f"{case}: {expected['problem']!r} not in {diagnostics[:200]!r}")
    if len(diagnostics) > 400:
        found.append(f"{case}: diagnostics of {len(diagnostics)} characters")
    return found


@dataclass(frozen=True)
class Replayed:
    out: bytes
    dead: list[dict[str, Any]]
    summary: str


def replay(stream: Stream, tmp: Path, tag: str, until: str = UNTIL) -> Replayed:
    """``carepath replay`` (embedded) of ``stream`` with ``--until``: outputs, dead-letter
    records, and the summary line it prints on standard error."""
    src, out, dlq = tmp / f"{tag}.ndjson", tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    stream.write(src)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
        assert main([*argv, "--until", until]) == 0
    dead = [orjson.loads(ln) for ln in dlq.read_bytes().splitlines()]
    return Replayed(out.read_bytes(), dead, err.getvalue())
