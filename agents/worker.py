"""``carepath worker``: build the pipeline from settings and run it until stopped."""

from __future__ import annotations

import faust

from agents import kafka_io
from agents.app import Pipeline
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES, load_rules


def build(settings: Settings) -> Pipeline:
    rules = load_rules(settings.rules) if settings.rules else DEFAULT_RULES
    return Pipeline(settings, rules)


def run_worker(settings: Settings) -> int:
    pipeline = build(settings)
    n = settings.partitions
    topics = (
        settings.topic_events,
        settings.topic_tasks,
        settings.topic_referrals,
        settings.topic_deadletter,
    )
    wanted = {t: n for t in topics} | {settings.topic_inbound: settings.inbound_partitions}
    kafka_io.ensure_topics(settings.bootstrap, wanted)
    worker = faust.Worker(pipeline.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()  # blocks; owns the event loop
    return 0
