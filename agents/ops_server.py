"""``/metrics``, ``/healthz`` and ``/readyz`` of ``carepath worker`` (issue 12).

One small aiohttp server on ``CAREPATH_WEB_HOST:CAREPATH_WEB_PORT`` (0 or ``off``: none),
the only listener of the worker (Faust's own web server stays off: its default views would
serve the tables' contents). It runs on the worker's event loop as a service the worker
starts before the Faust app, so ``/healthz`` answers while the app joins its group and
recovers its table, and ``/readyz`` says why it is not ready yet:

- ``/healthz``: 200 while the process runs;
- ``/readyz``: 200 once the worker has its partitions and its table is recovered; 503
  before, during a rebalance (which recovers again) and once it is stopping;
- ``/metrics``: :mod:`agents.metrics` in Prometheus text format; the consumer positions
  are read when it is scraped.

The socket is bound before Faust starts, so a port in use is one line and
exit 2, not a worker that runs unobserved (:func:`bind`).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from aiohttp import web
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.metrics import Position, WorkerMetrics
from agents.settings import Settings

#: Seconds to wait for the consumer's position of a partition nothing was processed on yet.
POSITION_TIMEOUT = 0.5
NO_STORE = {"Cache-Control": "no-store"}


def bind(settings: Settings) -> socket.socket | None:
    """The endpoints' socket, bound now (``None``: ``CAREPATH_WEB_PORT`` is off); a
    ``ValueError`` (one line) if it cannot be."""
    host, port = settings.web_host, settings.web_port
    if port is None:
        return None
    try:
        return socket.create_server((host, port))
    except OSError as e:
        raise ValueError(
            f"cannot listen on {host}:{port} for /metrics, /healthz and /readyz "
            f"({os.strerror(e.errno) if e.errno else type(e).__name__}): "
            "set CAREPATH_WEB_PORT to a free port, or off"
        ) from None


class Probe:
    """What the endpoints read of a Faust app: readiness and consumer positions."""

    def __init__(self, app: Any, topics: set[str], metrics: WorkerMetrics) -> None:
        self.app = app
        self.topics = topics  # the agents' source topics (not the table's changelog)
        self.metrics = metrics
        metrics.ready = lambda: self.not_ready() is None

    def not_ready(self) -> str | None:
        """``None`` when ready, else why not."""
        app = self.app
        if app.should_stop:
            return "stopping"
        if not app.tables.recovery.completed.is_set():
            return "recovering" if app.in_recovery else "waiting for partitions"
        if app.rebalancing or app.in_recovery:
            return "rebalancing"
        return None

    async def positions(self) -> list[Position]:
        """Each assigned partition of the source topics: its high watermark and the next
        offset to process (the last processed + 1; before the first message since the
        assignment, the consumer's fetch position)."""
        if self.not_ready() == "waiting for partitions":
            return []
        consumer = self.app.consumer
        try:
            assigned = sorted(tp for tp in consumer.assignment() if tp.topic in self.topics)
        except Exception:  # the consumer is not started or is closing
            return []
        return [await self._position(consumer, tp) for tp in assigned]

    async def _position(self, consumer: Any, tp: Any) -> Position:
        try:
            end: int | None = consumer.highwater(tp)
        except Exception:  # revoked meanwhile
            end = None
        at = self.metrics.next_offsets.get((tp.topic, tp.partition))
        if at is None:
            try:
                at = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT)
            except Exception:
                at = None
        return Position(tp.topic, tp.partition, end, at)


class OpsServer(Service):
    """The endpoints on an already bound socket, for as long as the worker runs."""

    def __init__(self, sock: socket.socket, probe: Probe, **kwargs: Any) -> None:
        self.sock = sock
        self.probe = probe
        self._runner: web.AppRunner | None = None
        super().__init__(**kwargs)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock).start()

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers=NO_STORE)

    async def readyz(self, request: web.Request) -> web.Response:
        why = self.probe.not_ready()
        if why is None:
            return web.json_response({"status": "ready"}, headers=NO_STORE)
        body = {"status": "not ready", "reason": why}
        return web.json_response(body, status=503, headers=NO_STORE)

    async def metrics(self, request: web.Request) -> web.Response:
        metrics = self.probe.metrics
        metrics.positions = await self.probe.positions()
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, **NO_STORE})


def endpoints(sock: socket.socket | None, settings: Settings, pipeline: Any) -> list[OpsServer]:
    """The server for a worker's ``FaustPipeline`` on ``sock`` (none without a socket)."""
    if sock is None:
        return []
    topics = {settings.topic_inbound, settings.topic_events, settings.documents_topic}
    return [OpsServer(sock, Probe(pipeline.app, topics, pipeline.metrics))]
