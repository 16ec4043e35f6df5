"""``carepath bench`` without its extra (matplotlib, psutil): one line naming the extra to
install, exit 2, no traceback (issue 12, "fails clearly")."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.bench import EXTRA_MODULES, extra_problem
from agents.cli import main

# None in sys.modules makes ``import name`` raise ImportError, as if it were not installed
BLOCKED = "import sys; sys.modules['{}'] = None; from agents.cli import main; sys.exit(main())"


@pytest.mark.parametrize("name", EXTRA_MODULES)
def test_missing_module_named_with_the_extra(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, name, None)
    problem = extra_problem()
    assert problem is not None
    assert name in problem and "pip install 'carepath[bench]'" in problem
    assert "make setup" in problem


def test_installed_extra_is_no_problem() -> None:
    assert extra_problem() is None  # the dev environment has it (make setup)


def test_bench_without_extra_exits_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    assert main(["bench", "--quick", "--skip-kafka", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("carepath bench: psutil missing")


def test_command_line_without_matplotlib() -> None:
    argv = [sys.executable, "-c", BLOCKED.format("matplotlib"), "bench", "--quick"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "carepath bench: matplotlib missing: the bench needs its extra, "
        "pip install 'carepath[bench]' (or make setup)"
    ]
