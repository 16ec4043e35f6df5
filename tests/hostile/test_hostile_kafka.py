"""The hostile corpus through a real worker on a real broker (``carepath replay --broker``):
the same dead letters, one per invalid input and naming the same field, the same outputs
as embedded replay, and a worker that is still running at the end.

Documents over the size limit never reach the worker (``replay --broker`` does not send a
line over it, and Kafka would refuse one over ``Settings.inbound_message_bytes``); the
client publishes their dead letters to the dead-letter topic instead, so the count is the
same. Invalid documents just under the limit, whose records grow when their raw text is
quoted, must still fit one dead-letter message (``Settings.deadletter_message_bytes``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents import kafka_io
from agents.cli import main
from agents.settings import Settings
from tests.hostile.corpus_io import UNTIL, Replayed, Stream, problems
from tests.integration.worker import Worker, running_worker

pytestmark = pytest.mark.integration


def _final(lines: list[bytes]) -> dict[tuple[str, str], Any]:
    states = {}
    for ln in lines:
        doc = orjson.loads(ln)
        states[(doc["resourceType"], doc["id"])] = doc
    return states


def _dead_letters(
    worker: Worker, run_of: bytes | None = None
) -> list[tuple[dict[str, bytes], dict[str, Any]]]:
    topic = worker.wenv.topic("care.deadletter")
    found = []
    for rec in kafka_io.read_topic(worker.wenv.bootstrap, topic, timeout=60):
        headers = dict(rec.headers)
        if run_of is None or headers.get("carepath-run") == run_of:
            found.append((headers, orjson.loads(rec.value)))
    return found


def test_hostile_corpus_through_a_worker(
    kafka_bootstrap: str, tmp_path: Path, mixed: Stream, replayed: Replayed
) -> None:
    src, out, dlq = mixed.write(tmp_path / "mixed.ndjson"), tmp_path / "k.out", tmp_path / "k.dlq"
    with running_worker(kafka_bootstrap, tmp_path) as worker:
        argv = [
            "replay",
            str(src),
            "--out",
            str(out),
            "--dead-letter",
            str(dlq),
            "--until",
            UNTIL,
            "--broker",
            f"kafka://{kafka_bootstrap}",
            "--timeout",
            "180",
        ]
        with pytest.MonkeyPatch.context() as mp:
            for k, v in worker.wenv.env().items():
                if k.startswith("CAREPATH_"):
                    mp.setenv(k, v)
            assert main(argv) == 0, worker.tail()
        records = _dead_letters(worker)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        log = worker.log.read_text(errors="replace")
    assert "Traceback" not in log and "crashed" not in log.lower(), worker.tail()

    n_file = len(dlq.read_bytes().splitlines())
    assert n_file == len(records) == mixed.dead_letters == len(replayed.dead)
    per_line: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for headers, rec in records:
        per_line[int(headers["carepath-origin"].rsplit(b":", 1)[1])].append(rec)
        assert len(orjson.dumps(rec)) < Settings().deadletter_message_bytes
    found = [p for n, e in enumerate(mixed.expected, 1) for p in problems(e, per_line.get(n, []))]
    assert found == [], "\n".join(found[:40])

    kafka_final = _final(out.read_bytes().splitlines())
    embedded_final = _final(replayed.out.splitlines())
    assert kafka_final == embedded_final


def test_empty_and_tombstone_messages(kafka_bootstrap: str, tmp_path: Path) -> None:
    """What NDJSON cannot carry: an empty value and a null one (a tombstone)."""
    run = uuid.uuid4().hex.encode()
    with running_worker(kafka_bootstrap, tmp_path) as worker:
        inbound = worker.wenv.topic("care.inbound")
        prod = kafka_io.producer(kafka_bootstrap)
        for i, value in enumerate([b"", None]):
            headers = [("carepath-run", run), ("carepath-origin", f"empty:{i}".encode())]
            prod.send(inbound, key=b"k", value=value, headers=headers)
        prod.flush()
        prod.close()
        kafka_io.wait_committed(kafka_bootstrap, worker.wenv.group, inbound, 60)
        records = _dead_letters(worker, run)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
    assert [r["error"]["issue"][0]["diagnostics"][:10] for _, r in records] == ["not JSON: "] * 2
