"""The Faust fix (agents/faust_fixes.py): the producer buffer's flush hands over every
message put before it, even when the broker is slow."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.transport.producer import ProducerBuffer

from agents.faust_fixes import apply_faust_fixes


async def _flush_with_a_slow_broker() -> tuple[int, int]:
    """Three buffered changelog writes that take 0.15 s each to hand over."""
    sent: list[int] = []

    async def publish_message(fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(0.15)  # longer than the 0.1 s Faust waits
        sent.append(fut.n)

    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    await buffer.start()
    try:
        for n in range(3):
            channel = SimpleNamespace(publish_message=publish_message)
            buffer.put(SimpleNamespace(n=n, message=SimpleNamespace(channel=channel)))  # type: ignore[arg-type]
        await buffer.flush()
        return len(sent), buffer.size
    finally:
        await buffer.stop()


def test_flush_waits_for_every_buffered_message() -> None:
    apply_faust_fixes()
    apply_faust_fixes()  # idempotent
    assert asyncio.run(_flush_with_a_slow_broker()) == (3, 0)
