"""``carepath worker``: build the pipeline from settings and run it until stopped."""

from __future__ import annotations

import faust

from agents.app import Pipeline
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES, load_rules


def build(settings: Settings) -> Pipeline:
    rules = load_rules(settings.rules) if settings.rules else DEFAULT_RULES
    return Pipeline(settings, rules)


def run_worker(settings: Settings) -> int:
    pipeline = build(settings)
    worker = faust.Worker(pipeline.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()  # blocks; owns the event loop
    return 0
