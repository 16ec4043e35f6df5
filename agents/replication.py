"""The replication factor of the topics the worker creates (``CAREPATH_REPLICATION_FACTOR``):
what the cluster can hold, what a topic has, and the one line a refusal becomes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from agents.security import Connection, client_kwargs


class TopicProblem(ValueError):
    """A topic cannot be created as configured; its message is one line for the user (the
    CLI prints it and exits 2)."""


def replication_refused(topic: str, replication: int, why: object) -> str:
    """The one line for the broker's refusal to create ``topic`` with ``replication``
    replicas: its own reason, without the request kafka-python quotes around it."""
    reason = " ".join(str(why).split())
    if "error_message='" in reason:
        reason = reason.split("error_message='", 1)[1].split("'", 1)[0]
    return (
        f"cannot create topic {topic} with replication factor {replication} "
        f"(CAREPATH_REPLICATION_FACTOR): {reason.rstrip('.')}; set it to at most the number "
        "of brokers"
    )


def check_brokers(admin: KafkaAdminClient, replication: int) -> None:
    """:class:`TopicProblem` when the cluster has fewer brokers than ``replication``, so a
    worker fails before anything is created (Faust's own topics included); nothing when the
    cluster cannot be described (the broker's refusal to create a topic says it then)."""
    if replication <= 1:
        return
    try:
        brokers = len(admin.describe_cluster().get("brokers") or [])
    except KafkaError:
        return
    if 0 < brokers < replication:
        raise TopicProblem(
            f"CAREPATH_REPLICATION_FACTOR={replication} but the cluster has {brokers} "
            "broker(s): every topic needs at most that many replicas"
        )


def _factor(topic: dict[str, Any]) -> int | None:
    parts = sorted(topic.get("partitions") or [], key=lambda p: p["partition_index"])
    if topic.get("error_code") != 0 or not parts:
        return None
    return len(parts[0]["replica_nodes"])


def replication_factors(bootstrap: str | Connection, topics: Iterable[str]) -> dict[str, int]:
    """The replication factor (replicas of its first partition) of each of ``topics`` that
    exists; a topic that does not, or cannot be described, is left out."""
    names = list(topics)
    if not names:
        return {}
    admin = KafkaAdminClient(**client_kwargs(bootstrap))
    try:
        described = admin.describe_topics(names)
    except KafkaError:
        described = []
    finally:
        admin.close()
    factors = {t["name"]: _factor(t) for t in described}
    return {name: f for name, f in factors.items() if f is not None}
