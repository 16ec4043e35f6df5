"""Live clock: the worker's own wall-clock ticks fire deadlines with no further input."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from tests.integration.worker import running_worker

pytestmark = pytest.mark.integration

DISCHARGE = {
    "resourceType": "Encounter",
    "id": "live-enc",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    "subject": {"reference": "Patient/live1"},
    "period": {"start": "2026-01-01T08:00:00Z", "end": "2026-01-05T12:00:00Z"},
    "hospitalization": {
        "dischargeDisposition": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                    "code": "home",
                }
            ]
        }
    },
}


def _task_codes(bootstrap: str, topic: str) -> dict[str, str]:
    latest: dict[str, tuple[str, str]] = {}
    for rec in kafka_io.read_topic(bootstrap, topic):
        doc = orjson.loads(rec.value)
        latest[doc["id"]] = (doc["code"]["coding"][0]["code"], doc["status"])
    return dict(latest.values())


def test_wall_clock_ticks_fire_the_follow_up_deadline(kafka_bootstrap: str, tmp_path: Path) -> None:
    with running_worker(kafka_bootstrap, tmp_path, CAREPATH_TICK_INTERVAL="1") as w:
        tasks = w.wenv.topic("care.tasks")
        kafka_io.publish(
            kafka_bootstrap, w.wenv.topic("care.inbound"), [(b"live1", orjson.dumps(DISCHARGE), [])]
        )
        deadline = time.monotonic() + 60
        codes: dict[str, str] = {}
        while time.monotonic() < deadline:
            codes = _task_codes(kafka_bootstrap, tasks)
            if "follow-up-missed" in codes:
                break
            time.sleep(1)
        assert codes.get("follow-up-7d") == "failed", w.tail()
        assert codes.get("follow-up-missed") == "requested"


def test_tasks_command_reads_the_worklist_from_kafka(
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agents.cli import main

    with running_worker(kafka_bootstrap, tmp_path) as w:
        kafka_io.publish(
            kafka_bootstrap, w.wenv.topic("care.inbound"), [(b"live1", orjson.dumps(DISCHARGE), [])]
        )
        kafka_io.wait_committed(kafka_bootstrap, w.wenv.group, w.wenv.topic("care.inbound"), 60)
        kafka_io.wait_committed(kafka_bootstrap, w.wenv.group, w.wenv.topic("care.events"), 60)
        monkeypatch.setenv("CAREPATH_TOPIC_TASKS", w.wenv.topic("care.tasks"))
        monkeypatch.setenv("CAREPATH_TOPIC_REFERRALS", w.wenv.topic("care.referrals"))
        assert main(["tasks", "--broker", f"kafka://{kafka_bootstrap}"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[-1] == "2 task(s)"
    assert "follow-up-7d" in rows[1] and "urgent" in rows[1]
