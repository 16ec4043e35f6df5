"""The scenario harness itself (no pipeline run): every scenario file is well formed, and
case-manager update lines resolve as ``shared/tools/check_scenarios.py`` resolves them."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from agents.testing.inputs import Line, lines_of, resolve
from tests.scenarios import runner
from tests.scenarios.compare import DATA, Json, final_states, patient, summarize
from tests.scenarios.runner import (
    CASES,
    OWN,
    Scenario,
    pick_task,
    resolve_updates,
    update_spec,
    updated_task,
)

BASE = "http://carepath.example.org/fhir"
FULFILL = {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]}


def _care(code: str) -> Json:
    return {"coding": [{"system": f"{BASE}/CodeSystem/care-task", "code": code}]}


def _for(pid: str, key: str | None = None) -> Json:
    ref: Json = {"reference": f"Patient/{pid}"}
    if key is not None:
        ref["identifier"] = {"system": f"{BASE}/patient-key", "value": key}
    return ref


def _task(tid: str, code: Json, pid: str, status: str = "requested", **kw: object) -> Json:
    return {
        "resourceType": "Task",
        "id": tid,
        "status": status,
        "intent": "order",
        "code": code,
        "for": _for(pid, kw.pop("key", None)),
        **kw,
    }


def _lines(*docs: Json) -> list[bytes]:
    return [json.dumps(d).encode() for d in docs]


@pytest.mark.parametrize("scn", CASES, ids=[s.name for s in CASES])
def test_scenario_files_are_well_formed(scn: Scenario) -> None:
    exp = scn.expected
    assert {"until", "tasks", "referrals", "dead_letters", "note"} <= set(exp)
    assert set(exp) <= {"until", "tasks", "referrals", "dead_letters", "note", "source"}
    if exp["until"] is not None:
        assert datetime.fromisoformat(exp["until"]).tzinfo is not None
    for t in exp["tasks"]:
        assert (
            {"patient", "code", "status"}
            <= set(t)
            <= {"patient", "code", "status", "priority", "target"}
        )
        assert ("target" in t) == (t["code"] == "fulfill"), t
    for r in exp["referrals"]:
        assert set(r) <= {"patient", "level", "direction", "status"} and "level" in r
        assert r.get("direction") in (None, "step-up", "step-down")
    assert isinstance(exp["dead_letters"], int)
    if scn.rules:
        tomllib.loads(scn.rules.read_text())
    for n, ln in enumerate(scn.ndjson.read_bytes().splitlines(), 1):
        spec = update_spec(ln)
        if spec is not None:
            assert datetime.fromisoformat(spec["lastModified"]).tzinfo is not None, n
            assert set(spec) <= runner.UPDATE_KEYS | {"nth", "owner", "note"}, n


def test_corpora_present() -> None:
    assert len([s for s in CASES if s.directory == DATA]) == 18
    assert len([s for s in CASES if s.directory == OWN]) >= 15


def test_patient_is_the_key_with_a_source_else_the_reference_id() -> None:
    assert patient(_for("1001", "https://a.example.org/fhir|1001")) == (
        "https://a.example.org/fhir|1001"
    )
    assert patient(_for("1001", "1001")) == "1001"
    assert patient(_for("1001", "|1001")) == "1001"
    assert patient(_for("1001")) == "1001"


def test_update_spec_only_for_update_lines() -> None:
    assert update_spec(b'{"resourceType":"Patient","id":"p"}') is None
    assert update_spec(b"not json carepath-scenario-task-update") is None
    line = b'{"carepath-scenario-task-update":{"patient":"p","code":"fulfill","status":"accepted"}}'
    with pytest.raises(ValueError, match="lastModified"):
        update_spec(line)


def test_pick_task_by_patient_key_code_and_nth() -> None:
    out = (
        _task("t1", FULFILL, "p", key="src|p"),
        _task("t2", _care("follow-up-7d"), "p", key="src|p"),
        _task("t3", FULFILL, "p", key="other|p"),
        _task("t4", FULFILL, "p", key="src|p"),
        _task("t1", FULFILL, "p", "cancelled", key="src|p"),  # t1 keeps its place
    )
    spec: Json = {"patient": "src|p", "code": "fulfill", "status": "accepted"}
    assert pick_task(out, spec)["id"] == "t4"
    first = pick_task(out, {**spec, "nth": 0})
    assert (first["id"], first["status"]) == ("t1", "cancelled")
    assert pick_task(out, {**spec, "code": "follow-up-7d"})["id"] == "t2"
    with pytest.raises(LookupError):
        pick_task(out, {**spec, "patient": "p"})
    with pytest.raises(LookupError):
        pick_task(out, {**spec, "nth": 5})


def test_updated_task_keeps_the_key_and_sets_owner_and_note() -> None:
    task = _task(
        "t1",
        FULFILL,
        "p",
        key="src|p",
        statusReason={"text": "x"},
        lastModified="2026-01-01T00:00:00Z",
    )
    spec: Json = {
        "patient": "src|p",
        "code": "fulfill",
        "status": "accepted",
        "lastModified": "2026-01-02T09:00:00Z",
        "owner": "Dr A",
        "note": "called",
    }
    upd = updated_task(task, spec)
    assert upd["for"] == task["for"] and "statusReason" not in upd
    assert (upd["status"], upd["lastModified"]) == ("accepted", "2026-01-02T09:00:00Z")
    assert upd["owner"] == {"display": "Dr A"} and upd["note"] == [{"text": "called"}]
    assert task["status"] == "requested" and "statusReason" in task  # not mutated
    bare = updated_task(task, {**spec, "owner": None, "note": None})
    assert "owner" not in bare and "note" not in bare


def test_resolve_replays_each_prefix_until_the_update_time(tmp_path: Path) -> None:
    upd = (
        '{"carepath-scenario-task-update":{"patient":"p","code":"fulfill","status":"%s",'
        '"lastModified":"%s"}}'
    )
    (tmp_path / "x.ndjson").write_text(
        "\n".join(
            [
                '{"a":1}',
                upd % ("accepted", "2026-01-02T00:00:00Z"),
                "",
                '{"b":2}',
                upd % ("completed", "2026-01-03T00:00:00Z"),
                "",
            ]
        )
    )
    calls: list[tuple[list[bytes], str]] = []

    def fake(lines: list[Line], until: str) -> list[Json]:
        calls.append(([ln.raw for ln in lines], until))
        status = "requested" if len(calls) == 1 else "accepted"
        return [_task("t1", FULFILL, "p", status)]

    lines = resolve(lines_of(tmp_path / "x.ndjson"), fake)
    assert [c[1] for c in calls] == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
    assert calls[0][0] == [b'{"a":1}']
    assert calls[1][0][0] == b'{"a":1}' and json.loads(calls[1][0][1])["status"] == "accepted"
    assert json.loads(lines[1].raw)["status"] == "accepted"
    second = json.loads(lines[3].raw)
    assert (second["id"], second["status"], second["lastModified"]) == (
        "t1",
        "completed",
        "2026-01-03T00:00:00Z",
    )
    assert [ln.where["line"] for ln in lines] == [1, 2, 4, 5]  # blank lines skipped
    assert lines[0].raw == b'{"a":1}' and lines[2].raw == b'{"b":2}'


def test_resolve_with_the_source_of_the_scenario(tmp_path: Path) -> None:
    """The prefix replay keys patients with the scenario's source, so the update finds the
    Task of ``<source>|<id>``, and the resolved Task carries that key for routing."""
    key = "https://a.example.org|s01"
    expected = {"until": None, "tasks": [], "referrals": [], "dead_letters": 0, "note": ""}
    (tmp_path / "y.expected.json").write_text(json.dumps({**expected, "source": key[:-4]}))
    stay = next(s for s in CASES if s.name.startswith("01-")).ndjson.read_text().splitlines()
    spec = {"patient": key, "code": "follow-up-7d", "status": "completed"}
    update = {runner.UPDATE: {**spec, "lastModified": "2026-03-09T10:00:00Z"}}
    (tmp_path / "y.ndjson").write_text("\n".join([*stay[:3], json.dumps(update)]) + "\n")
    resolved = resolve_updates(Scenario(tmp_path, "y"), tmp_path)
    last = json.loads(resolved.read_bytes().splitlines()[-1])
    assert (last["resourceType"], last["status"]) == ("Task", "completed")
    assert last["for"]["identifier"]["value"] == key


def test_resolve_without_updates_is_the_file_itself(tmp_path: Path) -> None:
    scn = next(s for s in CASES if s.name.startswith("01-"))
    assert resolve_updates(scn, tmp_path) == scn.ndjson


def test_summary_names_referral_target() -> None:
    sr = {
        "resourceType": "ServiceRequest",
        "id": "sr1",
        "status": "active",
        "code": {"coding": [{"system": f"{BASE}/CodeSystem/level-of-care", "code": "iop"}]},
        "category": [
            {"coding": [{"system": f"{BASE}/CodeSystem/transition", "code": "step-down"}]}
        ],
        "subject": _for("p"),
    }
    task = _task("t1", FULFILL, "p", focus={"reference": "ServiceRequest/sr1"})
    tasks, srs = summarize(final_states(_lines(sr, task)))
    assert tasks[0]["code"] == "fulfill" and tasks[0]["target"] == "iop"
    assert srs == [{"patient": "p", "level": "iop", "direction": "step-down", "status": "active"}]
