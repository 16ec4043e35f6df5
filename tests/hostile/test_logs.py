"""Logs hold no clinical content: every scenario (public and our own, their task-update
lines resolved to case managers' Task updates with owners and notes), plus Patient
resources with names and MRNs and invalid documents that quote them, through embedded
replay with logging at DEBUG and through a real worker with ``CAREPATH_LOG_LEVEL=debug``.
No log line may contain a name, an identifier value, a score field, a Task description,
note or status reason, a dead letter's diagnostics, or any piece of a FHIR document; event
ids, topics, offsets and rule ids are what logs carry.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli import main
from tests.hostile.templates import template
from tests.integration.worker import running_worker
from tests.scenarios.runner import CASES, resolve_updates

FILES = [scn.ndjson for scn in CASES]
UNTIL = "2026-12-31T00:00:00Z"
#: Never in a log line, whatever the input: pieces of FHIR JSON and instrument names.
MARKERS = [
    "resourceType",
    "valueInteger",
    "valueQuantity",
    "valueString",
    "valueCodeableConcept",
    '"reference"',
    "PHQ-9",
    "GAD-7",
    "AUDIT-C",
    "C-SSRS",
    "dischargeDisposition",
    "urn:uuid:",
]


def _patients() -> list[str]:
    keys: set[str] = set()
    for path in FILES:
        keys.update(
            k.decode() for k in re.findall(rb'"Patient/([A-Za-z0-9.-]+)"', path.read_bytes())
        )
    return sorted(keys)


def identified_message(i: int, key: str) -> bytes:
    """A valid discharge message without ``Bundle.id``: its ``identifier.value`` (an
    account-number-like string) is its event id (contract §7), which no log line may hold
    (issue 11: the worker's debug log printed it)."""
    doc = template("message")
    del doc["id"]
    doc["identifier"] = {"system": "https://adt.example.org/msg", "value": f"ACCT-QZ{i:03d}-55"}
    doc["entry"][1]["resource"]["id"] = f"hx-msg-enc-{i}"
    doc["entry"][2]["resource"]["id"] = key
    return orjson.dumps(doc)


def named_documents() -> list[bytes]:
    """Per scenario patient, a collection with a named Patient and an MRN, an invalid
    message Bundle that carries the same (its raw text is in the dead letter), and a valid
    message identified by ``identifier.value`` only."""
    docs = []
    for i, key in enumerate(_patients()):
        docs.append(identified_message(i, key))
        patient = {
            "resourceType": "Patient",
            "id": key,
            "identifier": [{"system": "https://ehr.example.org/mrn", "value": f"MRN-ZQ{i:03d}881"}],
            "name": [{"given": ["Zebulon", f"Xanthippe{i}"], "family": f"Quillfeather{i}"}],
            "telecom": [{"system": "phone", "value": f"+1-555-0199-{i:03d}"}],
            "birthDate": "1984-07-12",
        }
        docs.append(
            orjson.dumps(
                {
                    "resourceType": "Bundle",
                    "id": f"named-{key}",
                    "type": "collection",
                    "entry": [{"resource": patient}],
                }
            )
        )
        docs.append(
            orjson.dumps(
                {
                    "resourceType": "Bundle",
                    "id": f"named-msg-{key}",
                    "type": "message",
                    "entry": [{"resource": patient}],
                }
            )
        )
    return docs


def inputs(tmp: Path) -> list[Path]:
    """The scenario files (task-update lines resolved, each with its own scenario's rules)
    and the named documents."""
    named = tmp / "named.ndjson"
    named.write_bytes(b"".join(d + b"\n" for d in named_documents()))
    work = tmp / "resolved"
    work.mkdir(exist_ok=True)
    files = [resolve_updates(scn, work) for scn in CASES]
    assert sum(f != scn.ndjson for f, scn in zip(files, CASES, strict=True)) >= 5
    return [*files, named]


def forbidden(files: list[Path], out: bytes, dlq: bytes) -> set[str]:
    """Every clinical string of the inputs and of what the pipeline made of them."""
    found = set(MARKERS)

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "identifier" and str(_system(v)).endswith("/patient-key"):
                    continue  # the pipeline's own patient key (a Task update echoes it)
                if k in ("identifier", "name", "telecom", "note", "owner") and v:
                    found.update(s for s in _strings(v) if len(s) > 3 and s not in ("phone",))
                scan(v)
        elif isinstance(value, list):
            for v in value:
                scan(v)

    for path in files:
        for ln in path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                scan(orjson.loads(ln))
    for ln in out.splitlines():
        doc = orjson.loads(ln)
        found.add(doc.get("description", "") or "")
        found.add((doc.get("statusReason") or {}).get("text", ""))
    for ln in dlq.splitlines():
        found.update(i["diagnostics"] for i in orjson.loads(ln)["error"]["issue"])
    found.discard("")
    found -= {"https://ehr.example.org/mrn", "https://adt.example.org/mrn"}  # systems, not data
    return {s for s in found if not s.startswith(("http://", "https://"))}


def _system(identifier: Any) -> object:
    return identifier.get("system") if isinstance(identifier, dict) else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@dataclass
class Leak:
    where: str
    secret: str
    line: str


def leaks(lines: list[str], secrets: set[str], where: str) -> list[Leak]:
    return [Leak(where, s, ln[:300]) for ln in lines for s in secrets if s in ln]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


@contextlib.contextmanager
def debug_logging() -> Iterator[_Capture]:
    root, capture = logging.getLogger(), _Capture()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def _replay(files: list[Path], tmp: Path, tag: str, *extra: str) -> tuple[bytes, bytes, str]:
    out, dlq = tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        argv = ["replay", *map(str, files), "--out", str(out), "--dead-letter", str(dlq)]
        assert main([*argv, "--until", UNTIL, *extra]) == 0
    return out.read_bytes(), dlq.read_bytes(), err.getvalue()


def test_embedded_replay_logs_nothing_clinical(tmp_path: Path) -> None:
    files = inputs(tmp_path)
    with debug_logging() as capture:
        out, dlq, stderr = _replay(files, tmp_path, "e")
    secrets = forbidden(files, out, dlq)
    lines = capture.lines + stderr.splitlines()
    print(f"\nembedded: {len(lines)} log lines checked against {len(secrets)} strings")
    assert len(secrets) > 100 and dlq.count(b"\n") > 10
    assert leaks(lines, secrets, "embedded") == []


@pytest.mark.integration
def test_worker_logs_nothing_clinical(kafka_bootstrap: str, tmp_path: Path) -> None:
    files = inputs(tmp_path)
    out_e, dlq_e, _ = _replay(files, tmp_path, "e")
    with running_worker(kafka_bootstrap, tmp_path, CAREPATH_LOG_LEVEL="debug") as worker:
        env = {k: v for k, v in worker.wenv.env().items() if k.startswith("CAREPATH_")}
        with pytest.MonkeyPatch.context() as mp, debug_logging() as capture:
            for k, v in env.items():
                mp.setenv(k, v)
            out_k, dlq_k, stderr = _replay(
                files, tmp_path, "k", "--broker", f"kafka://{kafka_bootstrap}", "--timeout", "120"
            )
    worker_lines = worker.log.read_text(errors="replace").splitlines()
    secrets = forbidden(files, out_e + out_k, dlq_e + dlq_k)
    found = leaks(worker_lines, secrets, "worker") + leaks(
        capture.lines + stderr.splitlines(), secrets, "replay --broker"
    )
    print(
        f"\nworker: {len(worker_lines)} log lines, replay --broker client: "
        f"{len(capture.lines)}, checked against {len(secrets)} strings"
    )
    assert sum("DEBUG" in ln for ln in worker_lines) > 100  # debug logging was on
    assert dlq_k.count(b"\n") == dlq_e.count(b"\n")
    assert found == [], "\n".join(f"{x.where}: {x.secret!r} in {x.line}" for x in found[:20])


def test_library_records_keep_only_plain_arguments() -> None:
    from agents.logsafe import install

    install()
    with debug_logging() as capture:
        logging.getLogger("aiokafka.producer.producer").debug(
            "Sending (key=%s value=%s) to %s", b"s01", b'{"valueInteger":14}', ("t", 0)
        )
        logging.getLogger("faust.transport.drivers.aiokafka").debug("got %r", object())
        logging.getLogger("carepath.agents").debug("emitted %s rule %s", "Task/1", "C-FOLLOWUP")
    assert capture.lines == [
        "aiokafka.producer.producer DEBUG Sending (key=<3 bytes> value=<19 bytes>) to ('t', 0)",
        "faust.transport.drivers.aiokafka DEBUG got '<object>'",
        "carepath.agents DEBUG emitted Task/1 rule C-FOLLOWUP",
    ]


def test_event_labels_never_hold_an_identifier_value() -> None:
    """What the worker logs for an event id (agents.logsafe.event_label): the boundary's own
    ids as they are, an identifier.value as a hash."""
    from agents.logsafe import event_label
    from schemas.ingest import ingest

    own = [
        "Bundle/msg-1",
        "Observation/o1/_history/2",
        "Encounter/e1#0123456789abcdef",
        "Bundle#0123456789abcdef",
        "Patient/p1/_history/3/death",
    ]
    assert [event_label(i) for i in own] == own
    for value in ("ACCT-QZ003-55", "MRN12345", "urn:oid:1.2.3|7", "Patient/x y", "ABC"):
        label = event_label(value)
        assert value not in label and label.startswith("identifier#") and len(label) == 27
    [event] = ingest(identified_message(1, "s01")).events
    assert event_label(event.event_id) == event_label("ACCT-QZ001-55") != "ACCT-QZ001-55"
