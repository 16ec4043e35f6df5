"""A fix to faust-streaming 0.15.3 (the newest release), applied by the composition root.

``ProducerBuffer.flush`` gives up as soon as no message has left the buffer for 0.1 s
(``tests/agents/test_faust_fixes.py``: with a broker taking 0.15 s per message it returns
with none of three sent). The buffer holds the table changelog writes (``table[k] = v`` is
``send_soon``), and Faust flushes the producer before it commits offsets and before it
measures the changelog highwaters of a table recovery after a rebalance; a flush that
returns early lets offsets be committed, or a table be rebuilt, without state writes made
for them. The fix waits until every message put in the buffer before the flush, the one
being sent included, has been handed to the Kafka client, whose own flush then waits for
the acknowledgements. While the buffer stops, Faust's behaviour is kept (its sender task is
gone). Remove it when a Faust release has it.

Found while chasing a broker-restart run (6 s session timeout, the worker's session dropped
and its partitions rebalanced) whose recovery rebuilt a patient without the PHQ-9 applied
just before; the same symptom still shows in that setting with this fix, so the rebalance of
a live worker has other races (see the commit adding tests/integration/test_broker_restart.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from faust.transport.producer import ProducerBuffer

_MARK = "_carepath_fixed"
_PUT, _SENT = "_carepath_put", "_carepath_sent"


def apply_faust_fixes() -> None:
    """Patch Faust once (idempotent); before the app starts its producer."""
    if getattr(ProducerBuffer.flush, _MARK, False):
        return
    _drain_buffer_on_flush()


def _drain_buffer_on_flush() -> None:
    put, send_pending, best_effort_flush = (
        ProducerBuffer.put,
        ProducerBuffer._send_pending,
        ProducerBuffer.flush,
    )

    def _put(self: Any, fut: Any) -> None:
        put(self, fut)
        setattr(self, _PUT, getattr(self, _PUT, 0) + 1)

    async def _send_pending(self: Any, fut: Any) -> None:
        try:
            await send_pending(self, fut)
        finally:
            setattr(self, _SENT, getattr(self, _SENT, 0) + 1)

    async def flush(self: Any) -> None:
        """Until the messages put before the call have been handed over (in order)."""
        if self.should_stop or self.app.conf.producer_threaded:
            await best_effort_flush(self)
            return
        target = getattr(self, _PUT, 0)
        while getattr(self, _SENT, 0) < target and not self.should_stop:
            self.message_sent.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)

    setattr(flush, _MARK, True)
    ProducerBuffer.put = _put  # type: ignore[method-assign]
    ProducerBuffer._send_pending = _send_pending  # type: ignore[method-assign]
    ProducerBuffer.flush = flush  # type: ignore[method-assign]
