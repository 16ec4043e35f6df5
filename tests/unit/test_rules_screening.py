"""Screening Tasks: C-CRISIS, C-SAFETY, C-SI-SCREEN, C-SUD, and the one-open-Task-per-code
slot (rules.md §4)."""

from __future__ import annotations

import pytest

from tests.unit.core_kit import Journey, t


@pytest.mark.parametrize(
    ("inst", "value", "code", "rule", "priority", "hours"),
    [
        ("cssrs", 3, "crisis-evaluation", "C-CRISIS", "stat", 4),
        ("cssrs", 2, "safety-plan", "C-SAFETY", "urgent", 24),
        ("phq9-item9", 1, "suicide-risk-screen", "C-SI-SCREEN", "urgent", 24),
        ("phq9-item9", 3, "suicide-risk-screen", "C-SI-SCREEN", "urgent", 24),
        ("auditc", 4, "sud-assessment", "C-SUD", "routine", 168),
        ("auditc", 12, "sud-assessment", "C-SUD", "routine", 168),
    ],
)
def test_screening_fires(
    inst: str, value: int, code: str, rule: str, priority: str, hours: int
) -> None:
    j = Journey()
    j.assess("2026-03-05T10:00", inst, value, eid="obs-9")
    task = j.task(code)
    assert (task.rule, task.priority, task.status) == (rule, priority, "requested")
    assert task.authored == t("2026-03-05T10:00")
    assert (task.due - task.authored).total_seconds() == hours * 3600
    assert task.focus is not None and task.focus.startswith("Resource/")
    assert "2026-03-05" in task.description


@pytest.mark.parametrize(
    ("inst", "value"),
    [("cssrs", 1), ("phq9-item9", 0), ("auditc", 3), ("phq9", 27), ("gad7", 21)],
)
def test_screening_does_not_fire(inst: str, value: int) -> None:
    j = Journey()
    j.assess("2026-03-05T10:00", inst, value)
    assert j.tasks() == []


def test_cssrs_high_is_not_also_safety_plan() -> None:
    j = Journey()
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert [tk.code for tk in j.tasks()] == ["crisis-evaluation"]


@pytest.mark.parametrize("level", ["op", "iop", "php", "inpatient"])
def test_c_crisis_at_any_level(level: str) -> None:
    j = Journey()
    if level == "inpatient":
        j.admit("2026-03-01T00:00")
    else:
        j.enroll("2026-03-01T00:00", level)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.task("crisis-evaluation").priority == "stat"


def test_one_open_task_per_code_then_slot_frees() -> None:
    j = Journey()
    j.assess("2026-03-05T10:00", "auditc", 6)
    j.assess("2026-03-06T10:00", "auditc", 7)
    assert len(j.tasks("sud-assessment")) == 1
    first = j.task("sud-assessment")
    j.update(first.id, "in-progress", "2026-03-06T12:00")
    j.assess("2026-03-07T10:00", "auditc", 7)
    assert len(j.tasks("sud-assessment")) == 1
    j.update(first.id, "completed", "2026-03-08T12:00")
    j.assess("2026-03-09T10:00", "auditc", 5)
    assert [tk.status for tk in j.tasks("sud-assessment")] == ["completed", "requested"]


def test_descriptions() -> None:
    j = Journey()
    j.assess("2026-01-12T14:00", "phq9-item9", 1)
    j.assess("2026-01-14T09:30", "auditc", 6)
    j.assess("2026-01-14T09:40", "cssrs", 2)
    assert j.task("suicide-risk-screen").description == (
        "PHQ-9 item 9 (thoughts of self-harm) scored 1 on 2026-01-12, ≥ 1; "
        "screen for suicide risk with the C-SSRS."
    )
    assert j.task("sud-assessment").description == (
        "AUDIT-C 6 on 2026-01-14 is ≥ 4; assess for a substance use disorder."
    )
    assert j.task("safety-plan").description == (
        "C-SSRS risk moderate on 2026-01-14; complete a safety plan."
    )
