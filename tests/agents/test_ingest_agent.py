"""The ingest agent's shell: the channel source from the ``carepath-source`` header, and
ignored input counted without clinical content in the logs (a real ``Pipeline``, its
topics replaced by sinks; no broker)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from agents.app import Pipeline, Ports
from agents.headers import SOURCE
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES
from schemas.wire import decode_event

ASSESSMENT = orjson.dumps(
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-01T10:00:00Z",
        "valueInteger": 12,
    }
)
OTHER = orjson.dumps(
    {
        "resourceType": "Observation",
        "id": "o2",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "720433000"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-01T10:00:00Z",
        "valueString": "Jane Doe hears voices",
    }
)


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, *, key: bytes | None = None, value: bytes = b"", **_: Any) -> Any:
        self.sent.append((key, value))


def _pipeline() -> tuple[Pipeline, Sink]:
    events = Sink()
    ports = Ports({}, events, Sink(), Sink(), Sink(), max_request_size=1_000_000)
    settings = Settings(_env_file=None, broker="kafka://localhost:1")  # type: ignore[call-arg]
    return Pipeline(settings, DEFAULT_RULES, ports), events


def _ingest(p: Pipeline, value: bytes, headers: list[tuple[str, bytes]]) -> None:
    msg = SimpleNamespace(
        topic="care.inbound", partition=0, offset=5, key=None, value=value, headers=headers
    )
    asyncio.run(p.ingest_one(SimpleNamespace(message=msg)))


@pytest.mark.parametrize(
    ("headers", "key"),
    [([(SOURCE, b"hosp-a")], "hosp-a|p1"), ([], "p1"), ([(SOURCE, b"")], "p1")],
)
def test_channel_source_names_the_patient_key(headers: list[tuple[str, bytes]], key: str) -> None:
    p, events = _pipeline()
    _ingest(p, ASSESSMENT, headers)
    [(sent_key, value)] = events.sent
    assert sent_key == key.encode()
    assert decode_event(value).patient == key  # type: ignore[union-attr]


def test_ignored_resources_are_counted_and_logged_by_id_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p, events = _pipeline()
    with caplog.at_level(logging.DEBUG, logger="carepath.agents"):
        _ingest(p, OTHER, [])
        asyncio.run(p.log_ignored())
        asyncio.run(p.log_ignored())  # nothing new: no second line
    assert events.sent == []
    text = caplog.text
    assert "ignored Observation/o2 from care.inbound[0]@5" in text
    counts = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(counts) == 1 and counts[0].startswith("ignored since start: 1 (1 × Observation")
    assert "Jane" not in text and "720433000" not in text
