"""``CAREPATH_LOG_FORMAT=json``: one JSON object a line, with time, level, logger, message
and extra fields, and no more of a record than the text line shows (the Kafka libraries'
keys and values are redacted by ``agents.logsafe`` before either formatter sees them)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from agents import logsafe
from agents.logformat import JsonFormatter, configure, use_json
from agents.settings import Settings
from agents.worker import QuietWorker, build

KEY = b"hosp-a|MRN-0042"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A logger ``carepath-json-test`` and ``aiokafka.json-test`` writing JSON to a buffer."""
    logsafe.install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(n) for n in ("carepath-json-test", "aiokafka.json-test")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    yield out
    for logger in loggers:
        logger.removeHandler(handler)


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    text = out.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_one_object_a_line_with_the_fields_and_extras(captured: io.StringIO) -> None:
    log = logging.getLogger("carepath-json-test")
    log.info("dead letter from %s[%s]@%s", "care.inbound", 0, 41, extra={"stage": "ingest"})
    log.warning('two\nlines and "quotes"')
    first, second = _lines(captured)
    assert set(first) == {"time", "level", "logger", "message", "stage"}
    assert first["level"] == "INFO" and first["logger"] == "carepath-json-test"
    assert first["message"] == "dead letter from care.inbound[0]@41"
    assert first["stage"] == "ingest"
    assert str(first["time"]).endswith("Z") and "T" in str(first["time"])
    assert second["message"] == 'two\nlines and "quotes"' and second["level"] == "WARNING"


def test_exceptions_are_one_field(captured: io.StringIO) -> None:
    try:
        raise KeyError("x")
    except KeyError:
        logging.getLogger("carepath-json-test").exception("failed")
    [line] = _lines(captured)
    assert "Traceback" in str(line["exception"]) and "KeyError" in str(line["exception"])


def test_no_key_or_document_of_the_kafka_libraries(captured: io.StringIO) -> None:
    """What aiokafka logs at debug: keys and values become lengths, also in extra fields."""
    log = logging.getLogger("aiokafka.json-test")
    value = b'{"resourceType":"Patient","id":"MRN-0042","name":[{"family":"Doe"}]}'
    log.debug("Sending (key=%s value=%s)", KEY, value, extra={"record": value})
    [line] = _lines(captured)
    text = json.dumps(line)
    assert "MRN-0042" not in text and "Doe" not in text
    assert line["message"] == f"Sending (key=<{len(KEY)} bytes> value=<{len(value)} bytes>)"
    assert line["record"] == f"<{len(value)} bytes>"


def test_a_command_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure("json")
        configure("json")  # once, however often
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and added[0].stream is sys.stderr  # type: ignore[attr-defined]
        logging.getLogger("carepath.replay").warning("replay: %d documents", 3)
        [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
        assert line["message"] == "replay: 3 documents" and line["logger"] == "carepath.replay"
        configure("text")
        assert root.handlers == before
    finally:
        configure("text")


def test_the_setting() -> None:
    assert Settings(_env_file=None).log_format == "text"  # type: ignore[call-arg]
    assert Settings(log_format="JSON").log_format == "json"
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")


def test_the_worker_logs_json_lines() -> None:
    """The worker's handlers (set up by Faust's worker) get the JSON formatter."""
    pipeline = build(Settings(app_id="test-json-worker", broker="kafka://localhost:1"))
    worker = QuietWorker(pipeline.app, loglevel="WARNING", quiet=True, log_format="json")
    logger = logging.getLogger("carepath-json-worker")
    logger.addHandler(logging.StreamHandler(io.StringIO()))
    try:
        worker.on_setup_root_logger(logger, logging.WARNING)
        assert all(isinstance(h.formatter, JsonFormatter) for h in logger.handlers)
    finally:
        logger.handlers.clear()
    use_json(logger)  # no handlers: nothing to do
