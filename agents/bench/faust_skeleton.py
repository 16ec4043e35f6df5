"""The Faust baseline: the worker's two-hop topology with nothing in it, as its own process.

``--src`` (one partition, like ``care.inbound``) ─hop1─► ``--mid`` (keyed, like
``care.events``) ─hop2─► ``--dst``: each agent passes every record on with ``Topic.send``,
built with the worker's own Faust settings (``agents.app.faust_settings``: raw
serializers, ``acks=all``, ``linger_ms=1``, 1 s commits) and run by the worker's
``QuietWorker``. No ingest, no rules, no table, no outputs: what is left is Faust's cost of
consuming and producing a document twice, the floor under ``carepath worker`` on the same
broker. hop1 keys each record by its source offset (spread over ``--mid``'s partitions) and
adds it as header ``o``, which hop2 keeps, so the bench can pair ``--dst`` records with
their source records for latency.

``python -m agents.bench.faust_skeleton --bootstrap HOST:PORT --tag T --datadir D``
(topics ``T.src``, ``T.mid``, ``T.dst``; consumer group ``T``)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

MID_PARTITIONS = 4


def build(bootstrap: str, tag: str, datadir: str) -> Any:
    import faust

    from agents.app import faust_settings
    from agents.settings import Settings

    settings = Settings(
        broker=f"kafka://{bootstrap}",
        app_id=tag,
        datadir=datadir,
        partitions=MID_PARTITIONS,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = faust.App(tag, **faust_settings(settings))
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes)
    src = app.topic(f"{tag}.src", **raw)
    mid = app.topic(f"{tag}.mid", partitions=MID_PARTITIONS, **raw)
    dst = app.topic(f"{tag}.dst", partitions=MID_PARTITIONS, **raw)

    async def hop1(stream: Any) -> None:
        async for event in stream.events():
            msg = event.message
            offset = str(msg.offset).encode()
            await mid.send(key=offset, value=msg.value, headers=[("o", offset)])

    async def hop2(stream: Any) -> None:
        async for event in stream.events():
            msg = event.message
            await dst.send(key=msg.key, value=msg.value, headers=list(msg.headers or []))

    app.agent(src, name="hop1")(hop1)
    app.agent(mid, name="hop2")(hop2)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.bench.faust_skeleton")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--datadir", required=True)
    a = ap.parse_args(argv)
    from agents.worker import QuietWorker

    app = build(a.bootstrap, a.tag, a.datadir)
    QuietWorker(app, loglevel="WARNING", quiet=True).execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
