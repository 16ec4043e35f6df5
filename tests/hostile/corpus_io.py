"""Loading the hostile corpus and building the replay streams the tests compare.

Sources: the hand-written files in ``data/`` (committed) and the groups written by
``make_corpus`` (generated per session, not committed: they hold documents over 1 MiB).
Each source is NDJSON plus an ``.expected.json`` sidecar with one entry per line (``null``
for a valid line; for an invalid one the issue its one dead letter names, plus ``also`` for
each further issue when the document holds several resources that are each invalid, and
``issues`` when it has more problems than a record lists: the record then lists the first
100, the first as expected, and counts the rest). The *mixed* stream
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
    """The number of dead-letter records the lines of ``expected`` must give: one per
    invalid document, whatever its number of problems (issue 11)."""
    return sum(e is not None for e in expected)


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


#: Issues a record lists before it counts the rest (schemas.deadletter.MAX_ISSUES).
LISTED = 100


def problems(expected: dict[str, Any] | None, records: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the dead-letter records one input line produced: an invalid
    document has exactly one, whose issues are the expected ones (paired by field, not by
    order: the stages of a worker may find them in another order)."""
    if expected is None:
        return [
            f"valid line dead-lettered: {r['error']['issue'][0]['diagnostics']}" for r in records
        ]
    case = expected["case"]
    if len(records) != 1:
        return [f"{case}: {len(records)} dead letters, expected one for the document"]
    record = records[0]
    if record["error"]["resourceType"] != "OperationOutcome":
        return [f"{case}: the error is not an OperationOutcome"]
    issues = record["error"]["issue"]
    listed = [i for i in issues if i["severity"] == "error"]
    wanted = [expected, *expected.get("also", [])]
    total = expected.get("issues", len(wanted))
    found = _counted(case, issues, listed, total)
    if total > len(wanted):  # many alike: the first is checked, the rest counted
        return found + _issue(case, expected, listed[0])
    if len(listed) != len(wanted):
        return [*found, f"{case}: {len(listed)} issues, expected {len(wanted)}"]
    wanted = sorted(wanted, key=lambda w: w["expression"] or "")
    listed = sorted(listed, key=lambda i: i.get("expression", [""])[0])
    return found + [p for w, i in zip(wanted, listed, strict=True) for p in _issue(case, w, i)]


def _counted(
    case: str, issues: list[dict[str, Any]], listed: list[dict[str, Any]], total: int
) -> list[str]:
    """The record lists at most ``LISTED`` problems and counts the rest in a last issue."""
    if total <= LISTED:
        return [] if len(issues) == len(listed) else [f"{case}: an unexpected count issue"]
    last = issues[-1]
    more = f"and {total - LISTED} more problems"
    if len(listed) != LISTED or len(issues) != LISTED + 1 or more not in last["diagnostics"]:
        return [f"{case}: expected {LISTED} issues and {more!r}, got {len(issues)}"]
    return []


def _issue(case: str, expected: dict[str, Any], issue: dict[str, Any]) -> list[str]:
    """What is wrong with one issue of a record, against one expected issue."""
    found: list[str] = []
    diagnostics, where = issue["diagnostics"], expected["expression"]
    if where is not None and (
        issue.get("expression") != [where] or not diagnostics.startswith(f"{where}: ")
    ):
        found.append(f"{case}: expected the field {where}, got {diagnostics[:200]!r}")
    if where is None and "expression" in issue:
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
