"""One dead-letter record per inbound document, through a worker too (issue 11).

A document's problems can be found by both agents: the ingest agent's (an invalid entry of
a Bundle) on the ``care.inbound`` partition, the rules' (a refused Task update, a state
over its cap) on the ``care.events`` partitions of each patient it concerns — other
partitions, perhaps other workers. Embedded replay lists them all in one record; so does
the worker, by collecting the document's **parts**:

- The ingest agent numbers the events of a document that needs it (two events or more, or
  one event and problems of its own) with the header ``carepath-part: <part>/<parts>``;
  part 0 is its own problems when it has some, the events follow in document order.
- Every event so numbered gives one part, with its problems or none, keyed by the
  document's ``care.inbound`` position to the documents topic (the transition agent's
  dead letters of it become parts: :meth:`agents.policy.ErrorPolicy.dead_letter`).
- The documents agent keeps the parts of each document in a table (changelogged, so a
  restart or rebalance keeps them) and, when all are in, writes the one record — if any
  part had a problem — in the embedded order (:func:`schemas.deadletter.merged_issues`).
  A done marker then stands for the document, so a part repeated after a stop (Kafka
  delivers at least once) is not a second record.

The usual document — one event and no problem of the ingest agent's — has no parts: its
one dead letter, if any, is written where it is found. Done markers and documents whose
parts did not all arrive (a worker of an older version took one of its events, say) are
swept after :data:`KEEP_SECONDS` (an hourly :data:`SWEEP` message to every partition, so
the sweep runs inside the agent, on that partition's entries); a partial one with problems
is written then, saying which parts are missing, so nothing found is lost.

A part holds issues (diagnostics, expressions) and positions: no raw document, no
identifier value besides the dead letter's key (a patient key, as a transition-stage
record is keyed today).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.deadletter import merged_issues

#: Seconds a done marker, or a document still missing parts, is kept.
KEEP_SECONDS = 24 * 3600.0

Issue = dict[str, object]
Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a document: its index of ``parts``, its issues and how many more
    problems it had than listed; the dead-letter key its stage would have used."""

    part: int
    parts: int
    issues: list[Issue]
    more: int = 0
    key: bytes | None = None
    #: why (``agents.metrics.DEAD_LETTER_REASONS``), when the part has a problem
    reason: str = ""

    def encode(self) -> bytes:
        key = None if self.key is None else base64.b64encode(self.key).decode("ascii")
        doc = {"i": self.part, "n": self.parts, "issues": self.issues, "more": self.more}
        return orjson.dumps({**doc, "key": key, "reason": self.reason})


def decode_part(value: bytes) -> Part:
    """A part from the documents topic (``ValueError`` when it is not one)."""
    doc = orjson.loads(value)
    part, parts, more = int(doc["i"]), int(doc["n"]), int(doc.get("more", 0))
    issues = doc.get("issues") or []
    if not (0 <= part < parts) or more < 0 or not isinstance(issues, list):
        raise ValueError("not a document part")
    key, reason = doc.get("key"), str(doc.get("reason") or "")
    return Part(part, parts, issues, more, None if key is None else base64.b64decode(key), reason)


@dataclass(frozen=True, slots=True)
class Complete:
    """A document whose parts are all in (or swept with parts missing): its one record's
    issues, count of problems not listed, key and headers, and the reason of its first
    part with a problem."""

    issues: list[Issue]
    more: int
    key: bytes | None
    headers: list[Header]
    reason: str


