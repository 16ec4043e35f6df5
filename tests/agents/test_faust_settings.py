"""The worker's Faust settings come from ``Settings``, and the producer linger is a knob."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.app import faust_settings
from agents.settings import Settings


def test_linger_defaults_to_one_millisecond_and_follows_the_setting() -> None:
    assert faust_settings(Settings(_env_file=None))["producer_linger_ms"] == 1.0  # type: ignore[call-arg]
    s = Settings(_env_file=None, producer_linger_ms=5)  # type: ignore[call-arg]
    conf = faust_settings(s)
    assert conf["producer_linger_ms"] == 5.0
    assert conf["producer_acks"] == -1, "acks=all whatever the linger"


def test_linger_from_the_environment_and_refused_out_of_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREPATH_PRODUCER_LINGER_MS", "7.5")
    assert Settings(_env_file=None).producer_linger_ms == 7.5  # type: ignore[call-arg]
    monkeypatch.setenv("CAREPATH_PRODUCER_LINGER_MS", "-1")
    with pytest.raises(ValidationError, match="producer_linger_ms"):
        Settings(_env_file=None)  # type: ignore[call-arg]
