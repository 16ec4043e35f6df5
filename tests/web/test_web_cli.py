"""``carepath users``, ``carepath tokens`` and ``carepath web --file`` as commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agents.web.accounts import Accounts
from tests.web.kit import sample_output


def _run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_users_and_tokens_commands(tmp_path: Path) -> None:
    env = {**os.environ, "CAREPATH_WEB_DATA": str(tmp_path / "web")}
    r = _run(env, "users", "add", "ana", "--role", "supervisor", "--password-stdin",
             stdin="a-good-password\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = _run(env, "tokens", "add", "adt", "--role", "sender", "--source", "north")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    accounts = Accounts(tmp_path / "web")
    assert accounts.login("ana", "a-good-password") is not None
    who = accounts.bearer(token)
    assert who is not None and who.role == "sender" and who.source == "north"
    listed = _run(env, "tokens", "list").stdout
    assert "adt\tsender\tnorth" in listed and token not in listed
    assert _run(env, "users", "add", "x", "--role", "admin", "--password-stdin").returncode == 2
    short = _run(env, "users", "add", "bo", "--role", "reader", "--password-stdin", stdin="short")
    assert short.returncode == 2 and "8 characters" in short.stderr
    reader_src = _run(env, "tokens", "add", "r", "--role", "reader", "--source", "north")
    assert reader_src.returncode == 2
    assert _run(env, "tokens", "remove", "adt").returncode == 0
    assert Accounts(tmp_path / "web").bearer(token) is None


def test_web_serves_a_file_read_only_without_a_broker(tmp_path: Path) -> None:
    out = sample_output(tmp_path)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CAREPATH_WEB_DATA": str(tmp_path / "web"),
        "CAREPATH_BROKER": "kafka://127.0.0.1:1",  # nothing there: never used
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "web", "--file", str(out),
         "--listen", f"127.0.0.1:{port}", "--now", "2026-08-01T00:00:00Z"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health["read_only"] is True and health["read_model"] == "ready"
        assert health["tasks"] > 0 and health["kafka"] == "not used"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        log = proc.communicate(timeout=20)[0].decode()
    assert "read-only from" in log and "read model:" in log
