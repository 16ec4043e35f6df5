"""Kafka record headers of ``care.inbound`` and ``care.events`` (contract §2, §9): one name
per concept."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: The system that sent the document (the channel's identity: patient keys, contract §2).
SOURCE = "carepath-source"
#: ``replay --broker``: the run a published document belongs to.
RUN = "carepath-run"
#: ``replay --broker``: where the document came from, ``file:line``.
ORIGIN = "carepath-origin"
#: ``replay --broker --until``: the reference time of the plausibility checks (ISO 8601), as
#: embedded replay takes ``--until``; without it the worker takes the wall clock.
REFERENCE = "carepath-reference"
#: On ``care.events``, set by the ingest agent: the ``care.inbound`` record an event was
#: read from, ``topic:partition:offset`` (a dead letter of the transition agent names it).
INBOUND = "carepath-inbound"
#: On ``care.events``, set by the ingest agent when a document's dead letter is put together
#: from several parts (:mod:`agents.documents`): ``<part>/<parts>`` (part 0 is the ingest
#: agent's own problems).
PART = "carepath-part"

Headers = Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None


def header(headers: Headers, name: str) -> bytes | None:
    """The last value of header ``name`` (Kafka allows repeats), or ``None``."""
    if headers is None:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    found = None
    for key, value in items:
        if key == name:
            found = value
    return found


def source_of(headers: Headers) -> str | None:
    """The channel source from ``carepath-source``: ``None`` when absent or blank."""
    value = header(headers, SOURCE)
    if not value:
        return None
    text = value.decode("utf-8", "replace").strip()
    return text or None


def run_headers(run: str, path: str, line: int, source: str | None) -> list[tuple[str, bytes]]:
    """``replay --broker``: the headers of one published document (run id, origin, and the
    channel source when ``--source`` names one)."""
    headers = [(RUN, run.encode()), (ORIGIN, f"{path}:{line}".encode())]
    if source is not None:
        headers.append((SOURCE, source.encode()))
    return headers


def inbound_of(headers: Headers) -> tuple[str, int, int] | None:
    """The ``care.inbound`` position in ``carepath-inbound``, or ``None``."""
    value = header(headers, INBOUND)
    if not value:
        return None
    topic, _, rest = value.decode("utf-8", "replace").partition(":")
    partition, _, offset = rest.partition(":")
    if not (topic and partition.isdigit() and offset.isdigit()):
        return None
    return topic, int(partition), int(offset)


def part_of(headers: Headers) -> tuple[int, int] | None:
    """``(part, parts)`` from ``carepath-part``, or ``None`` (absent or malformed)."""
    value = header(headers, PART)
    if not value:
        return None
    part, _, parts = value.partition(b"/")
    if not (part.isdigit() and parts.isdigit()) or int(part) >= int(parts):
        return None
    return int(part), int(parts)
