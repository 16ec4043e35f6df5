"""The public scenario format (scenarios/README.md), as ``shared/tools/check_scenarios.py``
runs it: ``NAME.ndjson`` with ``NAME.expected.json`` (``until``, ``tasks``, ``referrals``,
``dead_letters``, optional ``source``), an optional ``NAME.rules.toml``, and case managers'
update lines (:mod:`agents.testing.inputs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agents.testing.compare import Json, match, side_by_side
from agents.testing.result import ReplayResult

EXPECTED = ".expected.json"


@dataclass(frozen=True)
class Scenario:
    directory: Path
    name: str

    @property
    def ndjson(self) -> Path:
        return self.directory / f"{self.name}.ndjson"

    @property
    def expected_path(self) -> Path:
        return self.directory / f"{self.name}{EXPECTED}"

    @cached_property
    def expected(self) -> Json:
        data: Json = json.loads(self.expected_path.read_text(encoding="utf-8"))
        return data

    @property
    def until(self) -> str | None:
        until: str | None = self.expected.get("until")
        return until

    @property
    def rules(self) -> Path | None:
        path = self.directory / f"{self.name}.rules.toml"
        return path if path.exists() else None

    @property
    def source(self) -> str | None:
        source: str | None = self.expected.get("source")
        return source

    def rules_args(self) -> list[str]:
        """``carepath replay`` arguments for the rules file."""
        return ["--rules", str(self.rules)] if self.rules else []

    def source_args(self) -> list[str]:
        """``carepath replay`` arguments for the source."""
        return ["--source", self.source] if self.source is not None else []


def is_scenario(path: Path) -> bool:
    """``NAME.ndjson`` with a ``NAME.expected.json`` beside it."""
    return path.suffix == ".ndjson" and path.with_name(path.stem + EXPECTED).is_file()


def scenario_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.ndjson") if is_scenario(p))


def scenarios(directory: Path) -> list[Scenario]:
    return [Scenario(directory, name) for name in scenario_names(directory)]


def problems(expected: Json, summary: Json) -> list[str]:
    """One line per difference between ``expected`` and a replay's ``summary()`` (empty:
    the scenario passes)."""
    found: list[str] = []
    for kind, key in (("task", "tasks"), ("referral", "referrals")):
        missing, extra = match(expected[key], summary[key])
        found += [f"missing {kind} {m}" for m in missing]
        found += [f"unexpected {kind} {x}" for x in extra]
    n_dead, want = summary["dead_letters"], expected["dead_letters"]
    if n_dead != want:
        found.append(f"dead letters {n_dead}, expected {want}")
    return found


def report(name: str, expected: Json, result: ReplayResult) -> str:
    """Expected and actual multisets side by side, missing and extra entries marked."""
    summary = result.summary()
    lines = [f"scenario {name}: the outputs differ from {name}{EXPECTED}"]
    lines += side_by_side("tasks", expected["tasks"], summary["tasks"])
    lines += side_by_side("referrals", expected["referrals"], summary["referrals"])
    n_dead, want = summary["dead_letters"], expected["dead_letters"]
    mark = "" if n_dead == want else "  MISMATCH"
    lines.append(f"dead letters: {want} expected, {n_dead} actual{mark}")
    for d in result.dead_letters if n_dead != want else []:
        lines.append(f"  {_where(d.source)}: {d.reason}")
    return "\n".join(lines)


def _where(source: dict[str, object]) -> str:
    if "file" in source:
        return f"{Path(str(source['file'])).name}:{source.get('line')}"
    if "document" in source:
        return f"document {source['document']}"
    return f"{source.get('topic')}[{source.get('partition')}]@{source.get('offset')}"


class ScenarioMismatch(AssertionError):
    """A scenario whose outputs differ from its expected.json; ``str()`` is the report."""


def run_scenario(scn: Scenario) -> ReplayResult:
    """Replay a scenario embedded, as the shared checker would."""
    from agents.testing.run import replay

    return replay(scn.ndjson, until=scn.until, rules=scn.rules, source=scn.source)


def check_scenario(scn: Scenario) -> ReplayResult:
    """Run a scenario; :class:`ScenarioMismatch` with the side-by-side report if it fails."""
    result = run_scenario(scn)
    if problems(scn.expected, result.summary()):
        raise ScenarioMismatch(report(scn.name, scn.expected, result))
    return result


def resolve_updates(scn: Scenario, tmp: Path) -> Path:
    """The scenario's input with every task-update line resolved, written under ``tmp`` (the
    file itself when it has none), for tools that read files (``carepath replay``)."""
    from agents.settings import Settings
    from agents.testing.inputs import lines_of
    from agents.testing.run import resolved_lines, rules_config

    lines = lines_of(scn.ndjson)
    resolved = resolved_lines(lines, rules_config(scn.rules), scn.source, Settings())
    if resolved is lines:
        return scn.ndjson
    out = tmp / f"{scn.name}.resolved.ndjson"
    out.write_bytes(b"".join(ln.raw + b"\n" for ln in resolved))
    return out
