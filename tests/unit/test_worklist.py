"""``carepath tasks``: the worklist built from output records (no core needed)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from agents.cli import main
from agents.worklist import latest, worklist
from agents.worklist_view import FIELDS, render
from pipeline.codes import Business, CareTask, Priority, Status
from pipeline.levels import Level
from pipeline.outputs import Output, ReferralRecord, TaskRecord
from schemas.outbound import render as fhir

T0 = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
LONG = (
    "Refer to IOP: discharged home on 2026-03-08 with a PHQ-9 of 14 in the 30 days before; "
    "intensive outpatient care three days a week is the next step down, and the receiving "
    "program should confirm a first session within seven days."
)


def _task(tid: str, **kw: object) -> TaskRecord:
    base: dict[str, object] = dict(
        id=tid,
        patient="p1",
        rule="C-FOLLOWUP",
        code=CareTask.FOLLOWUP_7D,
        status=Status.REQUESTED,
        priority=Priority.URGENT,
        authored=T0,
        due=T0 + timedelta(days=7),
        description="Discharged home on 2026-03-08; see within 7 days.",
        focus="Encounter/e1",
    )
    base.update(kw)
    return TaskRecord(**base)  # type: ignore[arg-type]


def _referral(sid: str, level: Level = Level.IOP) -> ReferralRecord:
    return ReferralRecord(
        id=sid,
        patient="p1",
        rule="T-DISCHARGE",
        level=level,
        direction="step-down",
        status="active",
        priority=Priority.ROUTINE,
        authored=T0,
        reasons=("Encounter/e1",),
        task_id="t-ref",
    )


def _values(*outs: Output) -> list[bytes]:
    return [fhir(o) for o in outs]


def _journey() -> list[bytes]:
    """A referral with its Task, a follow-up, an overdue routine Task with an owner, one
    for another source's patient, and a Task closed later."""
    return _values(
        _referral("sr1"),
        _task(
            "t-ref",
            code=CareTask.FULFILL,
            rule="T-DISCHARGE",
            priority=Priority.ROUTINE,
            focus="ServiceRequest/sr1",
            description=LONG,
            target=Level.IOP,
            due=T0 + timedelta(days=3),
        ),
        _task("t-fu", priority=Priority.URGENT),
        _task(
            "t-sud",
            code=CareTask.SUD,
            rule="C-SUD",
            priority=Priority.ROUTINE,
            due=T0 + timedelta(days=1),
            business_status=Business.OVERDUE,
            owner="Organization/cm-east",
        ),
        _task("t-b", patient="https://b.example|p1", display="Ann Lee", priority=Priority.STAT),
        _task("t-done", priority=Priority.STAT),
        _task("t-done", priority=Priority.STAT, status=Status.COMPLETED),
    )


def test_rows_most_urgent_first_latest_version_open_only() -> None:
    rows = worklist(latest(_journey()))
    assert [r.id for r in rows] == ["t-b", "t-fu", "t-sud", "t-ref"]
    assert "t-done" in [r.id for r in worklist(latest(_journey()), include_closed=True)]


def test_referral_task_shows_its_target_level() -> None:
    rows = {r.id: r for r in worklist(latest(_journey()))}
    assert rows["t-ref"].task == "refer to IOP" and rows["t-ref"].target == "iop"
    assert rows["t-fu"].task == CareTask.FOLLOWUP_7D and rows["t-fu"].target == ""
    unknown = worklist(latest(_journey()[1:]))  # its ServiceRequest not seen
    assert next(r.task for r in unknown if r.id == "t-ref") == "refer"
    assert latest(_journey()[1:]).unknown_referrals()
    assert not latest(_journey()).unknown_referrals()


def test_patient_key_display_owner_and_overdue() -> None:
    rows = {r.id: r for r in worklist(latest(_journey()))}
    assert (rows["t-b"].patient, rows["t-b"].display) == ("https://b.example|p1", "Ann Lee")
    assert rows["t-sud"].overdue and rows["t-sud"].owner == "Organization/cm-east"
    assert not rows["t-fu"].overdue


def test_patient_filter_by_key_or_id() -> None:
    found = latest(_journey())
    assert [r.id for r in worklist(found, patient="https://b.example|p1")] == ["t-b"]
    assert {r.id for r in worklist(found, patient="p1")} == {"t-b", "t-fu", "t-sud", "t-ref"}
    assert worklist(found, patient="p2") == []


