"""The project schema on ``care.events``: normalized events and clock ticks as JSON.

``{"kind": "<contract §3 kind>", ...fields}``; a tick is ``{"kind": "tick", "time": ...}``.
Times are ISO 8601 UTC; enums by value. A field whose name is taken by the envelope
(``ConditionRecorded.kind``) travels under another name (``contra``). Round-trip exact
(tests/unit/test_wire.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from pipeline.events import KIND, CareEvent, Contra, Disposition, Event, Instrument, Tick
from pipeline.levels import Level

BY_KIND: dict[str, type[CareEvent]] = {v: k for k, v in KIND.items()}
_ENUM_FIELDS: dict[str, type[Enum]] = {
    "level": Level,
    "instrument": Instrument,
    "disposition": Disposition,
    "contra": Contra,
}
#: event field name → wire name, for fields named like the envelope's keys
_RENAMED = {"kind": "contra"}
_UNRENAMED = {v: k for k, v in _RENAMED.items()}


class WireError(ValueError):
    """A ``care.events`` message that is not a valid project event."""


def encode_event(event: Event | Tick) -> bytes:
    if isinstance(event, Tick):
        return orjson.dumps({"kind": "tick", "time": event.time.isoformat()})
    doc: dict[str, Any] = {"kind": KIND[type(event)]}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        doc[_RENAMED.get(f.name, f.name)] = value
    return orjson.dumps(doc)


def decode_event(raw: bytes) -> Event | Tick:
    try:
        doc = orjson.loads(raw)
        kind = doc.pop("kind")
        if kind == "tick":
            return Tick(time=datetime.fromisoformat(doc["time"]))
        cls = BY_KIND[kind]
        doc["time"] = datetime.fromisoformat(doc["time"])
        for name, enum in _ENUM_FIELDS.items():
            if doc.get(name) is not None:
                doc[name] = enum(doc[name])
        if "appointments" in doc:
            doc["appointments"] = tuple(doc["appointments"])
        for wire_name, name in _UNRENAMED.items():
            if wire_name in doc:
                doc[name] = doc.pop(wire_name)
        event: Event = cls(**doc)  # type: ignore[assignment]
        return event
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise WireError(f"care.events: not a project event: {e}") from e
