"""``carepath replay`` in embedded mode (contract §9): files in, outputs and dead letters out.

Reads NDJSON in file order, runs ingest and decide in one process with no broker, writes
one FHIR resource per line in emission order. Byte-identical output for the same inputs and
rules: output content depends only on event time, never on the wall clock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from agents.engine import REPLAY_FREEZE_EVERY, Engine
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


def dead_letter_line(
    err: InvalidInput | Rejected, raw: bytes, source: dict[str, object], limits: Limits
) -> bytes:
    received = datetime.now(UTC).isoformat()
    if isinstance(err, Rejected):
        rec = dead_letter_record(
            (err.diagnostics, err.expression), raw, source, received, limits.max_bytes
        )
    else:
        rec = dead_letter_record(err, err.raw, source, received, limits.max_bytes)
    return orjson.dumps(rec) + b"\n"


def write_outputs(out: IO[bytes], outputs: list[Output], base: str) -> None:
    for o in outputs:
        out.write(render(o, base) + b"\n")


def replay(
    inputs: list[str],
    out_path: str,
    dlq_path: str | None,
    until: datetime | None,
    rules: RuleConfig,
    limits: Limits,
    base: str,
) -> Engine:
    engine = Engine(rules, limits, base, freeze_every=REPLAY_FREEZE_EVERY)
    with ExitStack() as stack:
        out = stack.enter_context(open(out_path, "wb"))
        dlq: IO[bytes] = (
            stack.enter_context(open(dlq_path, "wb")) if dlq_path else sys.stderr.buffer
        )
        for path, n, raw in read_lines(inputs):
            result = engine.feed(raw)
            write_outputs(out, result.outputs, base)
            source: dict[str, object] = {"file": path, "line": n}
            for err in result.errors:
                dlq.write(dead_letter_line(err, raw, source, limits))
        if until is not None:
            write_outputs(out, engine.tick(until), base)
    return engine


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
