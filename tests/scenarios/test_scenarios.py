"""Every scenario (public and our own) through embedded replay: final outputs, dead-letter
count, byte-identical output on a second run, and FHIR R4 validity of every output."""

from __future__ import annotations

from pathlib import Path

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from agents.cli import main
from tests.scenarios.compare import DATA, expected_of, final_states, problems, scenario_names

OWN = Path(__file__).parent / "own"
CASES = [(DATA, n) for n in scenario_names(DATA)] + [(OWN, n) for n in scenario_names(OWN)]


def run_replay(
    src: Path, until: str | None, tmp: Path, tag: str, extra: list[str] | None = None
) -> tuple[bytes, int]:
    out, dlq = tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
    if until:
        argv += ["--until", until]
    assert main(argv + (extra or [])) == 0
    n_dead = sum(1 for ln in dlq.read_bytes().splitlines() if ln.strip())
    return out.read_bytes(), n_dead


@pytest.mark.parametrize(("directory", "name"), CASES, ids=[n for _, n in CASES])
def test_scenario(directory: Path, name: str, tmp_path: Path) -> None:
    exp = expected_of(name, directory)
    rules = directory / f"{name}.rules.toml"
    extra = ["--rules", str(rules)] if rules.exists() else []
    src = directory / f"{name}.ndjson"
    out, n_dead = run_replay(src, exp.get("until"), tmp_path, "a", extra)
    assert problems(exp, out.splitlines(), n_dead) == []
    again, _ = run_replay(src, exp.get("until"), tmp_path, "b", extra)
    assert again == out, "replay is not byte-identical between two runs"
    for (rt, _), doc in final_states(out.splitlines()).items():
        {"Task": Task, "ServiceRequest": ServiceRequest}[rt].model_validate(doc)
