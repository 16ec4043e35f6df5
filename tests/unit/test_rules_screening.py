"""Screening Tasks (rules.md §2, §5): C-CRISIS, C-SAFETY, C-SI-SCREEN, C-SUD only for a
patient in BH care; the female AUDIT-C cut-off and the urgent C-SUD; the one open Task per
code; a new trigger merged into an open safety Task."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.codes import Business, CareTask, Priority, Status
from tests.unit.core_kit import Journey, t

CRISIS, PLAN, SI, SUD = CareTask.CRISIS, CareTask.SAFETY_PLAN, CareTask.SI_SCREEN, CareTask.SUD


def at_op() -> Journey:
    j = Journey()
    j.enroll("2026-03-01T00:00", "op")
    return j


@pytest.mark.parametrize(
    ("inst", "value", "code", "rule", "priority", "hours"),
    [
        ("cssrs", 3, CRISIS, "C-CRISIS", Priority.STAT, 4),
        ("cssrs", 2, PLAN, "C-SAFETY", Priority.URGENT, 24),
        ("phq9-item9", 1, SI, "C-SI-SCREEN", Priority.URGENT, 14),  # end of the local day
        ("phq9-item9", 3, SI, "C-SI-SCREEN", Priority.URGENT, 14),
        ("auditc", 4, SUD, "C-SUD", Priority.ROUTINE, 168),
        ("auditc", 7, SUD, "C-SUD", Priority.ROUTINE, 168),
        ("auditc", 8, SUD, "C-SUD", Priority.URGENT, 24),  # ≥ 8: urgent, +1 day
        ("auditc", 12, SUD, "C-SUD", Priority.URGENT, 24),
    ],
)
def test_screening_fires_in_bh_care(
    inst: str, value: int, code: str, rule: str, priority: str, hours: int
) -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", inst, value, ref="Observation/obs-9")
    task = j.task(code)
    assert (task.rule, task.priority, task.status) == (rule, priority, Status.REQUESTED)
    assert task.authored == t("2026-03-05T10:00")
    assert (task.due - task.authored).total_seconds() == hours * 3600
    assert task.focus == "Observation/obs-9"
    assert "2026-03-05" in task.description


@pytest.mark.parametrize(
    ("inst", "value"),
    [("cssrs", 1), ("cssrs", 0), ("phq9-item9", 0), ("auditc", 3), ("phq9", 14), ("gad7", 14)],
)
def test_screening_does_not_fire(inst: str, value: int) -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", inst, value)
    assert j.tasks() == []


def test_c_sud_female_cut_off() -> None:
    j = at_op()
    j.patient_record("2026-03-01T00:00", female=True)
    j.assess("2026-03-05T10:00", "auditc", 3)
    assert j.task(SUD).priority == Priority.ROUTINE
    j = at_op()
    j.patient_record("2026-03-01T00:00", female=False)
    j.assess("2026-03-05T10:00", "auditc", 3)
    assert j.tasks(SUD) == []


def test_c_sud_urgent_with_active_withdrawal() -> None:
    j = at_op()
    j.condition("2026-03-04T10:00", "withdrawal")
    j.assess("2026-03-05T10:00", "auditc", 5)
    sud = j.task(SUD)
    assert (sud.priority, sud.due) == (Priority.URGENT, t("2026-03-06T10:00"))


def test_cssrs_high_is_not_also_safety_plan() -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.codes() == {CRISIS, CareTask.FULFILL}


# -- in BH care (§2) --------------------------------------------------------------------
SCREENS = [("cssrs", 3), ("cssrs", 2), ("phq9-item9", 2), ("auditc", 9)]


def _screen_all(j: Journey, when: str) -> None:
    for k, (inst, value) in enumerate(SCREENS):
        j.assess(f"{when}:{k:02d}", inst, value)


def test_universal_screening_is_recorded_only() -> None:
    """No level and no recent BH contact (an ED or primary-care screen): no Task, but the
    values are kept for a later discharge lookback and the safety signal."""
    j = Journey()
    _screen_all(j, "2026-03-05T10")
    assert j.outputs == []
    assert j.state is not None and len(j.state.obs) == len(SCREENS)


def test_out_of_scope_ed_visit_does_not_put_the_patient_in_bh_care() -> None:
    j = Journey()
    j.ed_visit("2026-03-05T09:00", bh=False)
    _screen_all(j, "2026-03-05T10")
    assert j.outputs == []


def test_no_screening_tasks_during_an_inpatient_stay() -> None:
    j = Journey()
    j.admit("2026-03-01T08:00")
    _screen_all(j, "2026-03-05T10")
    assert j.outputs == []


@pytest.mark.parametrize("level", ["op", "iop", "php"])
def test_c_crisis_at_every_outpatient_level(level: str) -> None:
    j = Journey()
    j.enroll("2026-03-01T00:00", level)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    assert j.task(CRISIS).priority == Priority.STAT


def _contact_ed(j: Journey) -> None:
    j.ed_visit("2026-03-01T10:00")


def _contact_exit(j: Journey) -> None:
    j.enroll("2026-02-01T00:00", "op")
    j.exit("2026-03-01T10:00", "op")


def _contact_discharge(j: Journey) -> None:
    j.stay("2026-02-25T08:00", "2026-03-01T10:00")
    j.update(j.task(CareTask.FULFILL).id, Status.CANCELLED, "2026-03-01T11:00")


@pytest.mark.parametrize("contact", [_contact_ed, _contact_exit, _contact_discharge])
@pytest.mark.parametrize(("when", "inside"), [("2026-03-31T09", True), ("2026-03-31T11", False)])
def test_in_bh_care_for_30_days_after_a_contact(
    contact: Callable[[Journey], None], when: str, inside: bool
) -> None:
    """Level none within 30 days after an in-scope discharge, ED visit or program exit
    (the contact at 03-01 10:00; 30 local days later is 03-31 10:00, the screens take
    minutes 00–03 of the hour)."""
    j = Journey()
    contact(j)
    assert j.state is not None and j.state.effective_level() is None
    before = set(j.final())
    _screen_all(j, when)
    new = {tk.code for tk in j.tasks() if tk.id not in before} & {CRISIS, PLAN, SI, SUD}
    assert new == ({CRISIS, PLAN, SI, SUD} if inside else set())


# -- slots and merges (§5) --------------------------------------------------------------
def test_one_open_task_per_code_then_slot_frees() -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", "auditc", 6)
    step = j.assess("2026-03-06T10:00", "auditc", 7)
    assert step.outputs == [] and len(j.tasks(SUD)) == 1  # not a safety code: no merge
    first = j.task(SUD)
    j.update(first.id, Status.IN_PROGRESS, "2026-03-06T12:00")
    j.assess("2026-03-07T10:00", "auditc", 7)
    assert len(j.tasks(SUD)) == 1
    j.update(first.id, Status.COMPLETED, "2026-03-08T12:00")
    j.assess("2026-03-09T10:00", "auditc", 5)
    assert [tk.status for tk in j.tasks(SUD)] == [Status.COMPLETED, Status.REQUESTED]


def test_new_crisis_trigger_merges_into_the_open_task() -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", "cssrs", 3, ref="Observation/c1")
    first = j.task(CRISIS)
    step = j.assess("2026-03-05T13:00", "cssrs", 3, ref="Observation/c2")
    [merged] = [o for o in step.outputs if o.code == CRISIS]
    assert merged.id == first.id and merged.status == Status.REQUESTED
    assert merged.business_status == Business.NEW_TRIGGER
    assert merged.focus == "Observation/c2"
    assert merged.priority == Priority.STAT
    assert merged.due == first.due == t("2026-03-05T14:00")  # the earlier due
    assert merged.description.startswith(first.description)
    assert "New trigger" in merged.description
    assert merged.last_modified == t("2026-03-05T13:00")
    assert len(j.tasks(CRISIS)) == 1


def test_merge_takes_the_earlier_due() -> None:
    """A safety-plan (due +1 day) gets a new moderate screen the next morning: due keeps
    the first; an item 9 opens its own code."""
    j = at_op()
    j.assess("2026-03-05T10:00", "cssrs", 2)
    first = j.task(PLAN)
    j.update(first.id, Status.IN_PROGRESS, "2026-03-05T11:00")
    j.assess("2026-03-05T20:00", "cssrs", 2, ref="Observation/c2")
    merged = j.task(PLAN)
    assert merged.status == Status.IN_PROGRESS  # a merge never changes the status
    assert (merged.due, merged.focus) == (first.due, "Observation/c2")
    assert merged.business_status == Business.NEW_TRIGGER


def test_si_screen_merge_moves_nothing_back() -> None:
    j = at_op()
    j.assess("2026-03-05T10:00", "phq9-item9", 1)
    j.assess("2026-03-05T18:00", "phq9-item9", 3, ref="Observation/i2")
    si = j.task(SI)
    assert (si.due, si.focus, si.business_status) == (
        t("2026-03-06T00:00"),
        "Observation/i2",
        Business.NEW_TRIGGER,
    )


def test_descriptions_name_the_values() -> None:
    j = at_op()
    j.assess("2026-01-12T14:00", "phq9-item9", 1)
    j.assess("2026-01-14T09:30", "auditc", 6)
    j.assess("2026-01-14T09:40", "cssrs", 2)
    assert "scored 1 on 2026-01-12" in j.task(SI).description
    assert "AUDIT-C 6 on 2026-01-14" in j.task(SUD).description
    assert "C-SSRS risk moderate on 2026-01-14" in j.task(PLAN).description
