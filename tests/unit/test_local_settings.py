"""The environment is read in one place (DESIGN.md convention 12): ``agents/settings.py``.
The local tooling's variables (``LocalSettings``) and the one parser of ``carepath broker``
(also ``python -m agents.broker``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agents import broker
from agents.cli import build_parser
from agents.settings import LocalSettings, environ_without_settings

ROOT = Path(__file__).resolve().parents[2]
READERS = {"get", "getenv", "pop", "setdefault"}


def _env_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every ``os.environ.get("CAREPATH_…")``, ``os.getenv("CAREPATH_…")``
    and ``os.environ["CAREPATH_…"]``."""
    found = []
    for node in ast.walk(tree):
        arg: ast.expr | None = None
        if isinstance(node, ast.Call) and node.args and getattr(node.func, "attr", "") in READERS:
            arg = node.args[0]
        elif isinstance(node, ast.Subscript) and getattr(node.value, "attr", "") == "environ":
            arg = node.slice
        if isinstance(arg, ast.Constant) and str(arg.value).startswith("CAREPATH_"):
            found.append((node.lineno, str(arg.value)))
    return found


def test_only_settings_reads_carepath_variables() -> None:
    reads = {}
    for package in ("agents", "pipeline", "schemas"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "agents" / "settings.py":
                continue
            found = _env_reads(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                reads[str(path.relative_to(ROOT))] = found
    assert reads == {}


def test_the_check_sees_a_read() -> None:
    code = (
        'import os\nos.environ.get("CAREPATH_X")\nos.getenv("CAREPATH_Y")\nos.environ["CAREPATH_Z"]'
    )
    assert [n for _, n in _env_reads(ast.parse(code))] == ["CAREPATH_X", "CAREPATH_Y", "CAREPATH_Z"]


def test_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAREPATH_HOME", str(tmp_path))
    monkeypatch.setenv("CAREPATH_KAFKA_VERSION", " 3.9.1 ")
    monkeypatch.setenv("CAREPATH_BROKER", "")
    # a client setting that does not validate is no concern of the local tooling
    monkeypatch.setenv("CAREPATH_SSL_CAFILE", str(tmp_path / "gone.pem"))
    assert LocalSettings() == LocalSettings(home=tmp_path, kafka_version="3.9.1", broker="")
    assert broker.default_broker_dir() == tmp_path / "broker"
    assert broker.kafka_version() == "3.9.1"
    monkeypatch.setenv("CAREPATH_KAFKA_VERSION", "")
    assert broker.kafka_version() == broker.DEFAULT_KAFKA_VERSION
    assert "CAREPATH_HOME" not in environ_without_settings()


@pytest.mark.parametrize("action", broker.ACTIONS)
def test_one_broker_parser(action: str) -> None:
    args = build_parser().parse_args(["broker", action, "--dir", "d", "--version", "3.9.1"])
    assert (args.action, args.dir, args.version, args.secure) == (action, Path("d"), "3.9.1", False)
    assert args.func is broker.run


def test_python_m_agents_broker_is_carepath_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAREPATH_BROKER", raising=False)
    assert broker.main(["status", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out == "not running\n"
    with pytest.raises(SystemExit):
        broker.main(["sideways"])
    assert "usage: carepath broker" in capsys.readouterr().err
