"""Fixtures of the web tests: one replay of the sample stream and one accounts file per
session (Argon2 hashing is slow on purpose), copied into each test's directory."""

from __future__ import annotations

import pytest

from tests.web import kit


@pytest.fixture(scope="session", autouse=True)
def _web_seed(tmp_path_factory: pytest.TempPathFactory) -> None:
    seed = tmp_path_factory.mktemp("web-seed")
    kit.sample_output(seed)
    kit.seed_accounts(seed / "web")
    kit.SEED = seed
