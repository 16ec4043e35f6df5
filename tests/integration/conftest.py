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


#: Deployment kinds whose scenarios with a rules file of their own are left to ``make
#: test-slow``: such a scenario starts a worker of its own (8–20 s), and what the kind adds
#: (3 inbound partitions, SASL_SSL) does not depend on the rules; the plaintext kind runs them.
RULES_FILE_SCENARIOS_SLOW_IN = ("inbound-partitions", "sasl_ssl")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark those scenario items ``slow`` (deselected by the default ``-m 'not slow'``,
    run by ``make test-slow``), keeping the whole suite under CI's 20 minutes."""
    from tests.scenarios.runner import CASES

    with_rules = {scn.name for scn in CASES if scn.rules}
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or item.originalname != "test_kafka_equals_embedded":
            continue
        kind = callspec.params.get("deployment")
        scn = callspec.params.get("scn")
        if kind in RULES_FILE_SCENARIOS_SLOW_IN and getattr(scn, "name", None) in with_rules:
            item.add_marker(pytest.mark.slow)
