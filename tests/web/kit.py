"""Test kit for the web service: a replay's output, accounts, a fake publisher (our own
port), a logged-in TestClient."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from agents.replay import Sinks, replay
from agents.settings import Settings
from agents.web.accounts import Accounts
from agents.web.app import create_app
from agents.web.readmodel import ReadModel, load_file
from agents.web.service import Web
from agents.web.settings import WebSettings
from pipeline.config import DEFAULT_RULES
from schemas.ingest import Limits
from schemas.outbound import DEFAULT_BASE

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample.ndjson"
NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
PASSWORDS = {
    "alice": "alice-pass-1",
    "bob": "bob-pass-22",
    "rita": "rita-pass-3",
    "sam": "sam-pass-44",
}
ROLES = {"alice": "case-manager", "bob": "case-manager", "rita": "reader", "sam": "supervisor"}


@dataclass
class FakePublisher:
    """Records what would go to ``care.inbound``; ``fail`` makes it refuse like Kafka."""

    topic: str = "care.inbound"
    sent: list[tuple[bytes, str | None, str | None]] = field(default_factory=list)
    fail: bool = False

    def publish(self, value: bytes, key: str | None, source: str | None) -> tuple[int, int]:
        if self.fail:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError("refused")
        self.sent.append((value, key, source))
        return 0, len(self.sent) - 1

    def close(self) -> None:
        pass


#: Set by tests/web/conftest.py: a directory with the sample output and seeded accounts.
SEED: Path | None = None


def sample_output(tmp: Path) -> Path:
    out = tmp / "out.ndjson"
    if not out.exists() and SEED is not None and (SEED / "out.ndjson").exists():
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copy(SEED / "out.ndjson", out)
    if not out.exists():
        tmp.mkdir(parents=True, exist_ok=True)
        sinks = Sinks(str(out), str(tmp / "dlq.ndjson"), None)
        replay(
            [str(SAMPLE)],
            sinks,
            datetime(2026, 8, 1, tzinfo=UTC),
            DEFAULT_RULES,
            Limits(),
            DEFAULT_BASE,
        )
    return out


def make_web(tmp: Path, read_only: bool = False, **web_settings: Any) -> Web:
    model = ReadModel(":memory:")
    load_file(model, sample_output(tmp))
    model.loaded.set()
    if SEED is not None and not (tmp / "web").exists():
        shutil.copytree(SEED / "web", tmp / "web")
    accounts = Accounts(tmp / "web")
    if not accounts.users():
        seed_accounts(tmp / "web")
    ws = WebSettings(data=tmp / "web", **web_settings)
    publisher = None if read_only else FakePublisher()
    return Web(Settings(), ws, model, accounts, publisher, clock=lambda: NOW)  # type: ignore[arg-type]


def seed_accounts(directory: Path) -> None:
    accounts = Accounts(directory)
    for name, role in ROLES.items():
        accounts.add_user(name, role, PASSWORDS[name], "Organization/cm-team")
    accounts.close()


def client(web: Web) -> TestClient:
    return TestClient(create_app(web), base_url="http://testserver")


def login(c: TestClient, name: str) -> TestClient:
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    r = c.post(
        "/login",
        data={"csrf": token.group(1), "username": name, "password": PASSWORDS[name], "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)
