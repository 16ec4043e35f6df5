"""Embedded replay for tests: the engine ``carepath replay`` runs, in-process, on paths or
documents, with no files written, no subprocess and no broker.

It is ``agents.replay.replay`` without the files: the same :class:`~agents.engine.Engine`,
the same dead-letter records and the same rendering, so ``emitted`` is, line for line, what
``carepath replay --out`` writes for the same input (tests/scenarios checks it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agents.engine import Engine
from agents.replay import dead_letter, parse_until
from agents.settings import Settings
from agents.testing.compare import Json
from agents.testing.inputs import Inputs, Line, lines_of, resolve
from agents.testing.result import DeadLetter, IgnoredItem, ReplayResult
from pipeline.config import DEFAULT_RULES, RuleConfig, load_rules, parse_rules
from schemas.ingest import Limits
from schemas.outbound import resource

Rules = RuleConfig | Mapping[str, Any] | str | os.PathLike[str] | None
Until = str | datetime | None


def rules_config(rules: Rules) -> RuleConfig:
    """A rules file path, a mapping shaped like one (``{"site": {"timezone": ...}}``), a
    ``RuleConfig``, or ``None`` for the defaults."""
    if rules is None:
        return DEFAULT_RULES
    if isinstance(rules, RuleConfig):
        return rules
    if isinstance(rules, Mapping):
        return parse_rules(dict(rules), "rules")
    return load_rules(os.fspath(rules))


def until_time(until: Until) -> datetime | None:
    """``until`` as an aware UTC time; a time without a zone is refused (contract §2)."""
    if until is None:
        return None
    if isinstance(until, datetime):
        if until.tzinfo is None:
            raise ValueError(f"until {until!r}: a time zone is required")
        return until.astimezone(UTC)
    return parse_until(until)


def check_source(source: str | None) -> str | None:
    if source is not None and (not source.strip() or source != source.strip()):
        raise ValueError(f"source {source!r}: a non-empty name without surrounding spaces")
    return source


class EmbeddedRun:
    """One embedded replay's engine and collected results (``reference``: the ``--until``
    of the run, the reference time of the plausibility check, as ``carepath replay``)."""

    def __init__(
        self,
        rules: RuleConfig,
        source: str | None,
        settings: Settings,
        reference: datetime | None = None,
    ) -> None:
        self.base = settings.base_url
        self.limits = Limits(max_bytes=settings.max_bytes, max_depth=settings.max_depth)
        self.engine = Engine(rules, self.limits, self.base, source=source, reference=reference)
        self.emitted: list[Json] = []
        self.dead: list[DeadLetter] = []
        self.ignored: list[IgnoredItem] = []

    def feed(self, lines: list[Line]) -> None:
        for line in lines:
            result = self.engine.feed(line.raw)
            self.emitted.extend(resource(o, self.base) for o in result.outputs)
            if result.errors:  # one record per document, listing all its problems
                where = dict(line.where)
                record = dead_letter(result.errors, line.raw, where, self.limits, result.unlisted)
                self.dead.append(DeadLetter.of(record))
            for item in result.ignored:
                where = dict(line.where)
                self.ignored.append(IgnoredItem(item.resource_type, item.id, item.reason, where))

    def tick(self, until: datetime | None) -> None:
        if until is not None:
            self.emitted.extend(resource(o, self.base) for o in self.engine.tick(until))

    def result(self) -> ReplayResult:
        stats = self.engine.stats.summary()
        return ReplayResult(self.emitted, self.dead, self.ignored, stats=stats)


def resolved_lines(
    lines: list[Line], rules: RuleConfig, source: str | None, settings: Settings
) -> list[Line]:
    """``lines`` with case managers' update documents resolved (the same list when there
    is none)."""

    def prefix(lines: list[Line], until: str) -> list[Json]:
        final = until_time(until)
        run = EmbeddedRun(rules, source, settings, final)
        run.feed(lines)
        run.tick(final)
        return run.emitted

    return resolve(lines, prefix)


def replay(
    inputs: Inputs,
    *,
    until: Until = None,
    rules: Rules = None,
    source: str | None = None,
) -> ReplayResult:
    """Replay ``inputs`` in-process as ``carepath replay`` would (``until``: the final tick;
    ``rules``: a rules file or its content; ``source``: every document's channel source, as
    ``--source``). Settings (base URL, limits) come from ``CAREPATH_*`` as for the CLI."""
    settings = Settings()
    config = rules_config(rules)
    src = check_source(source)
    final = until_time(until)
    lines = resolved_lines(lines_of(inputs), config, src, settings)
    run = EmbeddedRun(config, src, settings, final)
    run.feed(lines)
    run.tick(final)
    return run.result()
