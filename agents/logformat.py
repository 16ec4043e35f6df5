"""Log lines as text (the default) or as one JSON object a line (``CAREPATH_LOG_FORMAT=json``)
for the worker and every ``carepath`` command.

A JSON line has ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger`` and
``message``, then any extra fields of the record, and ``exception`` when there is one. It
says what the text line says: the message is formatted after :mod:`agents.logsafe` has
redacted the Kafka libraries' arguments, and extra fields go through the same
:func:`agents.logsafe.plain` (bytes become their length, other objects their type name),
so no key or document reaches a log in either format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from agents.logsafe import plain

LogFormat = Literal["text", "json"]
#: The attributes every LogRecord has; any other is an extra field.
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = plain(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str, skipkeys=True)


def use_json(logger: logging.Logger) -> None:
    """Every handler of ``logger`` writes JSON lines (the worker's, once Faust set them)."""
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())


class _CommandHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler a command installs for JSON lines (one, however often called)."""


def configure(fmt: LogFormat) -> None:
    """For a ``carepath`` command: with ``json``, what reaches the root logger is written as
    JSON lines on standard error (levels unchanged); ``text`` leaves logging as it is."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CommandHandler)]:
        root.removeHandler(handler)
    if fmt == "json":
        handler = _CommandHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
