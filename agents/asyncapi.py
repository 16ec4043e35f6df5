"""``carepath asyncapi``: the Kafka contract (contract.md §1–§6) as an AsyncAPI 3.0 document,
generated from the code that implements it.

Where each part comes from: topic names and partition counts are the defaults of
:class:`~agents.settings.Settings` (every one is a ``CAREPATH_*`` setting); the output topics'
configuration is the worker's (``agents.worker.COMPACT``); header names are
:mod:`agents.headers`; output keys are :func:`schemas.outbound.output_key`'s form; the
dead-letter record's JSON Schema is :func:`schemas.deadletter.record_schema`; the
``care.events`` schema is derived from the event dataclasses as :mod:`schemas.wire` encodes
them. FHIR payloads refer to the official FHIR R4 JSON Schema by URL.

The document is committed as ``docs/asyncapi.json``; tests/unit/test_asyncapi.py fails when
it is stale and validates it against the official AsyncAPI 3.0.0 JSON Schema.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from typing import Any

from agents import headers
from agents.settings import Settings
from pipeline.events import KIND
from schemas.deadletter import record_schema
from schemas.outbound import DEFAULT_BASE
from schemas.wire import _RENAMED as WIRE_RENAMED  # the encoder's own field renames

ASYNCAPI = "3.0.0"
CONTRACT_VERSION = "2.0.0"  # spec/contract.md v2
FHIR_SCHEMA = "https://hl7.org/fhir/R4/fhir.schema.json"
KAFKA_BINDING = "0.5.0"
Json = dict[str, Any]

_CHANNEL_TEXT = {
    "inbound": "FHIR R4 JSON in: hospital systems, case-manager systems and integrators "
    "write here (contract §2). Keys are not trusted for ordering.",
    "events": "Normalized care events keyed by patient, clock ticks sent to every "
    "partition, and ticks keyed by one patient (contract §3, §8). Internal to carepath: "
    "written by the ingest agent and the clock, read by the transition agent.",
    "tasks": "Every version of every Task (contract §5); compacted, so the topic keeps the "
    "latest version of each Task for ever.",
    "referrals": "Every version of every transition ServiceRequest (contract §5); compacted.",
    "deadletter": "One record per inbound document with problems, listing them all "
    "(contract §6), with the inbound record's key and headers; at least once: a repeat "
    "after a worker stop names the same `source`.",
}


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


def _topic(kind: str) -> str:
    value: str = _default(f"topic_{kind}")
    return value


def _header_schema(run_headers: bool, inbound: bool = False) -> Json:
    props: Json = {
        headers.SOURCE: {
            "type": "string",
            "description": "The system that sent the document: the source part of the "
            "patient key (contract §2). Set by the publisher's own connection or the HTTP "
            "front door from the authenticated sender, never by the document.",
        },
    }
    if run_headers:
        props[headers.RUN] = {
            "type": "string",
            "description": "`carepath replay --broker`: the run the document belongs to.",
        }
        props[headers.ORIGIN] = {
            "type": "string",
            "description": "`carepath replay --broker`: where the document came from, `file:line`.",
        }
        props[headers.REFERENCE] = {
            "type": "string",
            "format": "date-time",
            "description": "`carepath replay --broker --until T`: the reference time of the "
            "plausibility checks for this document (T, as embedded replay takes `--until`); "
            "without it the worker takes its wall clock (issue 11, contract §9).",
        }
    if inbound:
        props[headers.INBOUND] = {
            "type": "string",
            "pattern": "^[^:]+:[0-9]+:[0-9]+$",
            "description": "Set by the ingest agent on every event: the `care.inbound` record "
            "it was read from, `topic:partition:offset`; a dead letter of the transition "
            "stage names that document with it.",
        }
        props[headers.PART] = {
            "type": "string",
            "pattern": "^[0-9]+/[0-9]+$",
            "description": "Set by the ingest agent on the events of a document whose one "
            "dead letter may have several parts (two events or more, or one event and "
            "problems of the ingest agent's): `<part>/<parts>`. Each such event sends its "
            "problems, or none, to the worker's internal `<app id>-documents` topic, whose "
            "agent writes the document's one record (issue 11).",
        }
    return {"type": "object", "properties": props}


def _key(schema: Json) -> Json:
    return {"kafka": {"key": schema, "bindingVersion": KAFKA_BINDING}}


def _channel(kind: str, message: str, partitions: int, config: Json | None = None) -> Json:
    binding: Json = {"topic": _topic(kind), "partitions": partitions}
    if config:
        binding["topicConfiguration"] = config
    binding["bindingVersion"] = KAFKA_BINDING
    return {
        "address": _topic(kind),
        "title": _topic(kind),
        "description": _CHANNEL_TEXT[kind] + f" Name: setting CAREPATH_TOPIC_{kind.upper()}.",
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {"kafka": binding},
    }


def _messages() -> Json:
    resource_key = "^{}/[A-Za-z0-9\\-.]{{1,64}}$"
    return {
        "fhirDocument": {
            "name": "fhirDocument",
            "title": "FHIR R4 document",
            "contentType": "application/fhir+json",
            "description": "One FHIR R4 JSON object (UTF-8): a message Bundle (Da Vinci "
            "notifications), a collection/batch/transaction Bundle, or a bare resource of a "
            "recognized kind; anything else valid is ignored with a reason, anything invalid "
            "is dead-lettered (contract §2, §3, §6).",
            "headers": _header_schema(run_headers=True),
            "payload": {"$ref": FHIR_SCHEMA},
            "bindings": _key({"type": ["string", "null"], "description": "anything, or none"}),
        },
        "careEvent": {
            "name": "careEvent",
            "title": "Normalized care event or clock tick",
            "contentType": "application/json",
            "description": "The project's own schema (schemas/wire.py); headers are the "
            "inbound record's plus `carepath-inbound`. A clock tick is sent to every partition "
            "with no key (live: every due patient of the partition advances); "
            "`replay --broker --until T` sends ticks keyed by the patient keys of its own run, "
            "which advance only that patient (issue 11: a replay never moves the clock of "
            "other patients on a shared broker).",
            "headers": _header_schema(run_headers=True, inbound=True),
            "payload": {"$ref": "#/components/schemas/CareEvent"},
            "bindings": _key({"type": "string", "description": "the patient key"}),
        },
        "task": _output("Task", resource_key.format("Task")),
        "serviceRequest": _output("ServiceRequest", resource_key.format("ServiceRequest")),
        "deadLetter": {
            "name": "deadLetter",
            "title": "Dead-letter record",
            "contentType": "application/json",
            "description": "What is wrong with one inbound document, and the document "
            "(contract §6). Key and headers: the inbound record's.",
            "headers": _header_schema(run_headers=True),
            "payload": {"$ref": "#/components/schemas/DeadLetterRecord"},
            "bindings": _key({"type": ["string", "null"], "description": "as received"}),
        },
    }


def _output(rtype: str, key_pattern: str) -> Json:
    base = DEFAULT_BASE
    return {
        "name": rtype[0].lower() + rtype[1:],
        "title": f"FHIR R4 {rtype}",
        "contentType": "application/fhir+json",
        "description": f"The whole {rtype} on every change; a later version replaces an "
        f"earlier one with the same id (contract §5). The patient key is "
        f"`{'for' if rtype == 'Task' else 'subject'}.identifier` (system "
        f"`{base}/patient-key`, configurable base); the rule id is in `reasonCode` "
        f"(`{base}/CodeSystem/rule`).",
        "payload": {"$ref": f"{FHIR_SCHEMA}#/definitions/{rtype}"},
        "bindings": _key({"type": "string", "pattern": key_pattern}),
    }


def _operation(action: str, channel: str, message: str, summary: str) -> Json:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
    }


def _json_type(hint: Any) -> Json:
    """JSON Schema of one event field as :func:`schemas.wire.encode_event` writes it."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [_json_type(a) for a in args if a is not type(None)]
        nullable = type(None) in args
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return {"anyOf": [schema, {"type": "null"}]} if nullable else schema
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {"type": "string", "enum": [m.value for m in hint]}
    if typing.get_origin(hint) is tuple:
        return {"type": "array", "items": _json_type(args[0])}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return {"type": simple[hint]}


