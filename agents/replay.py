"""``carepath replay`` in embedded mode (contract §9): files in, outputs and dead letters out.

Reads NDJSON in file order, runs ingest and decide in one process with no broker, writes
one FHIR resource per line in emission order. Byte-identical output for the same inputs and
rules: output content depends only on event time, never on the wall clock. ``--until`` is
also the reference time of the plausibility check (issue 11). One dead-letter record per
document at most, listing all its problems, with the document as it came. Without a
dead-letter file, standard error gets each dead letter's source and diagnostics only, never
the document; ``--ignored`` gets one line per ignored resource or event with its reason.

Lines are read in chunks: a line over the size limit is never held whole (its first
``max_bytes + 1`` bytes stand for it, a :class:`~schemas.inbound.types.Cut` that knows its
length), so a 300 MB line costs 1 MiB of memory and becomes one dead letter. Every file
written holds patient data and is created ``0600`` (:func:`agents.files.private_writer`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO

import orjson

from agents.engine import REPLAY_FREEZE_EVERY, Engine
from agents.files import private_writer
from agents.reporting import dead_letter_notice, ignored_line
from pipeline.config import RuleConfig
from pipeline.decide import EARLIEST, LATEST
from pipeline.outputs import Output, Rejected
from schemas.deadletter import document_record
from schemas.inbound.types import Cut
from schemas.ingest import InvalidInput, Limits
from schemas.outbound import render

_CHUNK = 1 << 16


def read_lines(
    paths: list[str], max_bytes: int = Limits().max_bytes
) -> Iterator[tuple[str, int, bytes]]:
    """(file, line number, bytes) for each non-blank line; ``-`` is standard input. A
    line longer than ``max_bytes`` is read in chunks and given as a :class:`Cut`: its
    first ``max_bytes + 1`` bytes and its length (ingest makes it one dead letter)."""
    for path in paths:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            yield from _lines(path, stream, max_bytes)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def _lines(path: str, stream: BinaryIO, max_bytes: int) -> Iterator[tuple[str, int, bytes]]:
    n, room = 0, max_bytes + 2  # the line and its CR LF
    while line := stream.readline(room):
        n += 1
        if len(line) == room and not line.endswith(b"\n"):
            yield path, n, _cut(stream, line, max_bytes)
            continue
        raw = line.rstrip(b"\r\n")
        if raw.strip():
            yield path, n, raw


def _cut(stream: BinaryIO, head: bytes, max_bytes: int) -> Cut:
    """The rest of a line over the limit read and dropped, chunk by chunk."""
    size, tail = len(head), b""
    while chunk := stream.readline(_CHUNK):
        size += len(chunk)
        tail = (tail + chunk)[-2:]
        if chunk.endswith(b"\n"):
            break
    size -= 2 if tail == b"\r\n" else 1 if tail.endswith(b"\n") else 0
    return Cut.of(head[: max_bytes + 1], size)


def dead_letter(
    problems: InvalidInput | Rejected | Sequence[InvalidInput | Rejected],
    raw: bytes,
    source: dict[str, object],
    limits: Limits,
    unlisted: int = 0,
) -> dict[str, object]:
    """The one dead-letter record of the document ``raw`` and its problems (a
    ``Result``'s ``errors`` and ``unlisted``)."""
    found = [problems] if isinstance(problems, InvalidInput | Rejected) else problems
    received = datetime.now(UTC).isoformat()
    return document_record(found, raw, source, received, limits.max_bytes, unlisted=unlisted)


@dataclass(frozen=True, slots=True)
class Sinks:
    """Where a replay writes: outputs, dead letters (``None``: notices on standard
    error), ignored records (``None``: counted only)."""

    out: str
    dead_letter: str | None = None
    ignored: str | None = None


def write_outputs(out: IO[bytes], outputs: list[Output], base: str) -> None:
    for o in outputs:
        out.write(render(o, base) + b"\n")


def replay(
    inputs: list[str],
    sinks: Sinks,
    until: datetime | None,
    rules: RuleConfig,
    limits: Limits,
    base: str,
    source: str | None = None,
) -> Engine:
    """Replay ``inputs``; ``source`` is every document's channel source (``--source``);
    ``until`` the final tick and the reference time of the plausibility check."""
    engine = Engine(
        rules, limits, base, freeze_every=REPLAY_FREEZE_EVERY, source=source, reference=until
    )
    with ExitStack() as stack:
        out = stack.enter_context(private_writer(sinks.out))
        dlq = stack.enter_context(private_writer(sinks.dead_letter)) if sinks.dead_letter else None
        ign = stack.enter_context(private_writer(sinks.ignored)) if sinks.ignored else None
        for path, n, raw in read_lines(inputs, limits.max_bytes):
            result = engine.feed(raw)
            write_outputs(out, result.outputs, base)
            if not (result.errors or (ign and result.ignored)):
                continue
            where: dict[str, object] = {"file": path, "line": n}
            if result.errors:
                record = dead_letter(result.errors, raw, where, limits, result.unlisted)
                _write_dead_letter(dlq, record)
            if ign is not None:
                for item in result.ignored:
                    ign.write(ignored_line(item, where))
        if until is not None:
            write_outputs(out, engine.tick(until), base)
    return engine


def _write_dead_letter(dlq: IO[bytes] | None, record: dict[str, object]) -> None:
    if dlq is not None:
        dlq.write(orjson.dumps(record) + b"\n")
    else:
        print(dead_letter_notice(record), file=sys.stderr)


def parse_until(text: str) -> datetime:
    """An ``--until`` time; it must carry a zone (contract §2: no zone is invalid) and lie
    in the years the pipeline accepts (1900–2199)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"--until {text!r}: a time zone is required (e.g. Z)")
    try:
        dt = dt.astimezone(UTC)
    except OverflowError:
        dt = EARLIEST - timedelta(days=1) if dt.year < EARLIEST.year else LATEST
    if not EARLIEST <= dt < LATEST:
        years = f"{EARLIEST.year}–{LATEST.year - 1}"
        raise ValueError(f"--until {text!r}: outside the years the pipeline accepts ({years})")
    return dt


def existing(path: str) -> Path:
    p = Path(path)
    if path != "-" and not p.is_file():
        raise FileNotFoundError(path)
    return p
