"""Dense building blocks of the state encoding, version 4 (:mod:`pipeline.codec`): each
writer has its exact reader, and a value a dense form cannot hold exactly is written as
itself (or the caller falls back to a plain form).
"""

from __future__ import annotations

import base64
import struct
from itertools import accumulate
from math import gcd
from operator import itemgetter, sub
from typing import Any

Json = Any

#: Strings a state repeats (rule ids, care-task codes, Task/ServiceRequest statuses,
#: priorities, businessStatus texts, levels, directions, instruments, contraindication
#: kinds), written as their index. Append only: a stored index must keep its word.
WORDS: tuple[str, ...] = (
    # rule ids
    "C-AMA", "C-CONTRA", "C-CRISIS", "C-DEATH-REVIEW", "C-DISCHARGE-RISK", "C-DISENGAGED",
    "C-DROPOUT", "C-ED-FOLLOWUP", "C-ED-REVIEW", "C-EXIT-RISK", "C-FOLLOWUP",
    "C-FOLLOWUP-LOST", "C-FOLLOWUP-MISSED", "C-HIGH-HOURS", "C-INACTIVE", "C-LOW-HOURS",
    "C-NO-SHOW", "C-OP-INACTIVE", "C-READMIT", "C-RECERT", "C-REFERRAL-EXPIRED",
    "C-REFERRAL-FAILED", "C-REFERRAL-STALLED", "C-SAFETY", "C-SI-SCREEN", "C-SUD",
    "L-DECEASED", "L-ENROLLED", "L-FOLLOWUP-LATE", "L-FOLLOWUP-MET", "L-OVERDUE",
    "L-READMITTED", "L-RETRACTED", "L-SCREEN-DONE", "L-STALL-CLOSED", "L-SUPERSEDED",
    "T-CRISIS", "T-DISCHARGE", "T-EXIT", "T-IOP-BETTER", "T-IOP-WORSE", "T-OP-WORSE",
    "T-PHP-BETTER",
    # care-task codes
    "fulfill", "follow-up-7d", "follow-up-ed-7d", "follow-up-missed", "lost-to-follow-up",
    "discharge-safety-review", "level-of-care-review", "death-review", "readmission-review",
    "ama-outreach", "crisis-evaluation", "safety-plan", "suicide-risk-screen",
    "sud-assessment", "contraindication-review", "withdrawal-management-review",
    "no-show-outreach", "engagement-review", "intensity-review", "discharge-review",
    "recertification", "referral-stalled", "referral-failed", "record-correction-review",
    # statuses, priorities, businessStatus
    "requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed",
    "cancelled", "entered-in-error", "active", "revoked",
    "routine", "urgent", "asap", "stat",
    "overdue", "new trigger", "source corrected",
    # levels, directions, instruments, contraindications
    "op", "iop", "php", "inpatient", "step-up", "step-down",
    "phq9", "phq9-item9", "gad7", "auditc", "cssrs", "psychosis", "withdrawal",
)  # fmt: skip
_INDEX = {w: i for i, w in enumerate(WORDS)}


def trim(items: list[Json]) -> list[Json]:
    """``items`` without its trailing ``None``s (a positional record's absent tail)."""
    while items and items[-1] is None:
        items.pop()
    return items


def pad(items: list[Json], n: int) -> list[Json]:
    """``items`` filled with ``None`` to ``n`` places (the inverse of :func:`trim`)."""
    return items + [None] * (n - len(items))


def word(text: str) -> int | str:
    """The index of a known word, else the string itself."""
    return _INDEX.get(text, text)


def unword(value: int | str) -> str:
    return WORDS[value] if type(value) is int else str(value)


def opt_word(text: str | None) -> int | str | None:
    return None if text is None else _INDEX.get(text, text)


def opt_unword(value: int | str | None) -> str | None:
    return None if value is None else unword(value)


def uid(text: str) -> str:
    """A canonical (lower-case) UUID as 22 base64url characters; any other id as ``=`` +
    itself (``=`` starts no base64url text)."""
    if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        hexa = text.replace("-", "")
        try:
            raw = bytes.fromhex(hexa)
        except ValueError:
            raw = b""
        if len(raw) == 16 and raw.hex() == hexa:
            return base64.urlsafe_b64encode(raw)[:22].decode("ascii")
    return "=" + text


def unuid(text: str) -> str:
    if text.startswith("="):
        return text[1:]
    x = base64.urlsafe_b64decode(text + "==").hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


_FORMATS = "BHIQ"  # width codes 0–3: 1, 2, 4, 8 bytes
_SIZES = (1, 2, 4, 8)
_LIMITS = (1 << 8, 1 << 16, 1 << 32, 1 << 64)
_by_value = itemgetter(1)


def pack_ints(values: dict[int, int]) -> Json:
    """A non-empty dict of unsigned 64-bit digests → integers, as ``[first value, unit,
    base64(width code, digests, deltas)]``: items sorted by value (ties in dict order),
    each delta the step from the previous value in ``unit``s (their greatest common
    divisor), in the narrowest width that holds the largest."""
    items = sorted(values.items(), key=_by_value)
    keys = [k for k, _ in items]
    vals = [v for _, v in items]
    deltas = list(map(sub, vals[1:], vals[:-1]))
    unit = gcd(*deltas) or 1
    if unit > 1:
        deltas = [d // unit for d in deltas]
    top = max(deltas, default=0)
    code = next(i for i, limit in enumerate(_LIMITS) if top < limit)
    n = len(keys)
    raw = struct.pack(f">B{n}Q{n - 1}{_FORMATS[code]}", code, *keys, *deltas)
    return [vals[0], unit, base64.b64encode(raw).decode("ascii")]


def unpack_ints(v: Json) -> dict[int, int]:
    """The dict :func:`pack_ints` wrote (in value order)."""
    first, unit, text = v
    raw = base64.b64decode(text)
    code = raw[0]
    size = _SIZES[code]
    n = (len(raw) - 1 + size) // (8 + size)
    parts = struct.unpack(f">{n}Q{n - 1}{_FORMATS[code]}", raw[1:])
    steps = parts[n:] if unit == 1 else [d * unit for d in parts[n:]]
    return dict(zip(parts[:n], accumulate(steps, initial=first), strict=True))


def pack_hashes(versions: list[str]) -> str | None:
    """Versions that are all 16 lower-case hex digits (content hashes) as base64 of their
    8-byte values; ``None`` when one is anything else."""
    if any(len(v) != 16 for v in versions):
        return None
    try:
        raw = b"".join(bytes.fromhex(v) for v in versions)
    except ValueError:
        return None
    if len(raw) != 8 * len(versions) or raw.hex() != "".join(versions):
        return None
    return base64.b64encode(raw).decode("ascii")


def unpack_hashes(text: str) -> list[str]:
    raw = base64.b64decode(text)
    return [raw[i : i + 8].hex() for i in range(0, len(raw), 8)]