def collect(
    stored: bytes | None, part: Part, headers: Sequence[Header], now: float, partition: int = 0
) -> tuple[bytes, Complete | None]:
    """The document's entry after ``part`` (with its message's ``headers``, read from
    ``partition`` of the documents topic) and, when that was its last part, what its record
    holds (``None`` also when no part had a problem: no record). A part of a document
    already done, or one already in, changes nothing."""
    entry = _entry(stored)
    if entry is not None and "done" in entry:
        return stored or b"", None
    if entry is None or entry.get("n") != part.parts:
        entry = {"n": part.parts, "t": now, "p": partition, "got": 0, "bits": "", "shares": {}}
    bits = _bits(entry, part.parts)
    byte, bit = divmod(part.part, 8)
    if bits[byte] >> bit & 1:
        return _dump(entry), None
    bits[byte] |= 1 << bit
    entry["bits"] = base64.b64encode(bits).decode("ascii")
    entry["got"] += 1
    if part.issues or part.more:
        entry["shares"][str(part.part)] = [part.issues, part.more, part.reason]
    if "first" not in entry or part.part < entry["first"]:  # the record takes the first's
        entry["first"] = part.part
        entry["key"] = None if part.key is None else base64.b64encode(part.key).decode()
        entry["hdr"] = [[k, base64.b64encode(v).decode()] for k, v in headers]
    if entry["got"] < part.parts:
        return _dump(entry), None
    return done_marker(now, int(entry.get("p", partition))), _complete(entry, missing=())


def sweep(
    items: Iterable[tuple[bytes, bytes]], now: float, partition: int, keep: float = KEEP_SECONDS
) -> list[tuple[bytes, Complete | None]]:
    """The entries of ``partition`` older than ``keep`` seconds to delete, each with the
    record of a document swept with parts missing (``None``: a done marker, or nothing
    found)."""
    out: list[tuple[bytes, Complete | None]] = []
    for key, stored in items:
        entry = _entry(stored)
        if entry is None:
            continue
        if int(entry.get("p", -1)) != partition:  # another partition's: swept with it
            continue
        since = entry.get("done", entry.get("t", 0.0))
        if now - float(since) < keep:
            continue
        if "done" in entry:
            out.append((key, None))
            continue
        bits = _bits(entry, int(entry["n"]))
        missing = [i for i in range(int(entry["n"])) if not bits[i // 8] >> (i % 8) & 1]
        out.append((key, _complete(entry, missing)))
    return out


def done_marker(now: float, partition: int) -> bytes:
    return orjson.dumps({"done": now, "p": partition})


#: The value of a sweep message: the timer sends one to every partition of the documents
#: topic, so that the sweep runs in the documents agent, on that partition's entries (a
#: Faust table is written from a stream, its changelog partition the message's).
SWEEP = b'{"sweep":true}'


def is_sweep(value: bytes) -> bool:
    return value == SWEEP


def _complete(entry: dict[str, Any], missing: Sequence[int]) -> Complete | None:
    shares = [entry["shares"][i] for i in sorted(entry["shares"], key=int)]
    if not shares:
        return None
    issues, more = merged_issues([(share[0], int(share[1])) for share in shares])
    if missing:
        issues.append(
            {
                "severity": "warning",
                "code": "incomplete",
                "diagnostics": f"parts {_listed(missing)} of the "
                f"{entry['n']} parts of this document did not reach the documents agent "
                "within a day: this record lists the problems of the parts that did",
            }
        )
    key = entry.get("key")
    headers = [(k, base64.b64decode(v)) for k, v in entry.get("hdr", [])]
    key_bytes = None if key is None else base64.b64decode(key)
    return Complete(issues, more, key_bytes, headers, str(shares[0][2]))


def _bits(entry: dict[str, Any], parts: int) -> bytearray:
    """Which parts are in: one bit a part (a document of 4,000 events keeps 500 bytes, not a
    list rewritten with every part)."""
    bits = bytearray(base64.b64decode(entry.get("bits") or ""))
    need = (parts + 7) // 8
    return bits + bytearray(need - len(bits)) if len(bits) < need else bits


def _listed(numbers: Sequence[int], most: int = 20) -> str:
    """``numbers`` for a diagnostics line: the first ``most``, then how many more."""
    text = ", ".join(str(i) for i in numbers[:most])
    return text + (f" and {len(numbers) - most} more" if len(numbers) > most else "")


def _entry(stored: bytes | None) -> dict[str, Any] | None:
    if not stored:
        return None
    try:
        entry = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def _dump(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry)
