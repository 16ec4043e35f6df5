"""Code-list patterns for ICD-10-CM settings (``scope.diagnoses``, ``contra.*``).

A pattern is compared with a code written without dots and upper-cased (rules.md §7:
``F33.2`` = ``F332``):

- ``F332``: a prefix (``F332``, ``F3320``… match);
- ``F10-F99``: a range of 3-character categories (``F10`` to ``F99`` inclusive), optionally
  followed by more pattern characters (``T36-T65??2``: categories T36–T65 whose 6th
  character is ``2``);
- ``?``: any one character (``T711?2`` matches ``T7112XA``… ``T711X2A``);
- ``!`` first: an exclusion (``!F17``): a code matching any exclusion matches nothing.

Compiled once per configuration into a ``CodeList``; ``match`` returns the pattern that
matched (for the scope reason) or ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PATTERN = re.compile(r"!?[A-Z0-9?]{1,7}(-[A-Z0-9]{3}[A-Z0-9?]{0,4})?")


def norm(code: str) -> str:
    """An ICD-10-CM code without dots, upper-cased (``f33.2`` → ``F332``)."""
    return code.replace(".", "").strip().upper()


def check_patterns(key: str, patterns: tuple[str, ...]) -> None:
    """A ``ValueError`` naming ``key`` for a pattern that is not of the form above."""
    for p in patterns:
        if not _PATTERN.fullmatch(p):
            raise ValueError(
                f"{key}: {p!r} is not an ICD-10-CM pattern (F33, F10-F99, T36-T65??2, !F17)"
            )


def _one(pattern: str) -> tuple[str, str, str]:
    """(low category, high category, rest) of a pattern without ``!``."""
    if "-" in pattern:
        low, high = pattern.split("-")
        return low[:3], high[:3], high[3:] or low[3:]
    return "", "", pattern


def _fits(code: str, low: str, high: str, rest: str) -> bool:
    if low:
        head = code[:3]
        if len(head) < 3 or not low <= head <= high:
            return False
        tail, rest_at = code[3:], rest
    else:
        tail, rest_at = code, rest
    if len(tail) < len(rest_at):
        return False
    return all(p == "?" or p == c for p, c in zip(rest_at, tail, strict=False))


class CodeList:
    """A compiled list of patterns."""

    __slots__ = ("_exclude", "_include")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._include = [(p, _one(p)) for p in patterns if not p.startswith("!")]
        self._exclude = [_one(p[1:]) for p in patterns if p.startswith("!")]

    def match(self, code: str) -> str | None:
        """The first including pattern ``code`` matches, unless an exclusion matches."""
        c = norm(code)
        if any(_fits(c, *e) for e in self._exclude):
            return None
        for pattern, parts in self._include:
            if _fits(c, *parts):
                return pattern
        return None


@lru_cache(maxsize=64)
def compiled(patterns: tuple[str, ...]) -> CodeList:
    """The ``CodeList`` of a settings tuple (cached: settings are frozen)."""
    return CodeList(patterns)
