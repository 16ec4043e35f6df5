"""The plugin's ``carepath_kafka`` fixture on a real broker (the suite's, by overriding
``carepath_kafka_broker``) and real workers: the same result as ``carepath_replay`` for the
same documents, dead letters with their reasons, case managers' updates, a rules file (its
own worker), and the marker set on the tests that use it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.testing import ReplayResult, task_update

pytestmark = pytest.mark.integration

Replay = Callable[..., ReplayResult]
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@pytest.fixture(scope="session")
def carepath_kafka_broker(kafka_bootstrap: str) -> str:
    return kafka_bootstrap  # one broker for the whole suite


def _journey(pid: str) -> list[dict[str, Any]]:
    """A BH stay with a PHQ-9 of 14, then a score out of range (a dead letter)."""
    subject = {"reference": f"Patient/{pid}"}
    stay: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"{pid}-enc",
        "class": {"system": ACT, "code": "IMP"},
        "subject": subject,
        "reasonCode": [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"}]}
        ],
    }
    score: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{pid}-phq9",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": subject,
        "effectiveDateTime": "2026-03-07T10:00:00Z",
        "valueInteger": 14,
    }
    return [
        {**stay, "status": "in-progress", "period": {"start": "2026-03-01T08:00:00Z"}},
        score,
        {**stay, "status": "finished",
         "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-08T15:00:00Z"}},
        {**score, "id": f"{pid}-phq9-bad", "valueInteger": 31},
    ]  # fmt: skip


def _final(result: ReplayResult) -> dict[tuple[str, str], Any]:
    return {(d["resourceType"], d["id"]): d for d in result.outputs}


def test_kafka_gives_the_embedded_result(
    carepath_kafka: Replay, carepath_replay: Replay, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("carepath_kafka") is not None
    docs = _journey(f"k-{uuid.uuid4().hex[:8]}")  # patients live on in the session's worker
    kafka = carepath_kafka(docs, until="2026-03-20T00:00:00Z")
    embedded = carepath_replay(docs, until="2026-03-20T00:00:00Z")
    assert kafka.mode == "kafka" and _final(kafka) == _final(embedded)
    assert kafka.task(code="follow-up-7d")["status"] == "failed"
    assert [d.reason for d in kafka.dead_letters] == [d.reason for d in embedded.dead_letters]
    assert "31 is outside 0–27" in kafka.dead_letters[0].reason
    assert kafka.dead_letters[0].source["topic"].endswith("care.inbound")
    with pytest.raises(RuntimeError, match="embedded replay only"):
        _ = kafka.ignored


def test_case_manager_updates_and_a_rules_file(
    carepath_kafka: Replay, carepath_replay: Replay, tmp_path: Path
) -> None:
    pid = f"k-{uuid.uuid4().hex[:8]}"
    rules = tmp_path / "rules.toml"
    rules.write_text('[site]\ntimezone = "America/New_York"\n')
    docs = _journey(pid)[:3]
    first = carepath_kafka(docs, rules=rules)
    assert _final(first) == _final(carepath_replay(docs, rules=rules))
    done = task_update(first.task(code="follow-up-7d"), "completed", "2026-03-10T09:00:00Z")
    spec = {"patient": pid, "code": "fulfill", "status": "accepted",
            "lastModified": "2026-03-10T10:00:00Z"}  # fmt: skip
    # a scenario-format update line is resolved against the documents before it in its call
    later = carepath_kafka([*docs, done, {"carepath-scenario-task-update": spec}], rules=rules)
    assert later.task(code="follow-up-7d")["status"] == "completed"
    assert later.task(code="fulfill")["status"] == "accepted"
