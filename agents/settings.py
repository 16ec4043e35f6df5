"""The one frozen settings object (DESIGN.md convention 6): env prefix ``CAREPATH_``.

Built once at start-up by the entry point and passed down; nothing reads the environment
at import time. Topic names live here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.outbound import DEFAULT_BASE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_", frozen=True, extra="ignore")

    broker: str = Field("kafka://localhost:9092", description="kafka://host:port[;host:port]")
    app_id: str = "carepath"
    topic_inbound: str = "care.inbound"
    topic_events: str = "care.events"
    topic_tasks: str = "care.tasks"
    topic_referrals: str = "care.referrals"
    topic_deadletter: str = "care.deadletter"
    partitions: int = Field(4, ge=1, description="partitions of care.events and outputs")
    inbound_partitions: int = Field(
        1,
        ge=1,
        description="partitions of care.inbound when the worker creates it; more "
        "than one keeps a patient's order only if publishers key by patient",
    )
    session_timeout: float = Field(
        30.0,
        ge=6,
        description="seconds without a heartbeat before the group drops a worker: a killed "
        "worker's partitions wait this long; a broker restart shorter than this does not "
        "make the group rebalance",
    )
    tick_interval: float = Field(60.0, ge=0, description="seconds between clock ticks; 0 = off")
    rules: Path | None = Field(None, description="rules TOML file (rules.md thresholds)")
    base_url: str = DEFAULT_BASE
    max_bytes: int = Field(1_048_576, ge=1024)
    max_depth: int = Field(64, ge=2)
    store: str = Field("memory://", description="faust table store: memory:// or rocksdb://")
    datadir: Path = Path(".carepath/worker")
    producer_linger_ms: float = Field(
        1.0,
        ge=0,
        le=1000,
        description="how long the producer waits to fill a batch: more means fewer, "
        "larger requests (less CPU a message) and that much more latency a hop",
    )
    web_port: int = 6066
    web_enabled: bool = False
    log_level: str = "info"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` list for plain Kafka clients (without the ``kafka://`` scheme)."""
        return ",".join(b.split("://", 1)[-1] for b in self.broker.split(";"))
