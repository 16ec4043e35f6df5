"""The declarative level graph (pipeline.levels.TRANSITIONS) is sound: every level is
reachable from every other (with admission and discharge), none is a trap, directions
agree with the level order, and the rules really make the referrals the table lists."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.codes import STEP_DOWN, STEP_UP, Status
from pipeline.levels import TRANSITIONS, Level
from pipeline.rules.catalog import RULES
from tests.unit.core_kit import Journey

NAMES = [lv.value for lv in Level]


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {n: set() for n in [*NAMES, "none"]}
    for src, dst, _rule, _direction in TRANSITIONS:
        g[src].add(dst)
    for src in g:
        if src != "inpatient":
            g[src].add("inpatient")  # admission (rules.md §2)
    g["inpatient"].add("none")  # discharge
    return g


def reachable(g: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in g[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_nodes_are_known_levels() -> None:
    for src, dst, _rule, direction in TRANSITIONS:
        assert src in [*NAMES, "none"] and dst in NAMES and src != dst
        assert direction in (STEP_UP, STEP_DOWN)


@pytest.mark.parametrize("start", [*NAMES, "none"])
def test_every_level_reachable_from_every_other(start: str) -> None:
    assert set(NAMES) <= reachable(graph(), start)


@pytest.mark.parametrize("start", NAMES)
def test_no_traps(start: str) -> None:
    g = graph()
    assert g[start], f"{start} has no way out"
    for node in reachable(g, start):
        assert start in reachable(g, node) or node == "none", f"{node} cannot get back to {start}"


def test_transitions_only_by_the_level_graph() -> None:
    """Without the graph's own edges, some level would be unreachable (the table matters)."""
    assert "op" not in reachable({"inpatient": {"none"}, "none": {"inpatient"}}, "inpatient")


def _rank(level: str) -> int:
    return -1 if level == "none" else Level(level).rank


def test_direction_follows_level_order() -> None:
    for src, dst, rule, direction in TRANSITIONS:
        up = _rank(dst) > _rank(src)
        assert direction == (STEP_UP if up else STEP_DOWN), rule


def test_the_graph_is_the_v2_2_rule_pack() -> None:
    """T-CRISIS from op, iop or none (never php); T-OP-WORSE to iop or php; T-EXIT."""
    edges = {(s, d, r) for s, d, r, _ in TRANSITIONS}
    assert {s for s, _d, r in edges if r == "T-CRISIS"} == {"op", "iop", "none"}
    assert {d for _s, d, r in edges if r == "T-OP-WORSE"} == {"iop", "php"}
    assert {(s, d) for s, d, r in edges if r == "T-EXIT"} == {("php", "iop"), ("iop", "op")}


def test_every_transition_rule_is_in_the_catalog() -> None:
    ids = {r.id for r in RULES}
    assert {rule for _s, _d, rule, _dir in TRANSITIONS} == {i for i in ids if i.startswith("T-")}


def _at(level: str) -> Journey:
    j = Journey()
    if level == "inpatient":
        j.admit("2026-03-01T08:00")
    elif level == "none":
        j.ed_visit("2026-03-01T08:00")  # no level, in BH care for 30 days
    else:
        j.enroll("2026-03-01T00:00", level)
    return j


def _discharge_with(phq9: int | None) -> Callable[[], Journey]:
    def run() -> Journey:
        j = _at("inpatient")
        if phq9 is not None:
            j.assess("2026-03-05T10:00", "phq9", phq9)
        j.discharge("2026-03-08T15:00")
        return j

    return run


def _crisis(level: str) -> Callable[[], Journey]:
    def run() -> Journey:
        j = _at(level)
        j.assess("2026-03-05T10:00", "cssrs", 3)
        return j

    return run


def _phq9(level: str, *values: int) -> Callable[[], Journey]:
    def run() -> Journey:
        j = _at(level)
        for k, value in enumerate(values):
            j.assess(f"2026-03-{2 + 7 * k:02d}T10:00", "phq9", value)
        return j

    return run


def _op_worse() -> Journey:
    j = _at("op")
    j.assess("2026-03-05T10:00", "gad7", 16)
    return j


def _exit(level: str) -> Callable[[], Journey]:
    def run() -> Journey:
        j = _at(level)
        j.exit("2026-03-20T16:00", level)
        return j

    return run


DRIVERS: dict[tuple[str, str, str], Callable[[], Journey]] = {
    ("inpatient", "php", "T-DISCHARGE"): _discharge_with(22),
    ("inpatient", "iop", "T-DISCHARGE"): _discharge_with(None),
    ("inpatient", "op", "T-DISCHARGE"): _discharge_with(4),
    ("op", "inpatient", "T-CRISIS"): _crisis("op"),
    ("iop", "inpatient", "T-CRISIS"): _crisis("iop"),
    ("none", "inpatient", "T-CRISIS"): _crisis("none"),
    ("op", "iop", "T-OP-WORSE"): _op_worse,
    ("op", "php", "T-OP-WORSE"): _phq9("op", 22),
    ("iop", "php", "T-IOP-WORSE"): _phq9("iop", 21, 22),
    ("php", "iop", "T-PHP-BETTER"): _phq9("php", 15, 8, 6),
    ("iop", "op", "T-IOP-BETTER"): _phq9("iop", 15, 8, 6),
    ("php", "iop", "T-EXIT"): _exit("php"),
    ("iop", "op", "T-EXIT"): _exit("iop"),
}


@pytest.mark.parametrize("edge", TRANSITIONS, ids=lambda e: f"{e[0]}->{e[1]}")
def test_rules_implement_each_edge(edge: tuple[str, str, str, str]) -> None:
    src, dst, rule, direction = edge
    j = DRIVERS[(src, dst, rule)]()
    [ref] = [r for r in j.referrals() if r.status == Status.ACTIVE]
    assert (ref.rule, ref.level.value, ref.direction) == (rule, dst, direction)


def test_every_edge_has_a_driver() -> None:
    assert set(DRIVERS) == {(s, d, r) for s, d, r, _ in TRANSITIONS}
