"""``carepath replay`` in embedded mode (contract §9): files in, outputs and dead letters out.

Reads NDJSON in file order, runs ingest and decide in one process with no broker, writes
one FHIR resource per line in emission order. Byte-identical output for the same inputs and
rules: output content depends only on event time, never on the wall clock. Without a
dead-letter file, standard error gets each dead letter's source and diagnostics only, never
the document; ``--ignored`` gets one line per ignored resource or event with its reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from agents.engine import REPLAY_FREEZE_EVERY, Engine
from agents.reporting import dead_letter_notice, ignored_line
from pipeline.config import RuleConfig
from pipeline.outputs import Output, Rejected
from schemas.deadletter import dead_letter_record
from schemas.ingest import InvalidInput, Limits
from schemas.outbound import render


def read_lines(paths: list[str]) -> Iterator[tuple[str, int, bytes]]:
    """(file, line number, bytes) for each non-blank line; ``-`` is standard input."""
    for path in paths:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            for n, line in enumerate(stream, 1):
                raw = line.rstrip(b"\r\n")
                if raw.strip():
                    yield path, n, raw
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def dead_letter(
    err: InvalidInput | Rejected, raw: bytes, source: dict[str, object], limits: Limits
) -> dict[str, object]:
    received = datetime.now(UTC).isoformat()
    if isinstance(err, Rejected):
        return dead_letter_record(
            (err.diagnostics, err.expression), raw, source, received, limits.max_bytes
        )
    return dead_letter_record(err, err.raw, source, received, limits.max_bytes)


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
    """Replay ``inputs``; ``source`` is every document's channel source (``--source``)."""
    engine = Engine(rules, limits, base, freeze_every=REPLAY_FREEZE_EVERY, source=source)
    with ExitStack() as stack:
        out = stack.enter_context(open(sinks.out, "wb"))
        dlq = stack.enter_context(open(sinks.dead_letter, "wb")) if sinks.dead_letter else None
        ign = stack.enter_context(open(sinks.ignored, "wb")) if sinks.ignored else None
        for path, n, raw in read_lines(inputs):
            result = engine.feed(raw)
            write_outputs(out, result.outputs, base)
            if not (result.errors or (ign and result.ignored)):
                continue
            where: dict[str, object] = {"file": path, "line": n}
            for err in result.errors:
                _write_dead_letter(dlq, dead_letter(err, raw, where, limits))
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
    """An ``--until`` time; it must carry a zone (contract §2: no zone is invalid)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"--until {text!r}: a time zone is required (e.g. Z)")
    return dt.astimezone(UTC)


def existing(path: str) -> Path:
    p = Path(path)
    if path != "-" and not p.is_file():
        raise FileNotFoundError(path)
    return p
