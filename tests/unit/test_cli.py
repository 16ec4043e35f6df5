"""The CLI's contract: exit statuses, stdin input, --rules refusal, the worklist view."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest

from agents.cli import main
from agents.worklist import latest, table, worklist
from tests.scenarios.compare import DATA

S01 = DATA / "01-discharge-home-to-iop.ndjson"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    out = str(tmp_path / "o.ndjson")
    with pytest.raises(SystemExit) as e:
        main(["replay", str(S01)])  # --out missing
    assert e.value.code == 2
    assert main(["replay", str(tmp_path / "missing.ndjson"), "--out", out]) == 2
    assert main(["replay", str(S01), "--out", out, "--until", "2026-03-20T00:00:00"]) == 2
    assert main(["replay", str(S01), "--out", out, "--until", "tomorrow"]) == 2


def test_invalid_rules_file_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text("[transition]\nphp_phq9_minimum = 3\n")
    assert main(["replay", str(S01), "--out", str(tmp_path / "o"), "--rules", str(rules)]) == 2
    assert "php_phq9_minimum" in capsys.readouterr().err


def test_stdin_input_and_dead_letters_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = S01.read_bytes() + b"not json\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "o.ndjson"
    assert main(["replay", "-", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert '"diagnostics"' in err and "replay: 5 documents" in err
    assert len(out.read_bytes().splitlines()) == 7  # same as replaying the file itself


def _task(tid: str, status: str, priority: str, due: str) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Task",
            "id": tid,
            "status": status,
            "priority": priority,
            "for": {"reference": "Patient/p"},
            "restriction": {"period": {"end": due}},
            "code": {"coding": [{"code": "x"}]},
            "description": "d",
        }
    )


def test_worklist_latest_open_sorted_by_priority_then_due() -> None:
    values = [
        _task("a", "requested", "routine", "2026-01-01T00:00:00Z"),
        _task("b", "requested", "urgent", "2026-01-05T00:00:00Z"),
        _task("c", "requested", "urgent", "2026-01-02T00:00:00Z"),
        _task("d", "requested", "stat", "2026-01-09T00:00:00Z"),
        _task("d", "completed", "stat", "2026-01-09T00:00:00Z"),
        orjson.dumps({"resourceType": "ServiceRequest", "id": "s"}),
    ]
    rows = worklist(latest(values))
    assert [r["id"] for r in rows] == ["c", "b", "a"]
    assert next(r["id"] for r in worklist(latest(values), include_closed=True)) == "d"
    assert table(rows).splitlines()[-1] == "3 task(s)"


def test_tasks_command_reads_a_replay_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.ndjson"
    assert main(["replay", str(S01), "--out", str(out), "--until", "2026-03-20T00:00:00Z"]) == 0
    capsys.readouterr()
    assert main(["tasks", "--file", str(out)]) == 0
    text = capsys.readouterr().out
    assert "recertification" in text and "1 task(s)" in text
