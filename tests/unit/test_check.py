"""``carepath check``: a verdict per document (recognized / ignored with its reason / invalid
with its diagnostics), a summary, exit 1 when anything is invalid, 0 otherwise, 2 for usage
errors; no document content beyond ids, codes and reasons."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agents.cli import main
from tests.scenarios.compare import DATA

BAD = DATA / "09-bad-input-mixed.ndjson"
GOOD = DATA / "01-discharge-home-to-iop.ndjson"
PATIENT = {"reference": "Patient/p1"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["check", *argv])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def test_a_feed_with_invalid_documents_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _run(capsys, str(BAD))
    assert code == 1
    verdicts = [ln.split(": ")[1] for ln in lines if ln.startswith(str(BAD))]
    assert len(verdicts) == sum(1 for ln in BAD.read_text().splitlines() if ln.strip())
    assert verdicts.count("invalid") == 9 and verdicts.count("ignored") == 1
    assert (
        f"{BAD}:5: invalid: Observation.valueInteger: 31 is outside 0–27 for PHQ-9 total"
        in (lines[4])
    )
    assert "[Observation.valueInteger]" in lines[4]
    assert any(
        ln.startswith(f"{BAD}:12: ignored: Observation/s09-other-code: Observation.code:")
        for ln in lines
    )
    assert any(
        "recognized: discharge, patient key s09, from Encounter/s09-enc (" in ln for ln in lines
    )
    assert lines[-1].startswith("check: 14 documents: 4 recognized, 1 ignored, 9 invalid")


def test_a_clean_feed_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _run(capsys, str(GOOD))
    assert code == 0 and " 0 invalid " in lines[-1]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "missing.ndjson")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["check"])
    assert e.value.code == 2
    assert main(["check", str(GOOD), "--rules", str(tmp_path / "none.toml")]) == 2
    capsys.readouterr()


def test_each_entry_of_a_bundle_has_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    score = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": PATIENT,
        "effectiveDateTime": "2026-03-07T10:00:00Z",
        "valueInteger": 12,
    }
    other = {
        **score,
        "id": "o2",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]},
    }
    bundle = {
        "resourceType": "Bundle",
        "id": "b1",
        "type": "collection",
        "entry": [
            {"resource": score},
            {"resource": other},
            {"resource": {**score, "id": "o3", "valueInteger": 40}},
        ],
    }
    feed = tmp_path / "feed.ndjson"
    feed.write_text(json.dumps(bundle) + "\n")
    code, lines, _ = _run(capsys, str(feed), "--source", "https://a.example.org")
    assert code == 1
    assert lines[0].startswith(f"{feed}:1: invalid: ") and "40 is outside 0–27" in lines[0]
    assert lines[1] == (
        "    recognized: assessment, patient key https://a.example.org|p1, from Observation/o1"
    )
    assert lines[2].startswith("    ignored: Observation/o2: ")


def test_json_lines_and_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(BAD.read_bytes())))
    code, lines, err = _run(capsys, "-", "--json")
    assert code == 1
    docs = [json.loads(ln) for ln in lines]
    assert [d["source"]["line"] for d in docs][:3] == [1, 2, 3]
    assert docs[4]["verdict"] == "invalid"
    assert docs[4]["invalid"][0]["expression"] == "Observation.valueInteger"
    assert docs[0]["events"][0] == {
        "kind": "discharge",
        "patient": "s09",
        "ref": "Encounter/s09-enc",
    }
    assert err.startswith("check: 14 documents")


def test_never_prints_a_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    secret = {"resourceType": "Observation", "id": "o9", "status": "final",
              "code": {"text": "a private note about the patient"}, "subject": PATIENT,
              "effectiveDateTime": "2026-03-07T10:00:00"}  # fmt: skip
    feed = tmp_path / "feed.ndjson"
    feed.write_text(json.dumps(secret) + "\n" + "x" * 50 + " private\n")
    _, lines, _ = _run(capsys, str(feed))
    assert "private" not in "\n".join(lines)
