"""decide/advance as a whole: duplicates (contract §7), purity, Step flags, retention
(rules.md §8), deterministic ids, the rule table, and invariants over random sequences of
every v2 event kind."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import decide as decide_module
from pipeline.codes import TERMINAL, CareTask, Status
from pipeline.config import DEFAULT_RULES
from pipeline.decide import RETENTION, Step, decide, rule_table
from pipeline.events import TaskUpdated
from pipeline.ids import output_id
from pipeline.outputs import ReferralRecord, TaskRecord
from pipeline.rules import (
    attendance,
    context,
    deadlines,
    discharge,
    placement,
    program,
    retraction,
    screening,
    signals,
    stays,
    tasks,
    transitions,
)
from pipeline.rules.catalog import RULES
from pipeline.state import decode_state, encode_state
from tests.unit.core_kit import Journey, t
from tests.unit.test_core_scenarios import SCENARIOS, run

CARE_TASK_CODES = {v for k, v in vars(CareTask).items() if not k.startswith("_")}
RULE_IDS = {r.id for r in RULES}


def test_duplicate_changes_nothing_for_every_kind() -> None:
    j = Journey()
    steps: list[Callable[[], Step]] = [
        lambda: j.patient_record("2026-03-01T00:00", female=True, eid="e0"),
        lambda: j.admit("2026-03-01T08:00", eid="e1", ref="Encounter/s1"),
        lambda: j.assess("2026-03-05T10:00", "phq9", 14, eid="e2"),
        lambda: j.condition("2026-03-05T11:00", "withdrawal", eid="e3"),
        lambda: j.discharge("2026-03-08T15:00", eid="e4", ref="Encounter/s1"),
        lambda: j.attend("2026-03-10T14:00", "iop", eid="e5"),
        lambda: j.no_show("2026-03-12T14:00", eid="e6"),
        lambda: j.ed_visit("2026-03-12T20:00", eid="e7"),
        lambda: j.enroll("2026-03-13T00:00", "php", eid="e8"),
        lambda: j.assess("2026-03-13T10:00", "cssrs", 2, eid="e9", ref="Observation/c9"),
        lambda: j.retract("Observation/c9", "2026-03-13T11:00", eid="e10"),
        lambda: j.exit("2026-03-14T00:00", "php", eid="e11"),
        lambda: j.update(
            j.open(CareTask.FOLLOWUP_ED_7D).id, Status.ACCEPTED, "2026-03-14T01:00", eid="e12"
        ),
        lambda: j.die("2026-03-15T00:00", eid="e13"),
    ]
    for send in steps:
        send()
        state = j.state
        again = send()
        assert again.duplicate and again.outputs == [] and again.state is state


def test_duplicate_of_late_event_and_after_ticks() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "op")
    j.assess("2026-03-05T10:00", "phq9", 18, eid="obs")
    j.tick("2026-03-30")
    step = j.assess("2026-03-05T10:00", "phq9", 18, eid="obs")
    assert step.duplicate and len(j.referrals()) == 1


def test_same_resource_new_content_is_a_new_event() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    j.no_show("2026-03-03T09:00", eid="Appointment|a2|v2")
    step = j.attend("2026-03-04T09:00", "iop", 180, ["a3"], eid="Appointment|a3|v1")
    assert not step.duplicate


def test_new_patient_from_none() -> None:
    j = Journey("brand-new")
    step = j.assess("2026-03-05T10:00", "phq9", 3)
    assert step.state.patient == "brand-new" and step.state.clock == t("2026-03-05T10:00")
    assert step.state.last_event == t("2026-03-05T10:00")


def test_unknown_task_update_for_new_patient_is_ignored() -> None:
    ev = TaskUpdated(
        "u1", "p", t("2026-03-05"), "Task/x", task_id="x", status=Status.COMPLETED, reason=None
    )
    step = decide(None, ev, DEFAULT_RULES)
    assert step.ignored and step.outputs == [] and step.rejected is None


def test_ignored_events_say_why() -> None:
    j = Journey()
    j.enroll("2026-03-02T00:00", "iop")
    for step in (
        j.exit("2026-03-03T00:00", "php"),
        j.admit("2026-03-04T00:00", bh=False),
        j.retract("Observation/never", "2026-03-04T01:00"),
        j.update("not-ours", Status.COMPLETED, "2026-03-04T02:00"),
    ):
        assert step.ignored and step.reason and step.outputs == []


# -- retention (§8) ---------------------------------------------------------------------
def test_events_older_than_the_retention_window_are_ignored() -> None:
    j = Journey()
    j.enroll("2025-01-01T00:00", "op")
    j.assess("2025-01-02T10:00", "phq9", 5, ref="Observation/q1")
    j.assess("2026-03-01T10:00", "phq9", 6, ref="Observation/q2")  # 423 days later
    assert j.state is not None and [o.ref for o in j.state.obs] == ["Observation/q2"]
    for step in (
        j.assess("2025-01-20T10:00", "phq9", 25),
        j.retract("Observation/q1", "2025-01-02T10:00"),
        j.assess("2025-01-02T10:00", "phq9", 7, ref="Observation/q1", version="2"),
    ):
        assert step.ignored and step.reason == RETENTION and step.outputs == []
    j.assess("2025-02-01T10:00", "phq9", 6)  # 393 days before the latest event: kept
    assert len(j.state.obs) == 2


# -- ids and records ----------------------------------------------------------------------
def test_ids_are_deterministic_and_follow_output_id() -> None:
    def run(patient: str) -> list[str]:
        j = Journey(patient)
        j.enroll("2026-03-01T00:00", "op")
        j.assess("2026-03-05T10:00", "auditc", 6, eid="obs-1")
        j.discharge("2026-03-08T15:00", eid="dc-1")
        j.tick("2026-04-30")
        return [o.id for o in j.outputs]

    first = run("s")
    assert first == run("s")
    assert not set(first) & set(run("other"))
    assert output_id("C-SUD", "s", "obs-1", "Task") in first
    assert output_id("T-DISCHARGE", "s", "dc-1", "ServiceRequest") in first
    assert output_id("T-DISCHARGE", "s", "dc-1", "Task") in first
    assert output_id("C-FOLLOWUP", "s", "dc-1", "Task") in first
    assert len(set(first)) == len({o for o in first})


def test_status_change_is_the_whole_record_again() -> None:
    j = Journey()
    j.discharge("2026-03-08T15:00")
    j.attend("2026-03-10T10:00", "iop")
    versions = [o for o in j.outputs if isinstance(o, TaskRecord) and o.code == CareTask.FULFILL]
    first, last = versions
    assert first.id == last.id and first.description == last.description
    assert (first.status, last.status) == (Status.REQUESTED, Status.COMPLETED)
    assert last.authored == first.authored and last.last_modified == t("2026-03-10T10:00")
    assert last.status_reason == "enrolled at IOP on 2026-03-10"


# -- the rule table ---------------------------------------------------------------------
def test_rule_table_rows() -> None:
    rows = rule_table()
    assert rows is not decide_module.rule_table() and rows == decide_module.rule_table()
    assert [r["id"] for r in rows] == [r.id for r in RULES]
    for row in rows:
        assert list(row) == ["id", "when", "output", "priority", "source"]
        assert all(row.values())
    assert len(RULE_IDS) == len(rows)


def emitted_rules() -> set[str]:
    """Rule ids emitted by the scenario journeys plus targeted ones."""
    found: set[str] = set()
    for name in SCENARIOS:
        for j in run(name):
            found |= j.rules_emitted()
    j = Journey()  # T-IOP-BETTER
    j.enroll("2026-04-01T00:00", "iop")
    for day, value in (("02", 15), ("03", 8), ("10", 6)):
        j.assess(f"2026-04-{day}T10:00", "phq9", value)
    found |= j.rules_emitted()
    j = Journey()  # C-HIGH-HOURS
    j.enroll("2026-06-01T00:00", "iop")
    for day in ("01", "02", "03", "08", "09", "10"):
        j.attend(f"2026-06-{day}T09:00", "iop", 400)
    j.tick("2026-06-15")
    found |= j.rules_emitted()
    j = Journey()  # C-OP-INACTIVE, C-CONTRA, C-DEATH-REVIEW, its reversal (L-DECEASED)
    j.enroll("2026-01-01T00:00", "op")
    j.condition("2026-01-02T10:00", "psychosis")
    j.tick("2026-04-02")
    j.die("2026-04-03T10:00")
    j.patient_record("2026-04-04T10:00", deceased=False)
    return found | j.rules_emitted()


def test_every_emitting_rule_is_exercised_and_catalogued() -> None:
    found = emitted_rules()
    assert found <= RULE_IDS
    # C-REFERRAL-EXPIRED fails the referral Task (its own rule id) and fires C-REFERRAL-FAILED;
    # L-DECEASED's reversal opens record-correction-review
    emitting = {i for i in RULE_IDS if not i.startswith("L-")} - {"C-REFERRAL-EXPIRED"}
    assert found - emitting == {"L-DECEASED"}
    assert emitting <= found


RULE_MODULES: tuple[ModuleType, ...] = (attendance, context, deadlines, discharge, placement,
                                        program, retraction, screening, signals, stays, tasks,
                                        transitions)  # fmt: skip


def test_every_rule_is_documented_with_rationale_and_source() -> None:
    """DESIGN.md convention 10: a function whose docstring starts with a rule id has a
    rationale and a source; every rule id is named in a docstring (function, method or
    module) that has both."""
    documented: Counter[str] = Counter()
    docs: list[str] = []
    for mod in RULE_MODULES:
        docs.append(inspect.getdoc(mod) or "")
        classes = [c for _, c in inspect.getmembers(mod, inspect.isclass)]
        members = [fn for _, fn in inspect.getmembers(mod, inspect.isfunction)]
        members += [m for c in classes for _, m in inspect.getmembers(c, inspect.isfunction)]
        for fn in members:
            if fn.__module__ != mod.__name__:
                continue
            doc = inspect.getdoc(fn) or ""
            docs.append(doc)
            if re.match(r"[TCL]-[A-Z]", doc):
                assert "Rationale:" in doc and "Source:" in doc, f"{fn.__qualname__}"
    for rid in RULE_IDS:
        for doc in docs:
            if (
                re.search(rf"\b{re.escape(rid)}\b", doc)
                and "Rationale:" in doc
                and "Source:" in doc
            ):
                documented[rid] += 1
    assert RULE_IDS - set(documented) == set()


# -- invariants over random sequences ----------------------------------------------------
KINDS = ["admit", "discharge", "ed", "enroll", "exit", "assess", "condition", "retract",
         "patient", "die", "attend", "no_show", "update", "tick"]  # fmt: skip
LEVELS = ["op", "iop", "php", "inpatient"]
DISPS = ["home", "aadvice", "psy", "exp"]
RANGES = {"phq9": 27, "phq9-item9": 3, "gad7": 21, "auditc": 12, "cssrs": 3}
STATUSES = [Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD, Status.COMPLETED,
            Status.FAILED, Status.CANCELLED, Status.REJECTED, Status.ENTERED_IN_ERROR,
            Status.REQUESTED]  # fmt: skip
OBS = ["Observation/o1", "Observation/o2", "Observation/o3"]
STAYS = ["Encounter/e1", "Encounter/e2", "Encounter/e3"]


def check_invariants(step: Step) -> None:
    s = step.state
    open_codes = Counter(tk.code for tk in s.tasks.values())
    assert all(n == 1 for n in open_codes.values()), open_codes
    fulfill = [tk for tk in s.tasks.values() if tk.code == CareTask.FULFILL]
    if s.pending is None:
        assert fulfill == []
    else:
        assert [tk.id for tk in fulfill] == [s.pending.task_id]
        assert s.pending.level != s.level
    assert all(tk.open for tk in s.tasks.values())
    assert decode_state(encode_state(s)) == s
    for out in step.outputs:
        assert out.patient == s.patient and out.rule in RULE_IDS
        if isinstance(out, TaskRecord):
            assert out.code in CARE_TASK_CODES
            if out.status == Status.REQUESTED:
                assert out.due >= out.authored
        if isinstance(out, ReferralRecord):
            assert out.status in (Status.ACTIVE, Status.COMPLETED, Status.REVOKED)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sequences_keep_invariants(data: st.DataObject) -> None:
    j = Journey("fz")
    ids: list[str] = []
    for _ in range(data.draw(st.integers(5, 40))):
        was_dead = j.state is not None and j.state.deceased
        kind = data.draw(st.sampled_from(KINDS))
        moment = t("2026-03-01") + timedelta(
            days=data.draw(st.integers(0, 60)), hours=data.draw(st.sampled_from([0, 9, 15]))
        )
        level = data.draw(st.sampled_from(LEVELS))
        eid = data.draw(st.sampled_from([None, "dup-1", "dup-2"]))
        bh = data.draw(st.booleans())
        if kind == "tick":
            if j.state is None:
                continue
            step = j.tick(moment)
        elif kind == "admit":
            step = j.admit(moment, bh=bh, eid=eid, ref=data.draw(st.sampled_from(STAYS)))
        elif kind == "discharge":
            disp = data.draw(st.sampled_from(DISPS))
            step = j.discharge(moment, disp, bh=bh, eid=eid, ref=data.draw(st.sampled_from(STAYS)))
        elif kind == "ed":
            step = j.ed_visit(moment, bh=bh, eid=eid)
        elif kind == "enroll":
            step = j.enroll(moment, level, eid=eid)
        elif kind == "exit":
            step = j.exit(moment, level, data.draw(st.booleans()), eid=eid)
        elif kind == "assess":
            inst = data.draw(st.sampled_from(sorted(RANGES)))
            value = data.draw(st.integers(0, RANGES[inst]))
            step = j.assess(moment, inst, value, eid=eid, ref=data.draw(st.sampled_from(OBS)),
                            version=data.draw(st.sampled_from(["1", "2"])))  # fmt: skip
        elif kind == "condition":
            kind_ = data.draw(st.sampled_from(["psychosis", "withdrawal"]))
            step = j.condition(moment, kind_, active=data.draw(st.booleans()), eid=eid)
        elif kind == "retract":
            step = j.retract(data.draw(st.sampled_from(OBS + STAYS)), moment, eid=eid)
        elif kind == "patient":
            step = j.patient_record(moment, deceased=data.draw(st.booleans()), eid=eid)
        elif kind == "die":
            step = j.die(moment, eid=eid)
        elif kind == "attend":
            lv = data.draw(st.sampled_from([*LEVELS, None]))
            step = j.attend(moment, lv, 150, bh=bh, eid=eid)
        elif kind == "no_show":
            step = j.no_show(moment, level, bh=bh, eid=eid)
        else:
            if not ids:
                continue
            task_id = data.draw(st.sampled_from(ids))
            step = j.update(task_id, data.draw(st.sampled_from(STATUSES)), moment, eid=eid)
        ids += [o.id for o in step.outputs if isinstance(o, TaskRecord) and o.id not in ids]
        if was_dead:  # nothing for a deceased patient but the reversal's own Task
            codes = {getattr(o, "code", None) for o in step.outputs}
            assert codes <= {CareTask.RECORD_CORRECTION}
            assert not codes or not step.state.deceased
        check_invariants(step)
    assert TERMINAL


@given(st.text(), st.text(), st.text(), st.sampled_from(["Task", "ServiceRequest"]))
def test_output_id_is_uuid5(rule: str, patient: str, trigger: str, kind: str) -> None:
    import uuid

    from pipeline.ids import NAMESPACE

    expected = uuid.uuid5(NAMESPACE, f"{rule}|{patient}|{trigger}|{kind}")
    assert output_id(rule, patient, trigger, kind) == str(expected)
