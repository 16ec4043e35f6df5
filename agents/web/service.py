"""The web service's collaborators, built once and passed to the app (DESIGN.md
convention 12): settings, rules, read model, accounts, publisher (``None`` when serving a
file read-only), the clock, and the metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agents.settings import Settings
from agents.web.accounts import Accounts
from agents.web.kafka import Publisher
from agents.web.readmodel import ReadModel, utc_text
from agents.web.settings import WebSettings
from pipeline.config import DEFAULT_RULES, RuleConfig

log = logging.getLogger("carepath.web")


class Metrics:
    """Prometheus metrics of one web service (its own registry: tests build many)."""

    def __init__(self, model: ReadModel, feed: Callable[[], Any] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "carepath_web_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "carepath_web_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=r,
        )
        self.documents = Counter(
            "carepath_web_documents",
            "documents received over HTTP by outcome",
            ["outcome"],
            registry=r,
        )
        self.updates = Counter(
            "carepath_web_task_updates",
            "Task updates by action and outcome",
            ["action", "outcome"],
            registry=r,
        )
        tasks = Gauge("carepath_web_tasks", "Tasks in the read model", ["state"], registry=r)
        tasks.labels("open").set_function(lambda: model.stats()["open_tasks"])
        tasks.labels("all").set_function(lambda: model.stats()["tasks"])
        Gauge(
            "carepath_web_referrals", "ServiceRequests in the read model", registry=r
        ).set_function(lambda: model.stats()["referrals"])
        Gauge(
            "carepath_web_readmodel_ready",
            "1 once the topics were read to their end",
            registry=r,
        ).set_function(lambda: 1 if model.loaded.is_set() else 0)
        if feed is not None:
            Gauge(
                "carepath_web_feed_records", "records applied from the output topics", registry=r
            ).set_function(lambda: feed().records if feed() else 0)


@dataclass
class Web:
    settings: Settings
    web: WebSettings
    model: ReadModel
    accounts: Accounts
    publisher: Publisher | None
    rules: RuleConfig = DEFAULT_RULES
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    feed: Any = None
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.model, lambda: self.feed)

    @property
    def read_only(self) -> bool:
        return self.publisher is None

    def now(self) -> datetime:
        return self.clock()

    def now_text(self) -> str:
        return utc_text(self.now())

    def today(self) -> tuple[str, str]:
        """[start, end) of today in the site's time zone, as UTC text."""
        zone = ZoneInfo(self.rules.site.timezone)
        local = self.now().astimezone(zone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # a 23/25-hour day too
        return utc_text(start), utc_text(end)
