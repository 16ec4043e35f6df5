"""Issue 11 through embedded replay, beyond what the corpus holds: a line far over the size
limit is never read whole, one record per document whatever its number of problems, files
with patient data are ``0600``, and an implausible ``--until`` is a usage error."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli import main
from agents.engine import Engine
from agents.replay import read_lines
from pipeline.config import DEFAULT_RULES
from pipeline.outputs import TaskRecord
from schemas.inbound.types import Cut
from schemas.ingest import DEFAULT_BASE, Limits
from tests.hostile.cases_limits import limit_cases
from tests.hostile.cases_tasks import setup_events, task_update
from tests.hostile.templates import template

UNTIL = "2026-12-31T00:00:00Z"
VALID = orjson.dumps(template("obs"))


def _replay(tmp: Path, *lines: bytes, until: str = UNTIL) -> tuple[list[Any], bytes, str]:
    src, out, dlq = tmp / "in.ndjson", tmp / "out.ndjson", tmp / "dlq.ndjson"
    with open(src, "wb") as f:
        for ln in lines:
            f.write(ln + b"\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["replay", str(src), "--out", str(out), "--dead-letter", str(dlq),
                     "--until", until])  # fmt: skip
    assert code == 0, err.getvalue()
    return (
        [orjson.loads(ln) for ln in dlq.read_bytes().splitlines()],
        out.read_bytes(),
        err.getvalue(),
    )


def _huge_line(path: Path, size: int) -> None:
    """``size`` bytes of one JSON document on one line, then a valid document, written in
    chunks."""
    head, tail = b'{"resourceType":"Observation","note":[{"text":"', b'"}]}'
    chunk = b"x" * (1 << 20)
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        f.write(tail + b"\r\n" + VALID + b"\n")


def test_a_line_over_the_limit_is_read_in_chunks(tmp_path: Path) -> None:
    src = tmp_path / "huge.ndjson"
    size = 64 << 20
    _huge_line(src, size)
    tracemalloc.start()
    try:
        lines = list(read_lines([str(src)], 1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes: the line was held whole"
    (_, n1, first), (_, n2, second) = lines
    assert (n1, n2) == (1, 2) and second == VALID
    assert isinstance(first, Cut) and first.size == size and len(first) == (1 << 20) + 1


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_cut_lengths_count_the_line_only(tmp_path: Path, ending: bytes) -> None:
    src = tmp_path / "x.ndjson"
    src.write_bytes(b"y" * 5000 + ending + b"z" * 10 + b"\n" + b"w" * 3000)
    (_, _, first), (_, n, second), (_, m, last) = read_lines([str(src)], 1024)
    assert isinstance(first, Cut) and (first.size, len(first), first[:3]) == (5000, 1025, b"yyy")
    assert (n, second) == (2, b"z" * 10)
    assert isinstance(last, Cut) and (m, last.size) == (3, 3000)  # the last line, no newline


def test_lines_at_the_limit_are_whole(tmp_path: Path) -> None:
    src = tmp_path / "x.ndjson"
    src.write_bytes(b"a" * 1024 + b"\r\n" + b"b" * 1025 + b"\n")
    (_, _, a), (_, _, b) = read_lines([str(src)], 1024)
    assert a == b"a" * 1024 and type(a) is bytes
    assert b == b"b" * 1025 and type(b) is bytes  # over the limit by one: ingest refuses it


@pytest.mark.slow
def test_a_300_mb_line_is_one_dead_letter_and_the_next_line_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "huge.ndjson"
    size = 300 << 20
    _huge_line(src, size)
    out, dlq = tmp_path / "out.ndjson", tmp_path / "dlq.ndjson"
    with contextlib.redirect_stderr(io.StringIO()):
        argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
        assert main([*argv, "--until", UNTIL]) == 0
    [record] = [orjson.loads(ln) for ln in dlq.read_bytes().splitlines()]
    assert record["error"]["issue"][0]["diagnostics"] == (
        f"the document is {size} bytes, over the 1048576-byte limit"
    )
    assert record["raw_truncated"] and len(record["raw"]) == 1 << 20
    assert record["source"] == {"file": str(src), "line": 1}


def test_an_oversized_line_through_the_cli(tmp_path: Path) -> None:
    src = tmp_path / "big.ndjson"
    _huge_line(src, 3 << 20)
    out, dlq = tmp_path / "out.ndjson", tmp_path / "dlq.ndjson"
    with contextlib.redirect_stderr(io.StringIO()) as err:
        argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
        assert main([*argv, "--until", UNTIL]) == 0
    [record] = [orjson.loads(ln) for ln in dlq.read_bytes().splitlines()]
    assert record["error"]["issue"][0]["diagnostics"] == (
        f"the document is {3 << 20} bytes, over the 1048576-byte limit"
    )
    assert record["raw_truncated"] and record["raw"].startswith('{"resourceType":"Observation"')
    assert "1 dead-lettered" in err.getvalue() and "2 documents" in err.getvalue()


def test_the_100k_entry_bundle_is_one_bounded_record(tmp_path: Path) -> None:
    [(raw, _)] = [(r, e) for r, e in limit_cases() if e and e["case"] == "amplifier-100k"]
    assert 190_000 < len(raw) < 210_000
    dead, _, summary = _replay(tmp_path, raw, VALID)
    [record] = dead
    issues = record["error"]["issue"]
    assert len(issues) == 101 and issues[-1] == {
        "severity": "information",
        "code": "informational",
        "diagnostics": "and 99900 more problems in this document (the first 100 are listed)",
    }
    assert issues[99]["expression"] == ["Bundle.entry[99]"]
    assert record["raw"].encode() == raw
    assert len(orjson.dumps(record)) < len(raw) + 20_000
    assert "dead letters 1;" in summary


def test_problems_of_several_stages_make_one_record(tmp_path: Path) -> None:
    """A collection with a bad entry (the boundary's problem) and an update of a Task the
    state machine refuses (the core's): one record with both, and the document as raw."""
    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
    found = [o for raw in setup_events() for o in engine.feed(raw).outputs]
    referral = next(o.id for o in found if isinstance(o, TaskRecord) and o.code == "fulfill")
    bad = {**template("obs"), "id": "hx-bad", "valueInteger": 99}
    illegal = orjson.loads(task_update(referral, "completed", 0))
    doc = {**template("collection"), "entry": [{"resource": bad}, {"resource": illegal}]}
    dead, _, _ = _replay(tmp_path, *setup_events(), orjson.dumps(doc))
    [record] = dead
    issues = record["error"]["issue"]
    assert [(i["code"], i["expression"]) for i in issues] == [
        ("value", ["Bundle.entry[0].resource.valueInteger"]),
        ("business-rule", ["Task.status"]),
    ], issues
    assert orjson.loads(record["raw"]) == doc and record["source"]["line"] == 4


def test_files_with_patient_data_are_private(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(VALID + b"\n" + b"{}\n")
    old = os.umask(0o022)
    try:
        (tmp_path / "out.ndjson").write_bytes(b"old\n")
        os.chmod(tmp_path / "out.ndjson", 0o644)
        with contextlib.redirect_stderr(io.StringIO()):
            argv = ["replay", str(src), "--out", str(tmp_path / "out.ndjson")]
            argv += ["--dead-letter", str(tmp_path / "dlq.ndjson")]
            assert main([*argv, "--ignored", str(tmp_path / "ign.ndjson")]) == 0
    finally:
        os.umask(old)
    for name in ("out.ndjson", "dlq.ndjson", "ign.ndjson"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert b"old" not in (tmp_path / "out.ndjson").read_bytes()


@pytest.mark.parametrize(
    "until", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "1899-12-31T18:00:00-05:00"]
)
def test_an_implausible_until_is_a_usage_error(tmp_path: Path, until: str) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(VALID + b"\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        argv = ["replay", str(src), "--out", str(tmp_path / "o"), "--until", until]
        assert main(argv) == 2
    assert "outside the years the pipeline accepts (1900–2199)" in err.getvalue()


def test_the_reference_is_until(tmp_path: Path) -> None:
    """Without ``--until`` there is no horizon; with it, a 2062 date is refused."""
    future = orjson.dumps({**template("obs"), "effectiveDateTime": "2062-03-01T00:00:00Z"})
    dead, _, _ = _replay(tmp_path, future)
    assert (
        "more than 30 days after the reference time 2026-12-31T00:00:00Z"
        in (dead[0]["error"]["issue"][0]["diagnostics"])
    )
    src, out = tmp_path / "f.ndjson", tmp_path / "o.ndjson"
    src.write_bytes(future + b"\n")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["replay", str(src), "--out", str(out)]) == 0
    assert "0 dead-lettered" in err.getvalue()


def test_a_bug_in_the_core_is_a_dead_letter_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Embedded replay never stops on an exception: ``decide`` raising on one event makes
    its document a dead letter (the exception type only); a tick that raises for one patient
    leaves that patient and advances the others."""
    import agents.engine as engine_module

    real_decide, real_advance = engine_module.decide, engine_module.advance

    def decide(state: Any, event: Any, rules: Any) -> Any:
        if event.ref == "Observation/hx-boom":
            raise ZeroDivisionError("a message that quotes 14")
        return real_decide(state, event, rules)

    def advance(state: Any, now: Any, rules: Any) -> Any:
        if state.patient == "s05":
            raise KeyError("s05")
        return real_advance(state, now, rules)

    monkeypatch.setattr(engine_module, "decide", decide)
    monkeypatch.setattr(engine_module, "advance", advance)
    boom = orjson.dumps({**template("obs"), "id": "hx-boom"})
    dead, out, _ = _replay(tmp_path, *setup_events(), boom, VALID)
    [record] = dead
    [issue] = record["error"]["issue"]
    assert issue == {
        "severity": "error",
        "code": "exception",
        "diagnostics": "internal error while applying an event: ZeroDivisionError",
    }
    assert record["source"]["line"] == 4 and "14" not in issue["diagnostics"]
    assert out  # the other patients' outputs and tick
    assert "unexpected KeyError while advancing a patient's clock" in caplog.text
