"""Live clock: the worker's own wall-clock ticks fire deadlines with no further input."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
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
    # a behavioral-health stay (rules.md §2): major depressive disorder, recurrent, severe
    "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"}]}],
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


def _discharged_days_ago(days: int) -> dict[str, object]:
    """DISCHARGE, ``days`` days before the wall clock (past day 8, before day 30, the
    follow-up is missed but not yet lost: rules.md §5 C-FOLLOWUP-MISSED / -LOST)."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    start = end - timedelta(days=4)
    period = {"start": start.isoformat().replace("+00:00", "Z"),
              "end": end.isoformat().replace("+00:00", "Z")}  # fmt: skip
    return {**DISCHARGE, "period": period}


def test_wall_clock_ticks_fire_the_follow_up_deadline(kafka_bootstrap: str, tmp_path: Path) -> None:
    doc = orjson.dumps(_discharged_days_ago(12))
    with running_worker(kafka_bootstrap, tmp_path, CAREPATH_TICK_INTERVAL="1") as w:
        tasks = w.wenv.topic("care.tasks")
        kafka_io.publish(kafka_bootstrap, w.wenv.topic("care.inbound"), [(b"live1", doc, [])])
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
