"""No clinical content in logs.

The Kafka clients log whole records at DEBUG: aiokafka ``Sending (key=%s value=%s)`` and
every fetch response, Faust ``send: topic=%r k=%r v=%r``, kafka-python the raw protocol
bytes it sends and receives. Keys are patient keys; values are FHIR documents, events,
Tasks and dead letters. :func:`install` wraps the log record factory so that a record of
those libraries keeps only plain arguments (text, numbers, and containers of them): bytes
become ``<N bytes>`` and any other object its type name (``<FetchResponse_v11>``). What
their debug lines are for (topics, partitions, offsets, hosts, timings) remains. Our own
lines (``carepath.*``) name only topics, partitions, offsets, event ids and rule ids, and
an event id only through :func:`event_label`: a message Bundle without ``Bundle.id`` is
identified by its ``identifier.value`` (contract §7), which may be an MRN or an account
number, so such an id is logged as a hash.

Installed by every ``carepath`` command (``agents.cli.main``) before anything logs.
"""

from __future__ import annotations

import logging
import re
from hashlib import blake2b
from typing import Any

LIBRARIES = ("aiokafka", "kafka", "faust", "mode")
_PLAIN = (str, int, float, bool, type(None))
#: Event ids the boundary builds from resource types, FHIR ids and content hashes (contract
#: §7): ``Type/id``, ``Type/id/_history/v``, ``Type/id#hash``, ``Type#hash``, a death's
#: ``…/death``. Anything else is an ``identifier.value``.
_OWN_ID = re.compile(
    r"[A-Z][A-Za-z]{1,63}(?:/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?)?"
    r"(?:#[0-9a-f]{16})?(?:/death)?"
)


def event_label(event_id: str) -> str:
    """``event_id`` for a log line: as it is when the boundary built it from a resource
    type, id, version or content hash; else (an ``identifier.value``) ``identifier#`` and
    16 hex digits of its hash, the same for the same id, never the value."""
    if ("/" in event_id or "#" in event_id) and _OWN_ID.fullmatch(event_id):
        return event_id
    digest = blake2b(event_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"identifier#{digest}"


def install() -> None:
    """Redact the arguments of the Kafka libraries' log records (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "carepath_safe", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.args and _from_library(record.name):
            record.args = plain(record.args)
        return record

    factory.carepath_safe = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _from_library(name: str) -> bool:
    return any(name == lib or name.startswith(f"{lib}.") for lib in LIBRARIES)


def plain(value: Any) -> Any:
    """``value`` with bytes replaced by their length and other objects by their type."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, tuple | list | set | frozenset):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return f"<{type(value).__name__}>"
