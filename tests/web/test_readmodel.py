"""The read model: latest version of each resource, history, order, filters, counts."""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.web.readmodel import Query, ReadModel, load_file
from agents.worklist import latest, worklist
from tests.web.kit import sample_output


def _model(tmp_path: Path) -> ReadModel:
    m = ReadModel(":memory:")
    load_file(m, sample_output(tmp_path))
    return m


def test_same_worklist_as_carepath_tasks(tmp_path: Path) -> None:
    out = sample_output(tmp_path)
    m = _model(tmp_path)
    rows, total = m.search(Query(limit=1000))
    expected = worklist(latest(ln for ln in out.read_bytes().splitlines() if ln.strip()))
    assert total == len(expected)
    assert [v.id for v in rows] == [r.id for r in expected]  # priority, then due, then id
    assert [v.row.task for v in rows] == [r.task for r in expected]  # "refer to IOP" labels


def test_versions_and_redelivery(tmp_path: Path) -> None:
    m = _model(tmp_path)
    rows, _ = m.search(Query(status="all", limit=1000))
    changed = next(v for v in rows if v.version > 1)
    history = m.versions(changed.id)
    assert [h["version"] for h in history] == list(range(1, changed.version + 1))
    seq = m.seq
    assert m.apply(orjson.dumps(changed.doc)) == 0  # the same version again: no change
    assert m.seq == seq


def test_filters_and_counts(tmp_path: Path) -> None:
    m = _model(tmp_path)
    now = "2026-05-08T12:00:00Z"
    q = Query(now=now, today=("2026-05-08T00:00:00Z", "2026-05-09T00:00:00Z"), limit=1000)
    rows, total = m.search(q)
    counts = m.counts(q)
    assert counts["total"] == total
    overdue, n = m.search(Query(now=now, overdue=True, limit=1000))
    assert n == counts["overdue"] and all(v.overdue for v in overdue)
    stat, n = m.search(Query(priority="stat", limit=1000))
    assert n == counts["stat"] and all(v.row.priority == "stat" for v in stat)
    some = rows[0]
    mine, _ = m.search(Query(patient=some.row.patient, status="all", limit=1000))
    assert mine and all(v.row.patient == some.row.patient for v in mine)
    by_code, _ = m.search(Query(code=some.row.code, limit=1000))
    assert by_code and all(v.row.code == some.row.code for v in by_code)
    assert m.search(Query(owners=()))[1] == 0


def test_tombstone_deletes(tmp_path: Path) -> None:
    m = _model(tmp_path)
    rows, total = m.search(Query(limit=1))
    assert m.apply(None, f"Task/{rows[0].id}".encode()) == 1
    assert m.task(rows[0].id) is None
    assert m.search(Query(limit=1))[1] == total - 1


def test_a_referral_after_its_task_labels_it(tmp_path: Path) -> None:
    lines = sample_output(tmp_path).read_bytes().splitlines()
    m = ReadModel(":memory:")
    tasks = [ln for ln in lines if b'"resourceType":"Task"' in ln]
    refs = [ln for ln in lines if b'"resourceType":"ServiceRequest"' in ln]
    m.apply_all(tasks)
    referral_task = next(v for v in m.search(Query(code="fulfill", limit=1))[0])
    assert referral_task.row.task == "refer"
    m.apply_all(refs)
    assert m.task(referral_task.id).row.task.startswith("refer to ")  # type: ignore[union-attr]


def test_rebuilt_file_is_thrown_away(tmp_path: Path) -> None:
    path = tmp_path / "rm.sqlite"
    m = ReadModel(path)
    load_file(m, sample_output(tmp_path))
    m.close()
    assert ReadModel(path).stats()["tasks"] == 0


def test_a_dead_letter_marks_a_pending_update_refused(tmp_path: Path) -> None:
    m = _model(tmp_path)
    t = m.search(Query(limit=1))[0][0]
    m.set_pending(t.id, t.version, "accept", "alice", "2026-05-08T12:00:00.000Z")
    update = {"resourceType": "Task", "id": t.id, "status": "accepted",
              "lastModified": "2026-05-08T12:00:00.000Z"}  # fmt: skip
    record = {"error": {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid",
         "diagnostics": "Task.status: failed → accepted is not an allowed transition"}]},
        "raw": orjson.dumps(update).decode()}  # fmt: skip
    seq = m.seq
    assert m.dead_letter(orjson.dumps({**record, "raw": "{"})) == 0
    assert m.dead_letter(orjson.dumps(record)) == 1
    assert m.seq > seq
    assert "not an allowed transition" in m.pending(t.id)["refused"]  # type: ignore[index]
    assert m.dead_letter(orjson.dumps(record)) == 0  # once
