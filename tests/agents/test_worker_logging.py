"""The worker keeps the configured log level: Faust's spinner would set the root logger to
DEBUG, making every aiokafka debug call build a record (a measured ~10% of worker CPU)."""

from __future__ import annotations

import logging

from agents.settings import Settings
from agents.worker import QuietWorker, build


def test_root_logger_keeps_its_level() -> None:
    pipeline = build(Settings(app_id="test-quiet-worker", broker="kafka://localhost:1"))
    worker = QuietWorker(pipeline.app, loglevel="WARNING", quiet=True)
    logger = logging.getLogger("carepath-test-root")
    logger.setLevel(logging.WARNING)
    handlers = list(logger.handlers)
    worker.on_setup_root_logger(logger, logging.WARNING)
    assert logger.level == logging.WARNING
    assert logger.handlers == handlers
    assert worker.spinner is None
