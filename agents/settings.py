"""The one frozen settings object (DESIGN.md convention 6): env prefix ``CAREPATH_``.

Built once at start-up by the entry point and passed down; nothing reads the environment
at import time. Topic names live here. This module is the one place that reads ``CAREPATH_*``
variables: :class:`Settings` for the worker and the clients, :class:`LocalSettings` for the
local tooling (``carepath broker``, the bench, the test harness), and
:func:`environ_without_settings` for a child process whose settings the caller sets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.outbound import DEFAULT_BASE

#: Room for a record's key, headers and batch framing above its value (issue 11).
MESSAGE_HEADROOM = 64 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_", frozen=True, extra="ignore")

    broker: str = Field("kafka://localhost:9092", description="kafka://host:port[;host:port]")
    app_id: str = "carepath"
    topic_inbound: str = "care.inbound"
    topic_events: str = "care.events"
    topic_tasks: str = "care.tasks"
    topic_referrals: str = "care.referrals"
    topic_deadletter: str = "care.deadletter"
    topic_documents: str = Field(
        "",
        description="the parts of a document's one dead letter, between the worker's agents "
        "(internal, like the changelogs); empty: <app id>-documents",
    )
    partitions: int = Field(4, ge=1, description="partitions of care.events and outputs")
    inbound_partitions: int = Field(
        1,
        ge=1,
        description="partitions of care.inbound when the worker creates it; more "
        "than one keeps a patient's order only if publishers key by patient",
    )
    replication_factor: int = Field(
        1,
        ge=1,
        description="replicas of every topic the worker creates (ours and Faust's changelog "
        "and leader topics); at most the number of brokers, 3 on a production cluster",
    )
    session_timeout: float = Field(
        30.0,
        ge=6,
        description="seconds without a heartbeat before the group drops a worker: a killed "
        "worker's partitions wait this long; a broker restart shorter than this does not "
        "make the group rebalance",
    )
    shutdown_timeout: float = Field(
        30.0,
        ge=0,
        description="seconds a worker told to stop (SIGTERM, SIGINT) waits for Faust to "
        "finish before it exits anyway; with its broker gone Faust takes 60 s; 0 = wait",
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
    # Faust fast path (issue 12): agents/faust_tuning.py, docs/benchmarks.md
    faust_cython: bool = Field(
        False,
        description="Faust's cython_optimizations: the stream takes a buffered record "
        "without awaiting the channel",
    )
    faust_monitor: Literal["default", "off"] = Field(
        "default", description="off: Faust's monitor without its per-message statistics"
    )
    event_loop: Literal["asyncio", "uvloop"] = Field(
        "asyncio", description="the worker's event loop (uvloop: the carepath[uvloop] extra)"
    )
    web_port: int | None = Field(
        6066,
        ge=1,
        le=65535,
        description="port of the worker's /metrics, /healthz and /readyz; 0 or off: none",
    )
    web_host: str = Field("0.0.0.0", description="address the worker's endpoints listen on")
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object a log line (worker and every command)"
    )
    # Connection security (DESIGN.md convention 14); agents/security.py turns these into the
    # keyword arguments of each Kafka client.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: FilePath | None = Field(None, description="PEM CA bundle (default: system CAs)")
    ssl_certfile: FilePath | None = Field(None, description="PEM client certificate (mutual TLS)")
    ssl_keyfile: FilePath | None = Field(None, description="PEM key of ssl_certfile")

    @property
    def documents_topic(self) -> str:
        """The documents agent's topic (``agents.documents``): ``<app id>-documents``
        unless ``CAREPATH_TOPIC_DOCUMENTS`` names one."""
        return self.topic_documents or f"{self.app_id}-documents"

    @field_validator(
        "sasl_username", "sasl_password", "ssl_cafile", "ssl_certfile", "ssl_keyfile", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("web_port", mode="before")
    @classmethod
    def _port_off(cls, value: object) -> object:
        text = str(value).strip().lower()
        return None if text in ("", "0", "off", "none", "false") else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("security_protocol", mode="before")
    @classmethod
    def _protocol_name(cls, value: object) -> object:
        return value.strip().upper().replace("-", "_") if isinstance(value, str) else value

    @field_validator("sasl_mechanism", mode="before")
    @classmethod
    def _mechanism_name(cls, value: object) -> object:
        return value.strip().upper().replace("_", "-") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _security_consistent(self) -> Settings:
        sasl = self.security_protocol.startswith("SASL_")
        tls = self.security_protocol.endswith("SSL")
        creds = self.sasl_username is not None or self.sasl_password is not None
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"CAREPATH_SECURITY_PROTOCOL={self.security_protocol} needs "
                "CAREPATH_SASL_USERNAME and CAREPATH_SASL_PASSWORD"
            )
        if creds and not sasl:
            raise ValueError(
                f"CAREPATH_SASL_USERNAME/PASSWORD are set but CAREPATH_SECURITY_PROTOCOL="
                f"{self.security_protocol} does not use them (SASL_SSL or SASL_PLAINTEXT does)"
            )
        files = [f for f in ("ssl_cafile", "ssl_certfile", "ssl_keyfile") if getattr(self, f)]
        if files and not tls:
            raise ValueError(
                f"CAREPATH_{files[0].upper()} is set but CAREPATH_SECURITY_PROTOCOL="
                f"{self.security_protocol} has no TLS (SSL or SASL_SSL has)"
            )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("CAREPATH_SSL_KEYFILE needs CAREPATH_SSL_CERTFILE")
        return self

    @property
    def bootstrap(self) -> str:
        """``host:port`` list for plain Kafka clients (without the ``kafka://`` scheme)."""
        return ",".join(b.split("://", 1)[-1] for b in self.broker.split(";"))

    @property
    def inbound_message_bytes(self) -> int:
        """The largest ``care.inbound`` record producers and the topic must take: a document
        at the size limit (``max_bytes``) with its key, headers and framing, so what
        embedded replay accepts Kafka accepts too (issue 11). Producers' max request size
        and the topic's ``max.message.bytes``."""
        return self.max_bytes + MESSAGE_HEADROOM

    @property
    def deadletter_message_bytes(self) -> int:
        """The largest dead-letter record: it quotes the document (JSON escapes; base64 is
        4/3), so twice the size limit plus headroom keeps the raw of a document at the limit
        whole in the usual case (``schemas.deadletter.fitted`` cuts it otherwise). The
        producer's max request size for ``care.deadletter`` and its ``max.message.bytes``."""
        return 2 * self.max_bytes + MESSAGE_HEADROOM


def settings_problem(error: ValidationError) -> str:
    """One line for invalid settings, naming each variable and never echoing a value (the
    input of a failed check can be the password)."""
    parts = []
    for e in error.errors(include_url=False, include_input=False):
        name = "_".join(str(p) for p in e["loc"] if p != "__root__").upper()
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"CAREPATH_{name}: {msg}" if name else msg)
    return "invalid settings: " + "; ".join(parts)


class LocalSettings(BaseSettings):
    """The ``CAREPATH_*`` variables of the local tooling (``carepath broker``, the bench, the
    test harness), apart from :class:`Settings` so that a client setting that does not
    validate (a CA file a stopped secure broker took with it) never stops ``broker down``."""

    model_config = SettingsConfigDict(env_prefix="CAREPATH_", frozen=True, extra="ignore")

    home: Path | None = Field(
        None, description="carepath's files (default: ${XDG_CACHE_HOME:-~/.cache}/carepath)"
    )
    kafka_version: str | None = Field(
        None, description="Kafka of `carepath broker up` (default: its DEFAULT_KAFKA_VERSION)"
    )
    broker: str = Field("", description="CAREPATH_BROKER as given: an external broker, or ''")

    @field_validator("home", "kafka_version", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("broker", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


def environ_without_settings() -> dict[str, str]:
    """This process's environment without its ``CAREPATH_*`` variables: the base of a child
    process's environment when the caller gives it all of its settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
