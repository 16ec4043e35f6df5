"""``carepath worker`` with ``CAREPATH_STORE=rocksdb://`` but without rocksdict: one line
naming the extra to install, exit 2, no traceback, before any broker is asked (issue 12,
"fails clearly"). The worker itself on RocksDB: ``tests/integration/test_rocksdb.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.settings import Settings
from agents.store import ROCKSDB_EXTRA, StoreUnavailable, check_store

# None in sys.modules makes ``import rocksdict`` fail, as if it were not installed
BLOCKED = (
    "import sys; sys.modules['rocksdict'] = None; from agents.cli import main; sys.exit(main())"
)


def _worker(tmp_path: Path, store: str, blocked: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        CAREPATH_STORE=store,
        CAREPATH_DATADIR=str(tmp_path / "data"),
        CAREPATH_BROKER="kafka://127.0.0.1:9",  # discard port: nothing listens
    )
    code = BLOCKED if blocked else "import sys; from agents.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", code, "worker"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_rocksdb_store_without_rocksdict_names_the_extra(tmp_path: Path) -> None:
    done = _worker(tmp_path, "rocksdb://", blocked=True)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "carepath worker: rocksdict missing: CAREPATH_STORE=rocksdb:// needs the rocksdb "
        "extra, pip install 'carepath[rocksdb]' (or make setup)"
    ]
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_memory_store_needs_no_rocksdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rocksdict", None)
    check_store(Settings(store="memory://", datadir=tmp_path))  # no error
    with pytest.raises(StoreUnavailable, match=r"carepath\[rocksdb\]"):
        check_store(Settings(store="RocksDB://", datadir=tmp_path))


def test_installed_extra_is_no_problem(tmp_path: Path) -> None:
    check_store(Settings(store="rocksdb://", datadir=tmp_path))  # make setup installs it
    assert "carepath[rocksdb]" in ROCKSDB_EXTRA
