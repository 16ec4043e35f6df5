"""The secure broker of the integration tests: one a session, shared by the secure-broker
tests and the secure kind of the worker-scenario tests (each with its own topics and group)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.secure import SecureBroker, secure_broker


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("secure-broker")) as broker:
        yield broker
