"""The machine-readable contract: ``docs/asyncapi.json`` is what ``carepath asyncapi``
generates now, it is a valid AsyncAPI 3.0.0 document (the official JSON Schema from
``@asyncapi/specs``, validated with ``jsonschema``: tests/unit/vendor/README.md), and the
schemas it carries hold for what the code really writes (dead-letter records of every kind,
``care.events`` messages of every kind)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agents import headers
from agents.asyncapi import FHIR_SCHEMA, care_event_schema, document, render
from agents.cli import main
from agents.replay import dead_letter
from agents.settings import Settings
from agents.testing.inputs import lines_of
from pipeline.config import DEFAULT_RULES, load_rules
from pipeline.events import KIND, Tick
from schemas.deadletter import dead_letter_record, fitted, record_schema
from schemas.ingest import InvalidInput, Limits, ingest
from schemas.wire import encode_event

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.json"
OFFICIAL = Path(__file__).parent / "vendor" / "asyncapi-3.0.0.schema.json"
CORPORA = [ROOT / "tests" / "scenarios" / "data", ROOT / "tests" / "scenarios" / "own"]
TOPICS = ["care.inbound", "care.events", "care.tasks", "care.referrals", "care.deadletter"]


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def official() -> jsonschema.protocols.Validator:
    return _validator(json.loads(OFFICIAL.read_text()))


def _errors(v: jsonschema.protocols.Validator, doc: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in v.iter_errors(doc)]


def test_committed_document_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `carepath asyncapi --out docs/asyncapi.json`"
    )


def test_command_writes_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", "--out", str(tmp_path / "a.json")]) == 0
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == render()
    assert main(["asyncapi"]) == 0
    assert capsys.readouterr().out == render()


def test_valid_asyncapi_3(official: jsonschema.protocols.Validator) -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    assert _errors(official, doc) == []


@pytest.mark.parametrize(
    "breakage",
    ["v2-style operation", "channel typo", "wrong version", "bad reference", "no info"],
)
def test_the_validator_sees_broken_documents(
    official: jsonschema.protocols.Validator, breakage: str
) -> None:
    """Negative controls: the validator is not waving everything through."""
    doc = copy.deepcopy(document())
    if breakage == "v2-style operation":
        doc["operations"]["sendTasks"]["action"] = "publish"
    elif breakage == "channel typo":
        doc["channels"]["care.tasks"]["adress"] = "care.tasks"
    elif breakage == "wrong version":
        doc["asyncapi"] = "2.6.0"
    elif breakage == "bad reference":
        doc["operations"]["sendTasks"]["channel"] = {"$ref": 7}
    else:
        del doc["info"]
    assert _errors(official, doc)


def test_channels_keys_headers_and_payloads() -> None:
    doc = document()
    channels = doc["channels"]
    assert [c["address"] for c in channels.values()] == TOPICS
    assert [channels[t]["bindings"]["kafka"]["topic"] for t in TOPICS] == TOPICS
    defaults = [Settings.model_fields[f"topic_{t.split('.')[1]}"].default for t in TOPICS]
    assert defaults == TOPICS
    for t in ("care.tasks", "care.referrals"):
        assert channels[t]["bindings"]["kafka"]["topicConfiguration"] == {
            "cleanup.policy": ["compact"]
        }
    messages = doc["components"]["messages"]
    inbound = messages["fhirDocument"]["headers"]["properties"]
    assert {headers.SOURCE, headers.ORIGIN, headers.RUN, headers.REFERENCE} <= set(inbound)
    assert headers.INBOUND not in inbound  # set by the ingest agent, on care.events only
    events = messages["careEvent"]["headers"]["properties"]
    assert {headers.SOURCE, headers.REFERENCE, headers.INBOUND} <= set(events)
    assert "keyed by the patient keys of its own run" in messages["careEvent"]["description"]
    assert messages["task"]["payload"] == {"$ref": f"{FHIR_SCHEMA}#/definitions/Task"}
    assert messages["serviceRequest"]["payload"] == {
        "$ref": f"{FHIR_SCHEMA}#/definitions/ServiceRequest"
    }
    assert messages["task"]["bindings"]["kafka"]["key"]["pattern"].startswith("^Task/")
    assert messages["careEvent"]["bindings"]["kafka"]["key"]["description"] == "the patient key"
    assert doc["components"]["schemas"]["DeadLetterRecord"] == record_schema()
    for op in doc["operations"].values():
        channel = op["channel"]["$ref"].removeprefix("#/channels/")
        for m in op["messages"]:
            assert m["$ref"].startswith(f"#/channels/{channel}/messages/")
            name = m["$ref"].rsplit("/", 1)[1]
            assert name in channels[channel]["messages"]


def _records() -> list[dict[str, Any]]:
    """Dead-letter records of every kind the code writes: each invalid line of the corpora
    as ``replay`` writes it (file and line), on Kafka (topic position), a Task update the
    core rejects, an internal error, a refused document, base64, truncated and fitted."""
    limits = Limits()
    records = []
    for corpus in CORPORA:
        for path in sorted(corpus.glob("*.ndjson")):
            for line in lines_of(path):
                for err in ingest(line.raw, limits).errors:
                    records.append(dead_letter(err, line.raw, dict(line.where), limits))
    assert len(records) >= 9
    kafka = {"topic": "care.inbound", "partition": 0, "offset": 12}
    now = "2026-05-01T00:00:00+00:00"
    err = InvalidInput("not UTF-8", None, b"\xff\xfe", "structure")
    records += [
        dead_letter_record(err, err.raw, kafka, now),
        dead_letter_record(
            ("Task/t1: requested → completed is not allowed", "Task.status"), b"{}", kafka, now
        ),
        dead_letter_record(("internal error while processing: KeyError", None), b"{}", kafka, now),
        dead_letter_record(
            ("the broker refused the document: MessageSizeTooLarge", None),
            b"x" * 2000,
            {"file": "a.ndjson", "line": 3, "refused_by": "t"},
            now,
            1024,
            "too-long",
        ),
    ]
    big = b'{"resourceType":"Observation","note":"' + "é".encode() * 3000 + b'"}'
    rec = dead_letter_record(("too big", None), big, kafka, now, 4096)
    records += [rec, json.loads(fitted(rec, big, 2048))]
    return records


def test_dead_letter_records_match_their_schema() -> None:
    v = _validator(record_schema())
    records = _records()
    for rec in records:
        assert _errors(v, rec) == [], rec
    assert {r["raw_encoding"] for r in records} == {"utf-8", "base64"}
    assert any(r["raw_truncated"] for r in records)
    wrong = [
        {**records[0], "extra": 1},
        {k: x for k, x in records[0].items() if k != "received_at"},
        {**records[0], "raw_encoding": "latin-1"},
        {**records[0], "source": {"topic": "t"}},
    ]
    for rec in wrong:
        assert _errors(v, rec), rec


def test_care_events_of_every_kind_match_their_schema() -> None:
    v = _validator({"$schema": "http://json-schema.org/draft-07/schema#", **care_event_schema()})
    seen = set()
    for corpus in CORPORA:
        for path in sorted(corpus.glob("*.ndjson")):
            rules_file = path.with_name(path.stem + ".rules.toml")
            rules = load_rules(rules_file) if rules_file.exists() else DEFAULT_RULES
            for line in lines_of(path):
                for ev in ingest(line.raw, rules=rules).events:
                    wire = json.loads(encode_event(ev))
                    assert _errors(v, wire) == [], wire
                    seen.add(wire["kind"])
    assert seen == set(KIND.values())
    tick = Tick(time=datetime(2026, 5, 1, tzinfo=UTC))
    assert _errors(v, json.loads(encode_event(tick))) == []
    assert _errors(v, {"kind": "discharge", "time": "x"})
