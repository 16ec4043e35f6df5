"""The Faust fast-path settings (agents/faust_tuning.py), and the contiguity guard under
Faust's real Cython stream iterator with ``cython_optimizations`` off (every record through
``Channel.__anext__``) and on (a buffered record through ``get_nowait``, no await)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.streams import _CStreamIterator

from agents.app import faust_settings
from agents.faust_tuning import QuietMonitor, app_options
from agents.settings import Settings
from tests.agents.test_faust_fixes import TP, Harness

pytestmark = pytest.mark.skipif(_CStreamIterator is None, reason="Faust built without Cython")


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_settings_reach_the_faust_app() -> None:
    plain = faust_settings(_settings(faust_cython=False, faust_monitor="default"))
    assert plain["cython_optimizations"] is False and "Monitor" not in plain
    fast = app_options(_settings(faust_cython=True, faust_monitor="off"))
    assert fast == {"cython_optimizations": True, "Monitor": QuietMonitor}
    app = faust.App("tuning-test", broker="kafka://localhost:1", store="memory://", **fast)
    assert isinstance(app.monitor, QuietMonitor)
    assert app.conf.cython_optimizations is True


def test_quiet_monitor_keeps_the_inbound_time_faust_checks() -> None:
    monitor = QuietMonitor()
    assert monitor.on_stream_event_in(TP, 1, None, None) is None
    assert TP in monitor.stream_inbound_time
    assert monitor.events_total == 0


async def _stream_scenario(optimized: bool) -> tuple[list[int], list[Any], list[int], int]:
    """The guard's lost-records scenario, taken by Faust's Cython ``StreamIterator``:
    offsets 10-12 delivered, 13-14 lost, 15-16 delivered, then 13-16 fetched again."""
    h = Harness()
    h.app.conf.cython_optimizations = optimized
    stream = h.app.stream(h.app.channel(maxsize=100_000))
    channel = stream.channel  # the stream's own iterator clone of the channel
    h.queue = channel.queue
    slow_gets = 0
    anext = channel.__anext__

    async def counted_anext() -> Any:
        nonlocal slow_gets
        slow_gets += 1
        return await anext()

    channel.__anext__ = counted_anext  # type: ignore[method-assign]
    it = _CStreamIterator(stream)
    assert it.cython_optimizations is optimized

    async def take(n: int) -> list[int]:
        """``n`` records through the iterator as ``Stream._c_aiter`` does; the offsets of
        those the stream processes (a held-back record comes out as the skipped value)."""
        taken = []
        for _ in range(n):
            value, sensor_state = await asyncio.wait_for(it.next(), 5)
            event, stream.current_event = stream.current_event, None
            if value is not stream._skipped_value:
                taken.append(event.message.offset)
            it.after(event, True, sensor_state)
        return taken

    h.seek(10)
    h.put(h.drain(10, 11, 12))
    first = await take(3)
    h.drain(13, 14)  # fetched, never reached the stream
    h.put(h.drain(15, 16))
    held = await take(2)
    await asyncio.sleep(0)  # the seek back runs
    seeks = list(h.seeks)
    h.seek(13)
    h.put(h.drain(13, 14, 15, 16))
    again = await take(4)
    assert (first, held) == ([10, 11, 12], [])
    return seeks, again, [h.committable() or 0], slow_gets


@pytest.mark.parametrize("optimized", [False, True])
def test_the_guard_screens_records_the_cython_iterator_takes(optimized: bool) -> None:
    seeks, again, committable, slow_gets = asyncio.run(_stream_scenario(optimized))
    assert seeks == [(TP, 13)]
    assert again == [13, 14, 15, 16]
    assert committable == [17]
    # off: every record awaited through the channel; on: none (all were buffered)
    assert slow_gets == (0 if optimized else 9)
