"""Loading the hostile corpus and building the replay streams the tests compare.

Sources: the hand-written files in ``data/`` (committed) and the groups written by
``make_corpus`` (generated per session, not committed: they hold documents over 1 MiB).
Each source is NDJSON plus an ``.expected.json`` sidecar with one entry per line (``null``
for a valid line; for an invalid one its dead letter, plus ``also`` for each further one
when the document holds several resources that are each invalid). The *mixed* stream
interleaves every source with the valid documents of the public scenarios (all but 09, the
broken one; their task-update lines resolved to the case manager's Task as the scenario
harness does), keeping each source's own order; the *valid* stream is the same without the
invalid lines.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agents.cli import main
from tests.scenarios.runner import resolve_updates, scenarios, update_spec

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

    @property
    def dead_letters(self) -> int:
        return dead_letters(self.expected)


def dead_letters(expected: list[dict[str, Any] | None]) -> int:
    """The number of dead-letter records the lines of ``expected`` must give."""
    return sum(1 + len(e.get("also", [])) for e in expected if e is not None)


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


def scenario_source(tmp: Path) -> Source:
    """The public scenarios' documents, task-update lines resolved (``tmp``: work files)."""
    chosen = [s for s in scenarios(SCENARIOS) if not s.name.startswith("09-")]
    assert all(s.rules is None and s.source is None for s in chosen), "default settings only"
    lines = [
        ln
        for scn in chosen
        for ln in resolve_updates(scn, tmp).read_bytes().splitlines()
        if ln.strip()
    ]
    assert not any(update_spec(ln) for ln in lines)
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

    @property
    def dead_letters(self) -> int:
        return dead_letters(self.expected)


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
    wanted = [expected, *expected.get("also", [])]
    if len(records) != len(wanted):
        return [f"{case}: {len(records)} dead letters, expected {len(wanted)}"]
    # paired by field, not by order: a worker's dead letters of one document may come back
    # from several partitions of the dead-letter topic
    wanted = sorted(wanted, key=lambda w: w["expression"] or "")
    records = sorted(records, key=lambda r: r["error"]["issue"][0].get("expression", [""])[0])
    return [p for want, rec in zip(wanted, records, strict=True) for p in _record(case, want, rec)]


def _record(case: str, expected: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """What is wrong with one dead-letter record, against one expected issue."""
    issue = record["error"]["issue"]
    found: list[str] = []
    if record["error"]["resourceType"] != "OperationOutcome" or len(issue) != 1:
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


def replay(
    stream: Stream, tmp: Path, tag: str, until: str = UNTIL, extra: tuple[str, ...] = ()
) -> Replayed:
    """``carepath replay`` (embedded) of ``stream`` with ``--until`` (and ``extra``
    arguments): outputs, dead-letter records, and the summary line it prints on standard
    error."""
    src, out, dlq = tmp / f"{tag}.ndjson", tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    stream.write(src)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
        assert main([*argv, "--until", until, *extra]) == 0
    dead = [orjson.loads(ln) for ln in dlq.read_bytes().splitlines()]
    return Replayed(out.read_bytes(), dead, err.getvalue())
