"""Issue 11 on a real worker and a real broker: a poison message and an oversized state
neither stop nor loop the worker.

One partition of ``care.events``, so every patient shares it, and the worker's own clock
(a tick a second). In order on ``care.inbound``:

1. a patient in IOP with 400 sessions whose state outgrows what the changelog takes (the
   producer's limit is lowered to 4 KiB so that a few hundred events do what a larger
   state would against the real limit; before issue 11 such a write made Faust's producer
   buffer crash the worker on every restart): each event past the limit is a dead letter
   naming its document, the state is kept, the worker goes on;
2. a poison document: deciding its event kills the process (``os._exit``: a kill for
   memory or a fault in native code, not an exception). The test restarts the worker as a
   supervisor would; the worker stops twice on it, then dead-letters it with its original
   document and goes on;
3. a bystander discharged twelve days ago: behind the poison on the same partition, its
   follow-up is missed at the worker's next tick (C-FOLLOWUP-MISSED);
4. a patient discharged two days ago: its follow-up Task is opened.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents import kafka_io
from schemas.outbound import patient_key_of
from tests.integration.faulty_worker import CRASH_EXIT
from tests.integration.worker import Worker, WorkerEnv

pytestmark = pytest.mark.integration

LOC = "http://carepath.example.org/fhir/CodeSystem/level-of-care"
SESSIONS = 400
LIMIT = 4096  # the grown state (codec v4) passes it after ~190 sessions (6.3 KB at 400)


def _iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _discharge(patient: str, days_ago: int) -> dict[str, Any]:
    end = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "resourceType": "Encounter",
        "id": f"{patient}-enc",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{patient}"},
        "period": {"start": _iso(end - timedelta(days=4)), "end": _iso(end)},
        "reasonCode": [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"}]}
        ],
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


def _grower() -> list[dict[str, Any]]:
    """Enrolled in IOP, then a session every eight hours until two days ago."""
    start = datetime.now(UTC) - timedelta(hours=8 * SESSIONS + 48)
    docs: list[dict[str, Any]] = [
        {
            "resourceType": "EpisodeOfCare",
            "id": "grow-eoc",
            "status": "active",
            "type": [{"coding": [{"system": LOC, "code": "iop"}]}],
            "patient": {"reference": "Patient/grow"},
            "period": {"start": _iso(start)},
        }
    ]
    for i in range(SESSIONS):
        docs.append(
            {
                "resourceType": "Appointment",
                "id": f"grow-appt-{i}",
                "status": "fulfilled",
                "serviceType": [{"coding": [{"system": LOC, "code": "iop"}]}],
                "start": _iso(start + timedelta(hours=8 * i + 1)),
                "minutesDuration": 180,
                "participant": [{"actor": {"reference": "Patient/grow"}, "status": "accepted"}],
            }
        )
    return docs


POISON = {
    "resourceType": "Observation",
    "id": "poison-phq9",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
    "subject": {"reference": "Patient/poison"},
    "effectiveDateTime": _iso(datetime.now(UTC) - timedelta(days=1)),
    "valueInteger": 12,
}


class FaultyWorker(Worker):
    """The worker of ``tests.integration.faulty_worker``, restarted whenever it dies."""

    exits: list[int]

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.faulty_worker"],
            env=self.wenv.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def supervise(self) -> None:
        """Restart the worker if it died (as systemd or Kubernetes would)."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            self.exits.append(code)
            assert len(self.exits) <= 4, f"a crash loop: exits {self.exits}\n{self.tail()}"
            self.start()


def _tasks(bootstrap: str, topic: str) -> dict[tuple[str, str], str]:
    """(patient key, task code) → latest status."""
    latest: dict[str, tuple[str, str, str]] = {}
    for rec in kafka_io.read_topic(bootstrap, topic):
        doc = orjson.loads(rec.value)
        patient = patient_key_of(doc) or ""
        latest[doc["id"]] = (patient, doc["code"]["coding"][0]["code"], doc["status"])
    return {(p, c): s for p, c, s in latest.values()}


