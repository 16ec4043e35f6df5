"""Shared fixtures. Only ``kafka_bootstrap`` lives here; it starts a broker lazily.

The carepath pytest plugin (``carepath_replay``, ``carepath_kafka``, the scenario items of
``carepath_scenarios``) loads by its ``pytest11`` entry point. In an environment installed
before the entry point existed, or with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``, it is loaded here
instead; never both ways, which pytest refuses.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

_PLUGIN = "agents.testing.plugin"
pytest_plugins = [] if _PLUGIN in sys.modules else [_PLUGIN]


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a Kafka broker for the whole session.

    ``CAREPATH_BROKER=kafka://host:port`` points at a running broker. Otherwise the first test
    that asks for this fixture starts a local one (``agents.broker.broker_up``, version from
    ``CAREPATH_KAFKA_VERSION`` or the default) in a temp dir, stopped at the end of the session.
    """
    url = os.environ.get("CAREPATH_BROKER", "").strip()
    if url:
        yield url.removeprefix("kafka://").split(";")[0].split(",")[0]
        return
    from agents.broker import DEFAULT_KAFKA_VERSION, broker_down, broker_up

    directory = tmp_path_factory.mktemp("kafka-broker")
    version = os.environ.get("CAREPATH_KAFKA_VERSION") or DEFAULT_KAFKA_VERSION
    address = broker_up(directory, version, tie_to_caller=True)  # no JVM outlives a killed run
    try:
        yield address
    finally:
        broker_down(directory)