def test_table_wraps_whole_descriptions_in_their_column() -> None:
    rows = worklist(latest(_journey()))
    lines = render(rows, "table", width=200).splitlines()
    assert lines[0].split() == ["!", "DUE", "PRIORITY", "PATIENT", "TASK", "STATUS", "OWNER",
                                "DESCRIPTION"]  # fmt: skip
    assert lines[-1] == "4 task(s), 1 overdue"
    col = lines[0].index("DESCRIPTION")
    start = next(i for i, ln in enumerate(lines) if "refer to IOP" in ln)
    block = [lines[start]]
    for ln in lines[start + 1 : -1]:
        if ln[:col].strip():
            break
        block.append(ln)
    assert len(block) > 1
    assert " ".join(ln[col:] for ln in block) == LONG  # nothing cut
    assert all(len(ln) <= 200 for ln in lines)
    overdue = next(ln for ln in lines if "sud-assessment" in ln)
    assert overdue.startswith("!") and "requested/overdue" in overdue
    assert "https://b.example|p1 (Ann Lee)" in lines[1]


def test_narrow_terminal_puts_descriptions_below_their_row() -> None:
    rows = worklist(latest(_journey()))
    lines = render(rows, "table", width=100).splitlines()
    assert "DESCRIPTION" not in lines[0]
    start = next(i for i, ln in enumerate(lines) if "refer to IOP" in ln)
    below = lines[start + 1 : -1]
    assert all(ln.startswith("    ") for ln in below)
    assert " ".join(ln.strip() for ln in below) == LONG
    assert all(len(ln) <= 100 for ln in below)


def test_wide_is_one_line_a_task() -> None:
    rows = worklist(latest(_journey()))
    lines = render(rows, "wide").splitlines()
    assert len(lines) == len(rows) + 2
    assert any(ln.endswith(LONG) for ln in lines)


def test_table_without_owners_has_no_owner_column() -> None:
    rows = worklist(latest(_values(_task("a"))))
    head = render(rows, "table", width=200).splitlines()[0]
    assert "OWNER" not in head
    assert render([], "table", width=80).splitlines()[-1] == "0 task(s)"


def test_csv_and_json_carry_every_field() -> None:
    rows = worklist(latest(_journey()))
    table = list(csv.reader(io.StringIO(render(rows, "csv"))))
    assert tuple(table[0]) == FIELDS and len(table) == len(rows) + 1
    by_id = {line[0]: dict(zip(FIELDS, line, strict=True)) for line in table[1:]}
    assert by_id["t-ref"]["description"] == LONG
    assert by_id["t-ref"]["task"] == "refer to IOP" and by_id["t-ref"]["target"] == "iop"
    assert by_id["t-sud"]["overdue"] == "yes" and by_id["t-fu"]["overdue"] == ""
    records = [orjson.loads(ln) for ln in render(rows, "json").splitlines()]
    assert [tuple(r) for r in records] == [FIELDS] * len(rows)
    sud = next(r for r in records if r["id"] == "t-sud")
    assert sud["overdue"] is True and sud["owner"] == "Organization/cm-east"
    assert next(r for r in records if r["id"] == "t-b")["display"] == "Ann Lee"


@pytest.mark.parametrize(
    ("flags", "check"),
    [
        ([], lambda out: out.splitlines()[-1] == "4 task(s), 1 overdue"),
        (["--wide"], lambda out: LONG in out),
        (["--csv"], lambda out: out.startswith("id,due,priority,patient")),
        (["--json", "--all"], lambda out: len(out.splitlines()) == 5),
        (["--patient", "https://b.example|p1"], lambda out: "1 task(s)" in out),
    ],
)
def test_tasks_command_on_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], check: object
) -> None:
    path = tmp_path / "out.ndjson"
    path.write_bytes(b"".join(v + b"\n" for v in _journey()))
    assert main(["tasks", "--file", str(path), *flags]) == 0
    assert check(capsys.readouterr().out)  # type: ignore[operator]


def test_tasks_output_forms_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        main(["tasks", "--file", str(tmp_path / "x"), "--csv", "--json"])
    assert e.value.code == 2
