"""Contract §1 on a real broker: ``care.tasks`` and ``care.referrals`` are compacted and
keyed by resource id (``Task/<id>``, ``ServiceRequest/<id>``), so compaction keeps the
latest version of every resource; a worker that finds them with another cleanup policy
says so at start."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from tests.integration.test_live_ticks import DISCHARGE
from tests.integration.worker import Worker, WorkerEnv, running_worker

pytestmark = pytest.mark.integration


def _policies(wenv: WorkerEnv) -> dict[str, str | None]:
    outputs = [wenv.topic("care.tasks"), wenv.topic("care.referrals")]
    return kafka_io.ensure_topics(
        wenv.bootstrap, {t: 4 for t in outputs}, configs={t: {} for t in outputs}
    )


def test_outputs_keyed_by_resource_id_on_compacted_topics(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stay = {**DISCHARGE, "id": "keyed-enc", "subject": {"reference": "Patient/keyed1"}}
    with running_worker(kafka_bootstrap, tmp_path) as w:
        inbound = w.wenv.topic("care.inbound")
        kafka_io.publish(kafka_bootstrap, inbound, [(None, orjson.dumps(stay), [])])
        kafka_io.wait_committed(kafka_bootstrap, w.wenv.group, inbound, 60)
        kafka_io.wait_committed(kafka_bootstrap, w.wenv.group, w.wenv.topic("care.events"), 60)
        records = list(kafka_io.read_topic(kafka_bootstrap, w.wenv.topic("care.tasks")))
        assert records, w.tail()
        for rec in records:
            doc = orjson.loads(rec.value)
            assert rec.key == f"Task/{doc['id']}".encode()
            assert doc["for"]["identifier"]["value"] == "keyed1"
        assert _policies(w.wenv) == {
            w.wenv.topic("care.tasks"): "compact",
            w.wenv.topic("care.referrals"): "compact",
        }
        assert "not compact" not in w.log.read_text(errors="replace")


def test_worker_says_so_when_output_topics_are_not_compacted(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    wenv = WorkerEnv(bootstrap=kafka_bootstrap, datadir=tmp_path / "worker")
    outputs = [wenv.topic("care.tasks"), wenv.topic("care.referrals")]
    kafka_io.ensure_topics(kafka_bootstrap, {t: 4 for t in outputs})  # an operator's default
    assert set(_policies(wenv).values()) == {"delete"}
    worker = Worker(wenv, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        log = worker.log.read_text(errors="replace")
    finally:
        worker.stop()
    for topic in outputs:
        assert f"topic {topic} has cleanup.policy=delete, not compact" in log, worker.tail()
