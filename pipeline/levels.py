"""Levels of care and the declarative level graph.

Order: ``op`` < ``iop`` < ``php`` < ``inpatient`` (contract §4). Intensity bands come from
CMS: IOP is 9–19 h/week, PHP ≥ 20 h/week, OP < 9 h/week (reference/clinical-rules.md §1a,
§3a, §3b).
"""

from __future__ import annotations

from enum import Enum


class Level(str, Enum):  # noqa: UP042
    """A level of care; the value is the code in ``{base}/CodeSystem/level-of-care``."""

    OP = "op"
    IOP = "iop"
    PHP = "php"
    INPATIENT = "inpatient"

    @property
    def rank(self) -> int:
        return _RANK[self]

    # str defines every comparison; each is replaced so no comparison is alphabetical
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {Level.OP: 0, Level.IOP: 1, Level.PHP: 2, Level.INPATIENT: 3}

#: Declarative level graph: (from, to, rule id, direction). "none" means no current level.
#: Checked by tests/unit/test_level_graph.py: every level reachable, none a trap.
TRANSITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("inpatient", "php", "T-DISCHARGE", "step-down"),
    ("inpatient", "iop", "T-DISCHARGE", "step-down"),
    ("inpatient", "op", "T-DISCHARGE", "step-down"),
    ("op", "inpatient", "T-CRISIS", "step-up"),
    ("iop", "inpatient", "T-CRISIS", "step-up"),
    ("none", "inpatient", "T-CRISIS", "step-up"),
    ("op", "iop", "T-OP-WORSE", "step-up"),
    ("op", "php", "T-OP-WORSE", "step-up"),
    ("iop", "php", "T-IOP-WORSE", "step-up"),
    ("php", "iop", "T-PHP-BETTER", "step-down"),
    ("iop", "op", "T-IOP-BETTER", "step-down"),
    ("php", "iop", "T-EXIT", "step-down"),
    ("iop", "op", "T-EXIT", "step-down"),
)
