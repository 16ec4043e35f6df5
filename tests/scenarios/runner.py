"""Running a scenario the way ``shared/tools/check_scenarios.py`` does, for the embedded
(tests/scenarios) and the Kafka (tests/integration) tests alike.

- ``NAME.rules.toml`` next to a scenario is passed as ``--rules``; ``source`` in
  ``NAME.expected.json`` as ``--source`` (contract §2: as if every document came with that
  ``carepath-source`` header).
- A line ``{"carepath-scenario-task-update": {"patient", "code", "status", "lastModified",
  "nth"?, "owner"?, "note"?}}`` stands for a case manager's update of a Task whose id only the
  replay knows. It is resolved by an embedded replay of the lines before it (earlier update
  lines already resolved) with ``--until`` = its ``lastModified``: of that patient's Tasks with
  that care-task code (or ``fulfill``), in emission order, the ``nth`` (default -1, the latest)
  is put back on the line with the new ``status`` and ``lastModified`` (``owner`` and ``note``
  when given, ``statusReason`` dropped), keeping ``for.identifier`` so the update is routed by
  the patient key. Resolution is always embedded: ids are the same in both modes, and a broker
  replay of the prefix would move the worker's patient clocks before the real run.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agents.cli import main
from tests.scenarios.compare import DATA, Json, final_states, patient, scenario_names, task_code

OWN = Path(__file__).parent / "own"
UPDATE = "carepath-scenario-task-update"
UPDATE_KEYS = {"patient", "code", "status", "lastModified"}


@dataclass(frozen=True)
class Scenario:
    directory: Path
    name: str

    @property
    def ndjson(self) -> Path:
        return self.directory / f"{self.name}.ndjson"

    @cached_property
    def expected(self) -> Json:
        data: Json = json.loads((self.directory / f"{self.name}.expected.json").read_text())
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
        return ["--rules", str(self.rules)] if self.rules else []

    def source_args(self) -> list[str]:
        return ["--source", self.source] if self.source is not None else []


def scenarios(directory: Path) -> list[Scenario]:
    return [Scenario(directory, name) for name in scenario_names(directory)]


CASES = scenarios(DATA) + scenarios(OWN)


def run_replay(
    src: Path, until: str | None, tmp: Path, tag: str, extra: list[str] | None = None
) -> tuple[bytes, int]:
    """Embedded ``carepath replay``: (output bytes, number of dead letters)."""
    out, dlq = tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
    if until:
        argv += ["--until", until]
    assert main(argv + (extra or [])) == 0, f"replay of {src.name} failed"
    n_dead = sum(1 for ln in dlq.read_bytes().splitlines() if ln.strip()) if dlq.exists() else 0
    return out.read_bytes(), n_dead


def update_spec(line: bytes) -> Json | None:
    """The update an input line stands for, or None for an ordinary line."""
    if UPDATE.encode() not in line:
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict) or UPDATE not in doc:
        return None
    spec: Json = doc[UPDATE]
    missing = UPDATE_KEYS - set(spec)
    if missing:
        raise ValueError(f"{UPDATE} without {sorted(missing)}: {line!r}")
    return spec


def pick_task(out_lines: list[bytes], spec: Json) -> Json:
    """The patient's Task with that code (in emission order, the ``nth``) from replay output."""
    found = [
        doc
        for (rt, _), doc in final_states(out_lines).items()
        if rt == "Task"
        and patient(doc.get("for")) == spec["patient"]
        and task_code(doc) == spec["code"]
    ]
    if not found:
        raise LookupError(f"no {spec['code']} Task for {spec['patient']} to update")
    nth: int = spec.get("nth", -1)
    try:
        return found[nth]
    except IndexError:
        raise LookupError(f"no {spec['code']} Task number {nth} for {spec['patient']}") from None


def updated_task(task: Json, spec: Json) -> Json:
    """The case manager's version of ``task`` (``for`` and its identifier kept)."""
    upd = copy.deepcopy(task)
    upd.pop("statusReason", None)
    upd["status"], upd["lastModified"] = spec["status"], spec["lastModified"]
    if spec.get("owner"):
        upd["owner"] = {"display": spec["owner"]}
    if spec.get("note"):
        upd["note"] = [{"text": spec["note"]}]
    return upd


def resolve_updates(scn: Scenario, tmp: Path) -> Path:
    """The scenario's input with every task-update line resolved (the file itself when it has
    none)."""
    lines = scn.ndjson.read_bytes().split(b"\n")
    todo = [(i, spec) for i, ln in enumerate(lines) if (spec := update_spec(ln)) is not None]
    if not todo:
        return scn.ndjson
    extra = scn.rules_args() + scn.source_args()
    for i, spec in todo:
        prefix = tmp / f"{scn.name}.upto{i}.ndjson"
        prefix.write_bytes(b"\n".join(lines[:i]) + b"\n")
        out, _ = run_replay(prefix, spec["lastModified"], tmp, f"{scn.name}.upto{i}", extra)
        try:
            task = pick_task(out.splitlines(), spec)
        except LookupError as e:
            raise AssertionError(f"{scn.name}: task update on line {i + 1}: {e}") from None
        lines[i] = json.dumps(updated_task(task, spec), separators=(",", ":")).encode()
    resolved = tmp / f"{scn.name}.resolved.ndjson"
    resolved.write_bytes(b"\n".join(lines))
    return resolved
