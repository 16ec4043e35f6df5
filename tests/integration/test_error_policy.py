"""DESIGN.md convention 8 on a real worker: an exception inside an agent becomes a dead
letter plus a log line, and the stream goes on (Faust would otherwise ack and lose it)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from schemas.ingest import DEFAULT_BASE
from tests.integration.worker import running_worker

pytestmark = pytest.mark.integration

#: In BH care at IOP: a C-SSRS ``high`` then opens a crisis evaluation (rules.md §2, §4; an
#: assessment during an inpatient stay would only be recorded).
ENROLL = {
    "resourceType": "EpisodeOfCare",
    "id": "ep-eoc",
    "status": "active",
    "type": [{"coding": [{"system": f"{DEFAULT_BASE}/CodeSystem/level-of-care", "code": "iop"}]}],
    "patient": {"reference": "Patient/ep1"},
    "period": {"start": "2026-01-01T08:00:00Z"},
}
CSSRS_HIGH = {
    "resourceType": "Observation",
    "id": "ep-cssrs",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "93374-7"}]},
    "subject": {"reference": "Patient/ep1"},
    "effectiveDateTime": "2026-01-02T08:00:00Z",
    "valueString": "high",
}


def _wait_for(fn, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    return fn()


def test_poison_message_is_dead_lettered_and_the_stream_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    with running_worker(kafka_bootstrap, tmp_path) as w:
        events, dlq = w.wenv.topic("care.events"), w.wenv.topic("care.deadletter")
        # Not a project event: decoding raises inside the transition agent.
        kafka_io.publish(kafka_bootstrap, events, [(b"ep1", b"\x00not an event", [])])
        kafka_io.publish(
            kafka_bootstrap,
            w.wenv.topic("care.inbound"),
            [(b"ep1", orjson.dumps(ENROLL), []), (b"ep1", orjson.dumps(CSSRS_HIGH), [])],
        )

        def crisis_task() -> bool:
            tasks = [
                orjson.loads(r.value)
                for r in kafka_io.read_topic(kafka_bootstrap, w.wenv.topic("care.tasks"))
            ]
            return any(t["code"]["coding"][0]["code"] == "crisis-evaluation" for t in tasks)

        assert _wait_for(crisis_task), w.tail()
        letters = [orjson.loads(r.value) for r in kafka_io.read_topic(kafka_bootstrap, dlq)]
        assert len(letters) == 1
        issue = letters[0]["error"]["issue"][0]
        assert "internal error" in issue["diagnostics"]
        assert letters[0]["source"]["topic"] == events
        assert "WireError" in w.tail(400)
