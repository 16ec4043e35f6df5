"""Every scenario (public and our own) through embedded replay, as
``shared/tools/check_scenarios.py --determinism --fhir`` runs it (rules file, source and
case-manager update lines: ``tests.scenarios.runner``): final outputs, dead-letter count,
byte-identical output on a second run, and FHIR R4 validity of every output line (each
published version, not only the final states)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from tests.scenarios.compare import problems
from tests.scenarios.runner import CASES, Scenario, resolve_updates, run_replay


@pytest.mark.parametrize("scn", CASES, ids=[s.name for s in CASES])
def test_scenario(scn: Scenario, tmp_path: Path) -> None:
    src = resolve_updates(scn, tmp_path)
    extra = scn.rules_args() + scn.source_args()
    out, n_dead = run_replay(src, scn.until, tmp_path, "a", extra)
    found = problems(scn.expected, out.splitlines(), n_dead)
    assert not found, "\n".join(found)
    again, _ = run_replay(src, scn.until, tmp_path, "b", extra)
    assert again == out, "replay is not byte-identical between two runs"
    models = {"Task": Task, "ServiceRequest": ServiceRequest}
    for ln in out.splitlines():
        if ln.strip():
            doc = json.loads(ln)
            models[doc["resourceType"]].model_validate(doc)
