"""``carepath replay --broker``: the same replay through a running worker (contract §9).

Publishes every input line to ``care.inbound`` with headers ``carepath-run`` (a run id),
``carepath-origin`` (file:line), with ``--source`` ``carepath-source`` (the channel
source the worker keys patients by, contract §2) and with ``--until``
``carepath-reference`` (the reference time of the plausibility checks, as embedded replay
takes ``--until``); waits until the worker's consumer group has committed everything,
sends the ``--until`` tick to each patient of its input only (a tick keyed by the patient
key, on that patient's partition of ``care.events``: other patients on a shared broker
keep their clocks, issue 11), waits again, then writes the Tasks/ServiceRequests of the
patients in its input and the dead letters of its own documents. As in embedded replay,
where ``--until`` moves every patient of the run, the worker should run with
``CAREPATH_TICK_INTERVAL=0`` so that only this tick moves the clocks, and with the same
rules file (patient keys and dates depend on it).

Documents are keyed by their first patient (the keying rule of publishers, README "Keying
care.inbound"), so each patient's documents share a partition of ``care.inbound``. A document
about several patients (a group session, a collection Bundle) cannot share all their
partitions: when ``care.inbound`` has several, it is published only after the worker has
ingested its patients' earlier documents, and their later ones only after it (``_waves``).
The output files are ``0600`` (patient data), as embedded replay's.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from agents import headers as hdr
from agents import kafka_io
from agents.files import private_writer
from agents.replay import read_lines
from agents.reporting import dead_letter_notice
from agents.security import Connection, check_connection, connection
from agents.settings import Settings
from pipeline.config import RuleConfig
from pipeline.events import Tick
from schemas.deadletter import dead_letter_record, fitted
from schemas.inbound.types import Cut
from schemas.ingest import InvalidInput, Limits, ingest
from schemas.outbound import patient_key_of
from schemas.wire import encode_event

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def _first_patient(
    raw: bytes,
    limits: Limits,
    base: str,
    rules: RuleConfig,
    source: str | None,
    reference: datetime,
) -> tuple[bytes | None, set[bytes]]:
    """The message key (first patient of the document, so a patient's documents share a
    partition and keep their order) and every patient the document concerns, read as the
    worker reads it (the same reference time)."""
    events = ingest(raw, limits, base, rules=rules, source=source, reference=reference).events
    keys = [e.patient.encode() for e in events]
    return (keys[0] if keys else None), set(keys)


def remote_replay(
    args: argparse.Namespace, base_settings: Settings, until: datetime | None, rules: RuleConfig
) -> int:
    if args.ignored:
        raise ValueError("--ignored needs embedded mode (the worker logs its ignored counts)")
    s = Settings(**{**base_settings.model_dump(), "broker": args.broker})
    check_connection(s)  # one line and exit 2 when unreachable or refused (cli.main)
    bootstrap, run = connection(s), uuid.uuid4().hex
    limits = Limits(max_bytes=s.max_bytes, max_depth=s.max_depth)
    records, concerned = _read(args, s, limits, rules, run, until)
    patients: set[bytes] = set().union(*concerned)
    with kafka_io.Offsets(bootstrap) as offsets:  # one client for every wait
        refused = _publish_waves(bootstrap, s, records, concerned, offsets, args.timeout)
        if refused:
            _dead_letter_refused(bootstrap, s, limits, records, refused, rules)
        offsets.wait_committed(s.app_id, s.topic_inbound, args.timeout)
        offsets.wait_committed(s.app_id, s.topic_events, args.timeout)
        if until is not None:
            parts = sorted(offsets.ends(s.topic_events))
            _tick_patients(bootstrap, s.topic_events, parts, patients, until)
            offsets.wait_committed(s.app_id, s.topic_events, args.timeout)
        # the parts of documents whose problems two agents found: their one record
        offsets.wait_committed(s.app_id, s.documents_topic, args.timeout)
    n_out = _write_outputs(bootstrap, s, patients, args.out)
    n_dlq = _write_dead_letters(bootstrap, s, run, args.dead_letter)
    print(
        f"replay --broker: {len(records) - len(refused)} documents published, {len(refused)} "
        "not (over the size limit, or refused by the broker); "
        f"{n_out} outputs, {n_dlq} dead letters",
        file=sys.stderr,
    )
    return 0


def _read(
    args: argparse.Namespace,
    s: Settings,
    limits: Limits,
    rules: RuleConfig,
    run: str,
    until: datetime | None,
) -> tuple[list[Record], list[set[bytes]]]:
    """The records to publish, and the patients each document concerns."""
    records: list[Record] = []
    concerned: list[set[bytes]] = []
    # the reference time of the plausibility checks: --until, as in embedded replay (the
    # worker takes it from the header), else the worker's wall clock
    reference = until if until is not None else datetime.now(UTC)
    for path, n, raw in read_lines(args.events, s.max_bytes):
        key, concerns = _first_patient(raw, limits, s.base_url, rules, args.source, reference)
        headers = hdr.run_headers(run, path, n, args.source)
        if until is not None:
            headers.append((hdr.REFERENCE, until.isoformat().encode()))
        records.append((key, raw, headers))
        concerned.append(concerns)
    return records, concerned


def _publish_waves(
    bootstrap: Connection,
    s: Settings,
    records: list[Record],
    concerned: list[set[bytes]],
    offsets: kafka_io.Offsets,
    timeout: float,
) -> dict[int, str | None]:
    """Publish the records wave by wave (``_waves``): {position: why} of those not sent."""
    refused: dict[int, str | None] = {}
    parts = sorted(offsets.ends(s.topic_inbound)) if any(len(c) > 1 for c in concerned) else []
    for i, wave in enumerate(_waves(records, concerned, parts)):
        if i:  # the waves before it are ingested: their events are on care.events
            offsets.wait_committed(s.app_id, s.topic_inbound, timeout)
        found = _publish(bootstrap, s, [records[j] for j in wave])
        refused.update({wave[j]: why for j, why in found.items()})
    return refused


def _waves(
    records: list[Record], concerned: list[set[bytes]], partitions: list[int]
) -> list[list[int]]:
    """The positions of ``records`` cut into waves, published in order, each once the worker
    has ingested the waves before it, so that every patient's documents reach
    ``care.events`` in file order whatever the ``partitions`` of ``care.inbound``: a
    document keyed to another partition than a document of one of its patients in the
    current wave starts the next wave. One wave with one partition (or none known)."""
    if len(partitions) < 2:
        return [list(range(len(records)))]
    waves: list[list[int]] = [[]]
    wave_parts: dict[bytes, int] = {}  # patient → partition of its documents in the wave
    for i, (key, _, _) in enumerate(records):
        if key is not None:  # a document without a patient changes no one's state
            part = kafka_io.partition_of(key, partitions)
            if any(wave_parts.get(p, part) != part for p in concerned[i]):
                waves.append([])
                wave_parts = {}
            wave_parts.update(dict.fromkeys(concerned[i], part))
        waves[-1].append(i)
    return waves


def _publish(bootstrap: Connection, s: Settings, records: list[Record]) -> dict[int, str | None]:
    """Publish every document that was read whole: {position: why} of the others, ``None``
    for a line over the size limit (read as a ``Cut``, never sent: its dead letter is made
    here, as embedded replay makes it) and the error type for one Kafka refused."""
    whole = [i for i, (_, raw, _) in enumerate(records) if not isinstance(raw, Cut)]
    sent = [records[i] for i in whole]
    refused = kafka_io.publish_checked(bootstrap, s.topic_inbound, sent, s.inbound_message_bytes)
    out: dict[int, str | None] = {whole[j]: why for j, why in refused.items()}
    out.update({i: None for i, (_, raw, _) in enumerate(records) if isinstance(raw, Cut)})
    return out


def _tick_patients(
    bootstrap: Connection, topic: str, parts: list[int], patients: set[bytes], until: datetime
) -> None:
    """The ``--until`` tick to each patient of the run only (issue 11: a run on a shared
    broker moves no one else's clock): keyed by the patient key, on the partition (of
    ``parts``) the worker's producer puts that patient's events on, after all of them."""
    tick = encode_event(Tick(time=until))
    prod = kafka_io.producer(bootstrap)
    try:
        for key in sorted(patients):
            prod.send(topic, key=key, value=tick, partition=kafka_io.partition_of(key, parts))
        prod.flush()
    finally:
        prod.close()


def _dead_letter_refused(
    bootstrap: Connection,
    s: Settings,
    limits: Limits,
    records: list[Record],
    refused: dict[int, str | None],
    rules: RuleConfig,
) -> None:
    """Documents that never reach the worker (over the size limit, or refused by Kafka):
    their dead letters are made here, as the worker would make them (over the size limit:
    the same diagnostics), and published to the dead-letter topic with the run's headers,
    so none is lost. One Kafka refused is marked ``refused_by``."""
    letters = []
    for i, why in sorted(refused.items()):
        key, raw, headers = records[i]
        source = hdr.source_of(headers)
        found = ingest(raw, limits, s.base_url, rules=rules, source=source).errors
        errors = [e for e in found if e.code == "too-long"]
        err: InvalidInput | tuple[str, None] = (
            errors[0] if errors else (f"the broker refused the document: {why}", None)
        )
        code = None if errors else ("too-long" if "TooLarge" in (why or "") else "exception")
        path, _, line = (hdr.header(headers, hdr.ORIGIN) or b":0").decode().rpartition(":")
        place: dict[str, object] = {"file": path, "line": int(line)}
        if why is not None:
            place["refused_by"] = s.topic_inbound
        now = datetime.now(UTC).isoformat()
        rec = dead_letter_record(err, raw, place, now, limits.max_bytes, code)
        letters.append((key, fitted(rec, raw, s.deadletter_message_bytes - 1024), headers))
    kafka_io.publish(bootstrap, s.topic_deadletter, letters, s.deadletter_message_bytes)


def _write_outputs(bootstrap: Connection, s: Settings, patients: set[bytes], out: str) -> int:
    """The outputs of the run's patients: keyed by resource id on the topics (contract §1),
    each carries its patient key back (contract §5)."""
    n = 0
    with private_writer(out) as f:
        for topic in (s.topic_referrals, s.topic_tasks):
            for rec in kafka_io.read_topic(bootstrap, topic):
                key = patient_key_of(orjson.loads(rec.value))
                if key is not None and key.encode() in patients:
                    f.write(rec.value + b"\n")
                    n += 1
    return n


def _notice(value: bytes, where: str | None) -> str:
    """The stderr line of a dead letter, placed by its document's file and line."""
    try:
        return dead_letter_notice(orjson.loads(value), where)
    except orjson.JSONDecodeError:
        return f"dead letter {where or '?'}: unreadable record"


