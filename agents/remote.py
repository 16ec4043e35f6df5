"""``carepath replay --broker``: the same replay through a running worker (contract §9).

Publishes every input line to ``care.inbound`` with headers ``carepath-run`` (a run id)
and ``carepath-source`` (file:line), waits until the worker's consumer group has committed
everything, sends the ``--until`` tick to every partition of ``care.events``, waits again,
then writes the Tasks/ServiceRequests of the patients in its input and the dead letters of
its own documents. The worker should run with ``CAREPATH_TICK_INTERVAL=0`` so that only
this tick moves the clocks, as in embedded replay.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime

from agents import kafka_io
from agents.replay import read_lines
from agents.settings import Settings
from pipeline.events import Tick
from schemas.ingest import Limits, ingest
from schemas.wire import encode_event


def _first_patient(raw: bytes, limits: Limits, base: str) -> tuple[bytes | None, set[bytes]]:
    """The message key (first patient of the document, so a patient's documents share a
    partition and keep their order) and every patient the document concerns."""
    keys = [e.patient.encode() for e in ingest(raw, limits, base).events]
    return (keys[0] if keys else None), set(keys)


def remote_replay(args: argparse.Namespace, base_settings: Settings, until: datetime | None) -> int:
    s = Settings(**{**base_settings.model_dump(), "broker": args.broker})
    bootstrap, run = s.bootstrap, uuid.uuid4().hex
    limits = Limits(max_bytes=s.max_bytes, max_depth=s.max_depth)
    patients: set[bytes] = set()
    records = []
    for path, n, raw in read_lines(args.events):
        key, concerned = _first_patient(raw, limits, s.base_url)
        patients |= concerned
        headers = [("carepath-run", run.encode()), ("carepath-source", f"{path}:{n}".encode())]
        records.append((key, raw, headers))
    sent = kafka_io.publish(bootstrap, s.topic_inbound, records)
    kafka_io.wait_committed(bootstrap, s.app_id, s.topic_inbound, args.timeout)
    kafka_io.wait_committed(bootstrap, s.app_id, s.topic_events, args.timeout)
    if until is not None:
        tick = encode_event(Tick(time=until))
        parts = kafka_io.end_offsets(bootstrap, s.topic_events)
        prod = kafka_io.producer(bootstrap)
        for p in parts:
            prod.send(s.topic_events, value=tick, partition=p)
        prod.flush()
        prod.close()
        kafka_io.wait_committed(bootstrap, s.app_id, s.topic_events, args.timeout)
    n_out = _write_outputs(bootstrap, s, patients, args.out)
    n_dlq = _write_dead_letters(bootstrap, s, run, args.dead_letter)
    print(
        f"replay --broker: {sent} documents published, {n_out} outputs, {n_dlq} dead letters",
        file=sys.stderr,
    )
    return 0


def _write_outputs(bootstrap: str, s: Settings, patients: set[bytes], out: str) -> int:
    n = 0
    with open(out, "wb") as f:
        for topic in (s.topic_referrals, s.topic_tasks):
            for rec in kafka_io.read_topic(bootstrap, topic):
                if rec.key in patients:
                    f.write(rec.value + b"\n")
                    n += 1
    return n


def _write_dead_letters(bootstrap: str, s: Settings, run: str, path: str | None) -> int:
    n = 0
    f = open(path, "wb") if path else sys.stderr.buffer  # noqa: SIM115
    try:
        for rec in kafka_io.read_topic(bootstrap, s.topic_deadletter):
            if dict(rec.headers).get("carepath-run") == run.encode():
                f.write(rec.value + b"\n")
                n += 1
    finally:
        if path:
            f.close()
    return n
