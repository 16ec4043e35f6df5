"""The carepath pytest plugin as an integrator meets it: the ``carepath_replay`` fixture and
its result object, and (through ``pytester``, in a fresh directory) the scenario items of
``--carepath-scenarios`` and the ``carepath_scenarios`` ini setting, their failure report,
and the ``carepath_kafka`` marker."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.testing import ReplayResult, task_update
from tests.scenarios.compare import DATA

pytest_plugins = ["pytester"]

Replay = Callable[..., ReplayResult]
PATIENT = {"reference": "Patient/p1"}
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _stay(status: str, **period: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": status,
        "class": {"system": ACT, "code": "IMP"},
        "subject": PATIENT,
        "period": period,
        "reasonCode": [{"coding": [{"system": ICD, "code": "F33.2"}]}],
    }


def _phq9(score: int, when: str, oid: str = "phq9-1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": PATIENT,
        "effectiveDateTime": when,
        "valueInteger": score,
    }


ADMIT = _stay("in-progress", start="2026-03-01T08:00:00Z")
DISCHARGE = _stay("finished", start="2026-03-01T08:00:00Z", end="2026-03-08T15:00:00Z")
JOURNEY = [ADMIT, _phq9(14, "2026-03-07T10:00:00Z"), DISCHARGE]


def test_outputs_are_the_final_fhir_resources(carepath_replay: Replay) -> None:
    result = carepath_replay(JOURNEY, until="2026-03-20T00:00:00Z")
    assert result.mode == "embedded"
    ids = [(d["resourceType"], d["id"]) for d in result.outputs]
    assert len(ids) == len(set(ids)) and len(result.emitted) > len(ids)  # versions collapsed
    follow_up = result.task(code="follow-up-7d")
    assert follow_up["status"] == "failed"  # its last version
    assert {d["resourceType"] for d in result.outputs} == {"Task", "ServiceRequest"}


def test_filters(carepath_replay: Replay) -> None:
    result = carepath_replay(JOURNEY)
    referral = result.referral(patient="p1")
    fulfil = result.task(code="fulfill")
    assert fulfil["focus"]["reference"] == f"ServiceRequest/{referral['id']}"
    assert result.tasks(target="iop", rule="T-DISCHARGE") == [fulfil]
    assert result.referrals(code="iop", target="iop", direction="step-down", rule="T-DISCHARGE")
    assert result.tasks(patient="p1", status="requested", priority="urgent") == [
        result.task(code="follow-up-7d")
    ]
    assert len(result.tasks(code={"fulfill", "follow-up-7d"})) == 2
    assert result.tasks(priority=lambda p: p in ("urgent", "routine")) == result.tasks()
    assert result.tasks(id=fulfil["id"]) == [fulfil]
    assert result.tasks(patient="p2") == [] and result.tasks(status="completed") == []
    with pytest.raises(TypeError, match="unknown filter"):
        result.tasks(colour="red")
    with pytest.raises(LookupError, match="2 Tasks match"):
        result.task(patient="p1")
    assert result.summary() == {
        "tasks": [
            {"patient": "p1", "status": "requested", "priority": "routine", "code": "fulfill",
             "target": "iop"},
            {"patient": "p1", "status": "requested", "priority": "urgent",
             "code": "follow-up-7d"},
        ],
        "referrals": [{"patient": "p1", "level": "iop", "direction": "step-down",
                       "status": "active"}],
        "dead_letters": 0,
    }  # fmt: skip


def test_patient_filter_takes_the_key_or_the_id(carepath_replay: Replay) -> None:
    result = carepath_replay(JOURNEY, source="https://a.example.org")
    assert result.tasks(patient="https://a.example.org|p1") == result.tasks(patient="p1")
    assert len(result.tasks(patient="p1")) == 2


def test_inputs_paths_and_documents(carepath_replay: Replay, tmp_path: Path) -> None:
    lines = [json.dumps(d) for d in JOURNEY]
    feed = tmp_path / "feed.ndjson"
    feed.write_text(lines[0] + "\n\n" + lines[1] + "\n")
    tail = tmp_path / "tail.ndjson"
    tail.write_text(lines[2] + "\n")
    expected = carepath_replay(JOURNEY).emitted
    assert carepath_replay([feed, str(tail)]).emitted == expected
    assert carepath_replay([lines[0], lines[1].encode(), JOURNEY[2]]).emitted == expected
    assert carepath_replay(str(feed)).outputs == carepath_replay(JOURNEY[:2]).outputs
    assert carepath_replay(ADMIT).emitted == carepath_replay([ADMIT]).emitted
    bad = carepath_replay([feed, b"not json", tail])
    assert [d.source for d in bad.dead_letters] == [{"document": 1}]
    assert bad.dead_letters[0].reason.startswith("not JSON") and bad.dead_letters[0].code
    with pytest.raises(FileNotFoundError):
        carepath_replay(["not json"])  # a string is a path unless it starts with {
    with pytest.raises(TypeError, match="not a path or a FHIR document"):
        carepath_replay([42])


def test_dead_letters_and_ignored_carry_their_reasons(
    carepath_replay: Replay, tmp_path: Path
) -> None:
    other = _phq9(3, "2026-03-07T10:00:00Z", "other")
    other["code"]["coding"][0]["code"] = "8867-4"
    feed = tmp_path / "feed.ndjson"
    feed.write_text(json.dumps(_phq9(31, "2026-03-07T10:00:00Z")) + "\n")
    result = carepath_replay([ADMIT, other, feed])
    [ignored] = result.ignored
    assert (ignored.resource_type, ignored.id, ignored.source) == (
        "Observation",
        "other",
        {"document": 2},
    )
    assert "not a recognized instrument" in ignored.reason
    [dead] = result.dead_letters
    assert "31 is outside 0–27" in dead.reason and dead.expression == ("Observation.valueInteger",)
    assert dead.source == {"file": str(feed), "line": 1} and dead.code == "value"
    assert dead.record["error"]["resourceType"] == "OperationOutcome"


def test_until_rules_and_source_are_checked(carepath_replay: Replay) -> None:
    with pytest.raises(ValueError, match="time zone"):
        carepath_replay(JOURNEY, until="2026-03-20T00:00:00")
    with pytest.raises(ValueError, match="source"):
        carepath_replay(JOURNEY, source=" a")
    with pytest.raises(ValueError, match="timezone"):
        carepath_replay(JOURNEY, rules={"site": {"timezone": "Mars/Base"}})
    local = carepath_replay(JOURNEY, rules={"site": {"timezone": "America/New_York"}})
    due = local.task(code="follow-up-7d")["restriction"]["period"]["end"]
    assert due != carepath_replay(JOURNEY).task(code="follow-up-7d")["restriction"]["period"]["end"]


def test_case_manager_updates(carepath_replay: Replay) -> None:
    first = carepath_replay(JOURNEY)
    done = task_update(first.task(code="follow-up-7d"), "completed", "2026-03-10T09:00:00Z")
    assert carepath_replay([*JOURNEY, done]).task(code="follow-up-7d")["status"] == "completed"
    spec = {"patient": "p1", "code": "fulfill", "status": "accepted",
            "lastModified": "2026-03-09T09:00:00Z", "owner": "IOP intake"}  # fmt: skip
    updated = carepath_replay([*JOURNEY, {"carepath-scenario-task-update": spec}])
    assert updated.task(code="fulfill")["status"] == "accepted"
    with pytest.raises(LookupError, match="document 4"):
        carepath_replay([*JOURNEY, {"carepath-scenario-task-update": {**spec, "code": "x"}}])


# -- the plugin in a project of its own (pytester) -------------------------------------------


def _copy(names: list[str], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for name in names:
        for f in DATA.glob(f"{name}.*"):
            shutil.copy(f, into / f.name)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(
        test_feed="""
        def test_fixture(carepath_replay):
            assert carepath_replay([]).outputs == []
        """
    )
    return pytester


def test_scenarios_option_makes_one_item_each(project: pytest.Pytester) -> None:
    scen = project.path / "scen"
    _copy(["01-discharge-home-to-iop", "15-retraction"], scen)
    (scen / "README.md").write_text("not a scenario")
    (scen / "lonely.ndjson").write_text("{}\n")  # no expected.json: not an item
    result = project.runpytest("--carepath-scenarios", "scen", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*01-discharge-home-to-iop.ndjson::01-discharge-home-to-iop PASSED*"]
    )
    assert project.runpytest("--carepath-scenarios", "nowhere").ret == pytest.ExitCode.USAGE_ERROR


def test_a_failing_scenario_shows_both_multisets(project: pytest.Pytester) -> None:
    scen = project.path / "scen"
    _copy(["05-iop-worsening-to-php"], scen)
    path = scen / "05-iop-worsening-to-php.expected.json"
    expected = json.loads(path.read_text())
    expected["tasks"][1]["status"] = "accepted"  # the fulfill Task
    expected["tasks"].append({"patient": "s05", "code": "safety-plan", "status": "requested"})
    expected["referrals"] = []
    path.write_text(json.dumps(expected))
    result = project.runpytest("--carepath-scenarios", str(scen))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*scenario 05-iop-worsening-to-php: the outputs differ*",
            "tasks (4 expected, 3 actual): 2 missing, 1 extra",
            "*expected*| actual",
            "  DIFFERS  patient=s05 code=fulfill target=php status=accepted*"
            "| patient=s05 code=fulfill target=php status=requested*",
            "  MISSING  patient=s05 code=safety-plan status=requested*|",
            "referrals (0 expected, 1 actual): 0 missing, 1 extra",
            "  EXTRA  * | patient=s05 level=php direction=step-up status=active",
            "dead letters: 0 expected, 0 actual",
        ]
    )


def test_ini_setting_adds_scenarios_to_a_run_that_names_no_paths(project: pytest.Pytester) -> None:
    _copy(["01-discharge-home-to-iop"], project.path / "scen")
    project.makeini("[pytest]\ncarepath_scenarios = scen\n")
    project.runpytest().assert_outcomes(passed=2)
    project.runpytest("test_feed.py").assert_outcomes(passed=1)
    project.runpytest("scen").assert_outcomes(passed=1)


def test_kafka_marker_is_registered_and_set(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_kafka="""
        def test_through_kafka(carepath_kafka):
            raise AssertionError("deselected: never runs")
        """
    )
    result = project.runpytest("--strict-markers", "-m", "not carepath_kafka")
    result.assert_outcomes(passed=1, deselected=1)
    project.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.carepath_kafka:*"])


def test_plugin_loads_once_by_its_entry_point(pytester: pytest.Pytester) -> None:
    """In a subprocess, as an installed integrator's pytest: the entry point loads it (and a
    conftest that also names it is refused by pytest, which tests/conftest.py avoids)."""
    pytester.makepyfile(test_x="def test_x(carepath_replay): pass")
    result = pytester.runpytest_subprocess("--trace-config", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*carepath*agents/testing/plugin.py*"])


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    """README "For integrators": the ``test_feed.py`` shown there, as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```python\n")[1:] if b.startswith("# test_feed.py"))
    source = block.split("```", 1)[0]
    pytester.makepyfile(test_feed=source)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=source.count("\ndef test_"))