def care_event_schema() -> Json:
    """One schema per event kind (``kind`` names it) and the tick."""
    kinds = []
    for cls, kind in KIND.items():
        hints = typing.get_type_hints(cls)
        props: Json = {"kind": {"const": kind}}
        required = ["kind"]
        for f in dataclasses.fields(cls):
            name = WIRE_RENAMED.get(f.name, f.name)
            props[name] = _json_type(hints[f.name])
            required.append(name)
        kinds.append(
            {
                "title": cls.__name__,
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        )
    tick = {
        "title": "Tick",
        "type": "object",
        "properties": {
            "kind": {"const": "tick"},
            "time": {"type": "string", "format": "date-time"},
        },
        "required": ["kind", "time"],
        "additionalProperties": False,
    }
    return {"oneOf": [*kinds, tick]}


def document() -> Json:
    """The AsyncAPI 3.0 document (from the worker's point of view: what it receives and
    sends), for the default topic names and partition counts."""
    from agents.worker import COMPACT

    parts, inbound_parts = _default("partitions"), _default("inbound_partitions")
    compact = {k: [v] for k, v in COMPACT.items()}
    return {
        "asyncapi": ASYNCAPI,
        "info": {
            "title": "carepath",
            "version": CONTRACT_VERSION,
            "description": "Behavioral-health care transitions on Kafka: FHIR R4 documents "
            "in, FHIR R4 Tasks and ServiceRequests out (spec/contract.md v2). Generated by "
            "`carepath asyncapi`; topic names and partition counts are the defaults of the "
            "CAREPATH_* settings.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": _default("broker").split("://", 1)[-1],
                "protocol": "kafka",
                "description": "The broker of setting CAREPATH_BROKER (kafka://host:port); "
                "`carepath broker up` starts a local one for development.",
            }
        },
        "channels": {
            _topic("inbound"): _channel("inbound", "fhirDocument", inbound_parts),
            _topic("events"): _channel("events", "careEvent", parts),
            _topic("tasks"): _channel("tasks", "task", parts, compact),
            _topic("referrals"): _channel("referrals", "serviceRequest", parts, compact),
            _topic("deadletter"): _channel("deadletter", "deadLetter", parts),
        },
        "operations": {
            "receiveInbound": _operation(
                "receive", _topic("inbound"), "fhirDocument", "ingest agent: decode, validate"
            ),
            "sendEvents": _operation(
                "send", _topic("events"), "careEvent", "ingest agent and clock: events, ticks"
            ),
            "receiveEvents": _operation(
                "receive", _topic("events"), "careEvent", "transition agent: apply the rules"
            ),
            "sendTasks": _operation("send", _topic("tasks"), "task", "transition agent"),
            "sendReferrals": _operation(
                "send", _topic("referrals"), "serviceRequest", "transition agent"
            ),
            "sendDeadLetters": _operation(
                "send",
                _topic("deadletter"),
                "deadLetter",
                "ingest and transition agents; the documents agent for a document whose "
                "problems several parts found",
            ),
        },
        "components": {
            "schemas": {"DeadLetterRecord": record_schema(), "CareEvent": care_event_schema()},
            "messages": _messages(),
        },
    }


def render() -> str:
    """The document as committed: indented JSON with a final newline."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
