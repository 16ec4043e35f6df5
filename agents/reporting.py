"""What the shell tells people about a run: ignored input, dead letters on a terminal, and
start-up notices (contract §9, rules.md §8).

Nothing here quotes a document: an ignored record names the resource and the reason the
boundary or the rules gave (reasons name fields and codes, never values, contract §3); a
dead letter on standard error shows its source and diagnostics, never ``raw``; the counts
logged by the worker group reasons by :func:`reason_class`, which drops ids and codes too.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, NamedTuple

import orjson

from pipeline.config import RuleConfig


class Ignored(NamedTuple):
    """One ignored resource or event, with why (``--ignored`` writes one per line)."""

    resource_type: str | None
    id: str | None
    reason: str


#: Reason of an event the rules passed over without saying why (should not happen).
UNEXPLAINED = "ignored by the rules"

_REF = re.compile(r"\b([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}")
#: a token with a digit (a code or a value), unless it names a code system or instrument
_CODEISH = re.compile(r"(?<![^\s,;(])(?!(?:ICD-10-CM|ICD-10|PHQ-9|GAD-7)\b)[^\s,;()]*\d[^\s,;()]*")


def from_ref(ref: str | None, reason: str | None) -> Ignored:
    """An ``Ignored`` for an event the rules ignored; ``ref`` is ``Type/id`` or ``None``."""
    rtype, _, rid = (ref or "").partition("/")
    return Ignored(rtype or None, rid or None, reason or UNEXPLAINED)


def reason_class(reason: str) -> str:
    """The reason with resource ids and codes taken out, for counting: ``Task/abc: not a
    Task emitted for this patient`` → ``Task: not a Task emitted for this patient``;
    ``Observation.code: SNOMED 720433000 is not …`` → ``Observation.code: SNOMED # is not …``.
    """
    return _CODEISH.sub("#", _REF.sub(r"\1", reason))


def top_reasons(counts: Counter[str], n: int = 5) -> str:
    """``3 × reason; 1 × other`` for the ``n`` most frequent reasons (``none`` if empty)."""
    if not counts:
        return "none"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = "; ".join(f"{c} × {r}" for r, c in ranked[:n])
    rest = len(ranked) - n
    return shown + (f"; {rest} more reason(s)" if rest > 0 else "")


def ignored_line(item: Ignored, source: dict[str, object]) -> bytes:
    """One ``--ignored`` NDJSON line: source (file and line), resource type, id, reason."""
    rec = {
        "source": source,
        "resourceType": item.resource_type,
        "id": item.id,
        "reason": item.reason,
    }
    return orjson.dumps(rec) + b"\n"


def dead_letter_notice(record: dict[str, Any], where: str | None = None) -> str:
    """One standard-error line for a dead-letter record: its source (or ``where``) and
    diagnostics, never its raw document (a terminal is no place for a patient's record,
    contract §9)."""
    if where is None:
        where = _place(record.get("source") or {})
    issues = (record.get("error") or {}).get("issue") or []
    parts = []
    for issue in issues:
        expression = ", ".join(issue.get("expression") or [])
        text = str(issue.get("diagnostics", ""))
        parts.append(f"{text} ({expression})" if expression else text)
    return f"dead letter {where}: {'; '.join(parts) or 'no diagnostics'}"


def _place(source: dict[str, Any]) -> str:
    if "file" in source:
        return f"{source['file']}:{source.get('line')}"
    return f"{source.get('topic')}[{source.get('partition')}]@{source.get('offset')}"


def timezone_notice(rules: RuleConfig) -> str | None:
    """The start-up notice when ``site.timezone`` is not set (rules.md §8), else ``None``."""
    if "timezone" in rules.site.model_fields_set:
        return None
    return (
        "site.timezone is not set: days, weeks and date-only times are counted in UTC "
        "(set [site] timezone in the rules file, rules.md §1)"
    )


class IgnoredCounts:
    """The worker's in-process count of ignored resources and events by reason class,
    reported by a periodic info line (:meth:`report`) when it changed."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.total = 0
        self._reported = 0

    def add(self, reason: str | None) -> str:
        """Count ``reason``; its class (what the worker's metrics count it under)."""
        cls = reason_class(reason or UNEXPLAINED)
        self.counts[cls] += 1
        self.total += 1
        return cls

    def report(self) -> str | None:
        """``ignored since start: N (top reasons)``, or ``None`` when nothing new."""
        if self.total == self._reported:
            return None
        self._reported = self.total
        return f"ignored since start: {self.total} ({top_reasons(self.counts)})"