def merged_by_document(values: list[bytes]) -> list[bytes]:
    """One dead-letter record per inbound document, as embedded replay writes them.

    Through a worker a document can have a record from each stage (its ingest problems on
    ``care.inbound``, a rule's refusal of one of its events on ``care.events``: another
    partition, perhaps another worker), and a record can be written twice when a worker
    stops between sending it and committing (at least once). Records naming the same
    ``source`` (the ``care.inbound`` position) are merged in topic order: the first one's
    fields, then every issue not already listed; a record that cannot be read is kept as
    it is."""
    out: list[bytes] = []
    first: dict[bytes, tuple[int, dict[str, Any]]] = {}
    for value in values:
        try:
            rec = orjson.loads(value)
            key = orjson.dumps(rec["source"], option=orjson.OPT_SORT_KEYS)
            issues = list(rec["error"]["issue"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            out.append(value)
            continue
        seen = first.get(key)
        if seen is None:
            first[key] = (len(out), rec)
            out.append(value)
            continue
        slot, kept = seen
        listed = kept["error"]["issue"]
        added = [issue for issue in issues if issue not in listed]
        if added:
            listed.extend(added)
            out[slot] = orjson.dumps(kept)
    return out


def _write_dead_letters(bootstrap: Connection, s: Settings, run: str, path: str | None) -> int:
    """The run's dead letters, one per document (:func:`merged_by_document`), to ``path``;
    without one, their source and diagnostics only to standard error (never the raw
    document). The file is ``0600`` as embedded replay's (patient data)."""
    origins: dict[bytes, str | None] = {}
    values = []
    for rec in kafka_io.read_topic(bootstrap, s.topic_deadletter):
        if hdr.header(rec.headers, hdr.RUN) != run.encode():
            continue
        values.append(rec.value)
        origin = hdr.header(rec.headers, hdr.ORIGIN)
        origins[rec.value] = origin.decode("utf-8", "replace") if origin else None
    merged = merged_by_document(values)
    if path is None:
        for value in merged:
            print(_notice(value, origins.get(value)), file=sys.stderr)
        return len(merged)
    with private_writer(path) as f:
        for value in merged:
            f.write(value + b"\n")
    return len(merged)