def test_poison_and_oversized_state_neither_stop_nor_loop_the_worker(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    wenv = WorkerEnv(
        bootstrap=kafka_bootstrap,
        datadir=tmp_path / "worker",
        extra={
            "CAREPATH_PARTITIONS": "1",
            "CAREPATH_TICK_INTERVAL": "1",
            "CAREPATH_SESSION_TIMEOUT": "6",
            "CAREPATH_TEST_CRASH_PATIENT": "poison",
            "CAREPATH_TEST_MAX_REQUEST": str(LIMIT),
        },
    )
    worker = FaultyWorker(wenv, tmp_path / "worker.log")
    worker.exits = []
    docs = [*_grower(), POISON, _discharge("bystander", 12), _discharge("later", 2)]
    raw = [orjson.dumps(d) for d in docs]
    tasks, dlq = wenv.topic("care.tasks"), wenv.topic("care.deadletter")
    worker.start()
    try:
        worker.wait_ready()
        kafka_io.publish(kafka_bootstrap, wenv.topic("care.inbound"), [(None, r, []) for r in raw])
        deadline = time.monotonic() + 240
        found: dict[tuple[str, str], str] = {}
        while time.monotonic() < deadline:
            worker.supervise()
            found = _tasks(kafka_bootstrap, tasks)
            if ("bystander", "follow-up-missed") in found and ("later", "follow-up-7d") in found:
                break
            time.sleep(1)
        assert ("later", "follow-up-7d") in found, worker.tail()
        assert found.get(("bystander", "follow-up-missed")) == "requested", worker.tail()
        time.sleep(3)  # a few more ticks: the worker is still up, and stops no more
        worker.supervise()
        alive = worker.proc is not None and worker.proc.poll() is None
        letters = [
            (r.key, orjson.loads(r.value)) for r in kafka_io.read_topic(kafka_bootstrap, dlq)
        ]
    finally:
        worker.stop()
    assert alive, worker.tail()
    assert worker.exits == [CRASH_EXIT, CRASH_EXIT], "stopped twice by the poison, then no more"

    by_raw: dict[str, list[dict[str, Any]]] = {}
    ticks = []  # a tick that reaches the grown patient cannot store it either
    for key, rec in letters:
        if rec["raw"].startswith('{"kind":"tick"'):
            ticks.append((key, rec))
        else:
            by_raw.setdefault(rec["raw"], []).append(rec)
    for key, rec in ticks:
        assert key == b"grow" and rec["error"]["issue"][0]["code"] == "too-long", rec
        assert rec["source"]["topic"] == wenv.topic("care.events")
    [poisoned] = by_raw.pop(raw[-3].decode())  # one dead letter, with the original document
    issue = poisoned["error"]["issue"][0]
    assert "stopped 2 times" in issue["diagnostics"] and issue["code"] == "exception"
    assert poisoned["source"]["topic"] == wenv.topic("care.inbound")
    assert poisoned["source"]["offset"] == len(raw) - 3
    # the sessions past the changelog's limit: a dead letter each, naming its document (once,
    # or again for a session the worker did again after a stop: at least once)
    assert by_raw and set(by_raw) <= {r.decode() for r in raw[1 : SESSIONS + 1]}
    for recs in by_raw.values():
        assert len(recs) <= 1 + len(worker.exits)
        for rec in recs:
            issue = rec["error"]["issue"][0]
            assert issue["code"] == "too-long" and "the state kept" in issue["diagnostics"]
            assert rec["source"]["topic"] == wenv.topic("care.inbound")
    assert len(by_raw) > SESSIONS // 4
    print(
        f"poison-live: exits {worker.exits}; {len(by_raw)} sessions refused, "
        f"{sum(map(len, by_raw.values()))} dead letters for them, {len(ticks)} for ticks"
    )
