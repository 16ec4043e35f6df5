"""Every scenario (public and our own) beyond its expected outputs, which the carepath pytest
plugin checks as one test item per ``NAME.ndjson`` (``carepath_scenarios`` in pyproject.toml,
the harness integrators get): the plugin's in-process replay emits, line for line, what the
``carepath replay`` command writes; the command's output is byte-identical on a second run
(``check_scenarios.py --determinism``); every output line (each published version, not only
the final states) is valid FHIR R4 (``--fhir``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from agents.testing import ReplayResult
from tests.scenarios.runner import CASES, Scenario, resolve_updates, run_replay


@pytest.mark.parametrize("scn", CASES, ids=[s.name for s in CASES])
def test_scenario_replay_is_the_command_deterministic_and_fhir(
    scn: Scenario, tmp_path: Path, carepath_replay: Callable[..., ReplayResult]
) -> None:
    result = carepath_replay(scn.ndjson, until=scn.until, rules=scn.rules, source=scn.source)
    src = resolve_updates(scn, tmp_path)
    extra = scn.rules_args() + scn.source_args()
    out, n_dead = run_replay(src, scn.until, tmp_path, "a", extra)
    assert [orjson.dumps(d) for d in result.emitted] == out.splitlines()
    assert len(result.dead_letters) == n_dead
    again, _ = run_replay(src, scn.until, tmp_path, "b", extra)
    assert again == out, "replay is not byte-identical between two runs"
    models = {"Task": Task, "ServiceRequest": ServiceRequest}
    for doc in result.emitted:
        models[doc["resourceType"]].model_validate(doc)
