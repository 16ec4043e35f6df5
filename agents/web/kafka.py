"""The web service's Kafka clients: connection settings and the ``care.inbound`` publisher.

Connection security comes from the common settings (``CAREPATH_SECURITY_PROTOCOL``,
``CAREPATH_SASL_*``, ``CAREPATH_SSL_*``) through :mod:`agents.security`, like every client.
"""

from __future__ import annotations

import threading
from typing import Any

from kafka import KafkaProducer

from agents import security
from agents.headers import SOURCE
from agents.settings import Settings


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers`` plus the connection security of the settings (TLS, SASL)."""
    return security.client_kwargs(security.connection(settings))


class Publisher:
    """Publishes documents to ``care.inbound`` and waits for the broker's acknowledgement
    (``acks=all``): a 202 means the document is in Kafka."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.topic: str = settings.topic_inbound
        self.timeout = timeout
        self._settings = settings
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    acks="all",
                    linger_ms=1,
                    max_block_ms=int(self.timeout * 1000),
                    **client_kwargs(self._settings),
                )
            return self._producer

    def publish(self, value: bytes, key: str | None, source: str | None) -> tuple[int, int]:
        """Send one document; (partition, offset) once Kafka has it. Raises on refusal."""
        headers = [(SOURCE, source.encode())] if source else []
        fut = self._client().send(
            self.topic, value=value, key=key.encode() if key else None, headers=headers
        )
        meta = fut.get(timeout=self.timeout)
        return int(meta.partition), int(meta.offset)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
