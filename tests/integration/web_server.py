"""Start and stop a real ``carepath web`` subprocess next to a test worker (same topics),
with accounts made by the ``carepath users``/``tokens`` commands, and a headless Chromium
(Debian's ``chromium`` + ``chromium-driver``, driven by Selenium; no browser download)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.worker import WorkerEnv

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebServer:
    def __init__(self, wenv: WorkerEnv, tmp: Path, **extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = tmp / "web"
        self.log = tmp / "web.log"
        self.env = {
            **wenv.env(),
            "CAREPATH_WEB_DATA": str(self.data),
            "CAREPATH_WEB_LISTEN": f"127.0.0.1:{self.port}",
            "CAREPATH_WEB_POLL_SECONDS": "0.5",
            **extra,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "agents.cli", *args],
            env=self.env, input=stdin, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout

    def add_user(self, name: str, role: str, password: str, team: str = "") -> None:
        extra = ["--team", team] if team else []
        self.cli("users", "add", name, "--role", role, "--password-stdin", *extra, stdin=password)

    def add_token(self, name: str, role: str, source: str = "") -> str:
        extra = ["--source", source] if source else []
        return self.cli("tokens", "add", name, "--role", role, *extra).strip().splitlines()[-1]

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "web"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).json()["read_model"] == "ready":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"carepath web not ready in {timeout}s\n{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


@contextmanager
def running_web(wenv: WorkerEnv, tmp: Path, users: dict[str, tuple[str, str]],
                **extra: str) -> Iterator[WebServer]:  # fmt: skip
    server = WebServer(wenv, tmp, **extra)
    for name, (role, password) in users.items():
        server.add_user(name, role, password, "Organization/cm-team")
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@contextmanager
def chromium(width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A headless Chromium under Selenium, with Debian's driver (no Selenium Manager)."""
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail(
                "chromium/chromium-driver missing: scripts/ensure-chromium.sh installs them"
            )
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=en-US"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def save_shot(driver: Any, tmp: Path, name: str) -> Path:
    """A screenshot into the test's directory and, when ``CAREPATH_SCREENSHOTS`` names a
    directory, a copy there (CI artifacts)."""
    path = tmp / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    keep = os.environ.get("CAREPATH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path
