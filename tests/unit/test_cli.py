"""The CLI's contract: exit statuses, stdin input, --rules refusal, dead letters on stderr
without the document, --ignored, --source, the time-zone notice (worklist: test_worklist)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from agents.cli import main
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
    assert main(["replay", str(S01), "--out", out, "--source", " "]) == 2
    ignored = ["--ignored", str(tmp_path / "i"), "--broker", "kafka://localhost:1"]
    assert main(["replay", str(S01), "--out", out, *ignored]) == 2


def test_invalid_rules_file_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text("[transition]\nphp_phq9_minimum = 3\n")
    assert main(["replay", str(S01), "--out", str(tmp_path / "o"), "--rules", str(rules)]) == 2
    assert "php_phq9_minimum" in capsys.readouterr().err


SECRET = "SECRET-NOTE hears voices"
#: PHQ-9 of 31 (out of range: a dead letter) carrying a note no terminal may show
BAD = orjson.dumps(
    {
        "resourceType": "Observation",
        "id": "o-bad",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": "Patient/p9"},
        "effectiveDateTime": "2026-03-01T10:00:00Z",
        "valueInteger": 31,
        "note": [{"text": SECRET}],
    }
)
#: valid FHIR, not an instrument carepath reads: ignored by the boundary
OTHER = orjson.dumps(
    {
        "resourceType": "Observation",
        "id": "o-other",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "720433000"}]},
        "subject": {"reference": "Patient/p9"},
        "effectiveDateTime": "2026-03-01T10:00:00Z",
        "valueInteger": 3,
    }
)
#: an update of a Task carepath never emitted: ignored by the rules
STRAY = orjson.dumps(
    {
        "resourceType": "Task",
        "id": "t-stray",
        "status": "accepted",
        "intent": "order",
        "for": {"reference": "Patient/p9"},
        "lastModified": "2026-03-02T10:00:00Z",
    }
)


def test_stdin_input_and_dead_letters_to_stderr_without_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = S01.read_bytes() + b"not json\n" + BAD + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "o.ndjson"
    assert main(["replay", "-", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    n = len(S01.read_bytes().splitlines())
    notices = [ln for ln in err.splitlines() if ln.startswith("dead letter ")]
    assert [ln.split(":")[:2] for ln in notices] == [
        ["dead letter -", str(n + 1)],
        ["dead letter -", str(n + 2)],
    ]
    assert SECRET not in err and '"raw"' not in err
    assert f"replay: {n + 2} documents" in err
    assert len(out.read_bytes().splitlines()) == len(_replayed(S01, tmp_path))


def _replayed(path: Path, tmp_path: Path, *extra: str) -> list[dict[str, object]]:
    out = tmp_path / f"{path.stem}.{len(extra)}.out"
    assert main(["replay", str(path), "--out", str(out), *extra]) == 0
    return [orjson.loads(ln) for ln in out.read_bytes().splitlines()]


def test_ignored_file_names_source_resource_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(OTHER + b"\n\n" + STRAY + b"\n")
    ignored = tmp_path / "ignored.ndjson"
    out = tmp_path / "o.ndjson"
    assert main(["replay", str(src), "--out", str(out), "--ignored", str(ignored)]) == 0
    records = [orjson.loads(ln) for ln in ignored.read_bytes().splitlines()]
    assert [(r["source"], r["resourceType"], r["id"]) for r in records] == [
        ({"file": str(src), "line": 1}, "Observation", "o-other"),
        ({"file": str(src), "line": 3}, "Task", "t-stray"),
    ]
    assert all(isinstance(r["reason"], str) and r["reason"] for r in records)
    err = capsys.readouterr().err
    assert "ignored by reason: " in err and "ignored by reason: none" not in err
    assert out.read_bytes() == b""


def test_source_names_every_patient_key(tmp_path: Path) -> None:
    plain = _replayed(S01, tmp_path)
    keyed = _replayed(S01, tmp_path, "--source", "hosp-a")
    assert len(plain) == len(keyed) > 0
    for a, b in zip(plain, keyed, strict=True):
        ref_a = a.get("for") or a.get("subject")
        ref_b = b.get("for") or b.get("subject")
        assert isinstance(ref_a, dict) and isinstance(ref_b, dict)
        assert ref_a["reference"] == ref_b["reference"]  # Patient/<id> either way
        pid = str(ref_a["reference"]).removeprefix("Patient/")
        assert ref_a["identifier"]["value"] == pid
        assert ref_b["identifier"]["value"] == f"hosp-a|{pid}"


def test_timezone_notice_once_when_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _replayed(S01, tmp_path)
    assert capsys.readouterr().err.count("site.timezone is not set") == 1
    rules = tmp_path / "r.toml"
    rules.write_text('[site]\ntimezone = "America/New_York"\n')
    _replayed(S01, tmp_path, "--rules", str(rules))
    assert "site.timezone" not in capsys.readouterr().err


def test_worker_says_when_the_timezone_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[object] = []
    fake = SimpleNamespace(run_worker=lambda settings, rules: started.append(rules) or 0)
    monkeypatch.setitem(sys.modules, "agents.worker", fake)
    monkeypatch.delenv("CAREPATH_RULES", raising=False)
    assert main(["worker"]) == 0
    assert capsys.readouterr().err.count("site.timezone is not set") == 1
    rules = tmp_path / "r.toml"
    rules.write_text('[site]\ntimezone = "Europe/Berlin"\n')
    assert main(["worker", "--rules", str(rules)]) == 0
    assert "site.timezone" not in capsys.readouterr().err
    assert len(started) == 2
