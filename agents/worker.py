"""``carepath worker``: build the pipeline from settings and run it until stopped."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import faust

from agents import kafka_io
from agents.app import FaustPipeline
from agents.faust_tuning import use_event_loop
from agents.logformat import use_json
from agents.ops_server import bind, endpoints
from agents.replication import replication_factors
from agents.security import check_connection, connection
from agents.settings import Settings
from pipeline.config import DEFAULT_RULES, RuleConfig, load_rules

#: Output topics keep the latest version of every resource, for ever (contract §1).
COMPACT = {"cleanup.policy": "compact"}
#: The exit status of a worker that had to cut its stop short (CAREPATH_SHUTDOWN_TIMEOUT).
FORCED_EXIT = 3
#: The suffix of Faust's leader topic (``faust.assignor.leader_assignor``) after the app id.
LEADER = "-__assignor-__leader"
log = logging.getLogger("carepath.worker")


def build(settings: Settings, rules: RuleConfig | None = None) -> FaustPipeline:
    """The pipeline for ``settings``; ``rules`` default to the file ``settings.rules``."""
    if rules is None:
        rules = load_rules(settings.rules) if settings.rules else DEFAULT_RULES
    return FaustPipeline(settings, rules)


class QuietWorker(faust.Worker):
    """A ``faust.Worker`` without the terminal spinner.

    To spin on every log message, Faust sets the root logger to DEBUG and adds a handler,
    so every debug call in aiokafka and Faust builds and dispatches a ``LogRecord``: about
    10% of the worker's CPU at load (py-spy, ``carepath bench``). Without the spinner the
    root logger keeps ``CAREPATH_LOG_LEVEL``. With ``log_format="json"`` its handlers write
    JSON lines (``CAREPATH_LOG_FORMAT``, agents/logformat.py).
    """

    def __init__(
        self,
        *args: Any,
        log_format: str = "text",
        shutdown_timeout: float = 0.0,
        on_forced_exit: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.log_format = log_format
        self.shutdown_timeout = shutdown_timeout
        self.on_forced_exit = on_forced_exit
        self._watchdog: threading.Timer | None = None
        super().__init__(*args, **kwargs)

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)
        if self.log_format == "json":
            use_json(logger)

    def _schedule_shutdown(self, sig: signal.Signals) -> None:
        """Stop as Faust does, and exit anyway after ``shutdown_timeout`` seconds: with its
        broker gone, Faust's consumer thread holds a stop for 60 s, longer than Docker (10 s)
        or Kubernetes (30 s) wait before SIGKILL. Nothing is lost by exiting: what was not
        committed is read again at the next start (at least once); the flight recorder is
        cleared first, so the stop does not count against the message in hand."""
        if self._watchdog is None and self.shutdown_timeout > 0:
            self._watchdog = threading.Timer(self.shutdown_timeout, self._forced_exit)
            self._watchdog.daemon = True
            self._watchdog.start()
        super()._schedule_shutdown(sig)

    def _forced_exit(self) -> None:
        forced_exit(self.shutdown_timeout, self.on_forced_exit)


def forced_exit(timeout: float, before: Callable[[], None] | None = None) -> None:
    """Exit now, with :data:`FORCED_EXIT`, after one line saying why (``before`` first: the
    pipeline clears its flight recorder)."""
    log.error(
        "the worker did not stop within CAREPATH_SHUTDOWN_TIMEOUT=%g s (is the broker "
        "reachable?); exiting now: what it had not committed is read again at the next start",
        timeout,
    )
    try:
        if before is not None:
            before()
    finally:
        for handler in logging.getLogger().handlers:  # the line above reaches the log
            handler.flush()
        os._exit(FORCED_EXIT)


def topic_plan(settings: Settings) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """The topics the worker creates when missing: partitions and configs of each."""
    n = settings.partitions
    topics = (
        settings.topic_events,
        settings.topic_tasks,
        settings.topic_referrals,
        settings.topic_deadletter,
        settings.documents_topic,
    )
    wanted = {t: n for t in topics} | {settings.topic_inbound: settings.inbound_partitions}
    compacted = {t: dict(COMPACT) for t in (settings.topic_tasks, settings.topic_referrals)}
    # a document at the size limit, and its dead letter quoting it, go through (issue 11)
    sized = {
        settings.topic_inbound: {"max.message.bytes": str(settings.inbound_message_bytes)},
        settings.topic_deadletter: {"max.message.bytes": str(settings.deadletter_message_bytes)},
    }
    return wanted, compacted | sized


def prepare_topics(settings: Settings, pipeline: FaustPipeline) -> None:
    """Create the topics that do not exist yet, with ``CAREPATH_REPLICATION_FACTOR`` replicas
    (fewer brokers than that: ``TopicProblem``, one line and exit 2), and say so for an
    output topic that is not compacted or a topic with another replication factor (Faust's
    changelog and leader topics included, once they exist)."""
    wanted, configs = topic_plan(settings)
    target, replication = connection(settings), settings.replication_factor
    policies = kafka_io.ensure_topics(target, wanted, configs=configs, replication=replication)
    for topic in (settings.topic_tasks, settings.topic_referrals):
        policy = policies.get(topic)
        if policy != COMPACT["cleanup.policy"]:
            log.warning(
                "topic %s has cleanup.policy=%s, not compact: the broker may delete Tasks and "
                "referrals that are still open (contract §1; an operator sets "
                "cleanup.policy=compact)",
                topic,
                policy,
            )
    internal = (
        pipeline.states.changelog_topic.get_topic_name(),
        pipeline.parts.changelog_topic.get_topic_name(),
        f"{settings.app_id}{LEADER}",
    )
    for topic, factor in replication_factors(target, [*wanted, *internal]).items():
        if factor != replication:
            log.warning(
                "topic %s has replication factor %d, not CAREPATH_REPLICATION_FACTOR=%d "
                "(an operator changes it with kafka-reassign-partitions.sh, see "
                "docs/operations.md)",
                topic,
                factor,
                replication,
            )


def run_worker(settings: Settings, rules: RuleConfig | None = None) -> int:
    use_event_loop(settings)  # CAREPATH_EVENT_LOOP, before anything makes a loop
    settings.datadir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    check_connection(settings)  # one line and exit 2 when unreachable or refused (cli.main)
    sock = bind(settings)  # CAREPATH_WEB_PORT taken now: a port in use is one line, exit 2
    pipeline = build(settings, rules)
    prepare_topics(settings, pipeline)
    services = endpoints(sock, settings, pipeline)  # /metrics, /healthz, /readyz
    level, fmt = settings.log_level.upper(), settings.log_format
    worker = QuietWorker(
        pipeline.app,
        *services,
        loglevel=level,
        quiet=True,
        log_format=fmt,
        shutdown_timeout=settings.shutdown_timeout,
        on_forced_exit=pipeline.stopping,
    )
    worker.execute_from_commandline()  # blocks; owns the event loop
    return 0
