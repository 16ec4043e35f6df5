"""Faust fast-path options (issue 12), each a setting so ``carepath bench --faust-ab`` can
measure it against the plain worker in one run (docs/benchmarks.md, "Faust fast path A/B").

- ``CAREPATH_FAUST_CYTHON`` → Faust's opt-in ``cython_optimizations``: the Cython
  ``StreamIterator`` takes a record already in the stream buffer with ``get_nowait``
  instead of awaiting ``Channel.__anext__`` (four coroutine frames) for every record;
  also the conductor's decode-once for several channels of one topic (carepath has one
  stream per topic, so that part never runs here). The contiguity guard
  (``agents/faust_fixes.py``) screens records in ``ThrowableQueue.get_nowait``, which both
  paths call (``asyncio.Queue.get`` ends in ``self.get_nowait()``), so it sees every record
  either way; ``tests/agents/test_faust_fixes.py`` drives the Cython iterator both ways.
- ``CAREPATH_FAUST_MONITOR=off`` → :class:`QuietMonitor`: Faust's monitor without its
  per-message statistics (counts by topic and stream, event and send latency lists, a
  dict per event). It keeps what Faust itself reads (the stream inbound time of each
  partition, for its "stream is not progressing" check) and the per-commit and per-fetch
  offsets; Faust's ``/stats`` web page shows zeros for the rest.
- ``CAREPATH_EVENT_LOOP=uvloop`` → mode's uvloop loop policy (the ``uvloop`` package,
  extra ``carepath[uvloop]``), set before the worker builds its event loop.

Read in one place each: :func:`app_options` (from ``agents.app.faust_settings``) and
:func:`use_event_loop` (from ``agents.worker.run_worker``).
"""

from __future__ import annotations

from time import monotonic
from typing import TYPE_CHECKING, Any

from faust.sensors.monitor import Monitor

if TYPE_CHECKING:
    from agents.settings import Settings


class LoopUnavailable(ValueError):
    """``CAREPATH_EVENT_LOOP=uvloop`` without the ``uvloop`` package (the command line
    reports a ``ValueError`` in one line)."""


class QuietMonitor(Monitor):
    """Faust's monitor minus the per-message statistics (``CAREPATH_FAUST_MONITOR=off``)."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        # Faust's consumer warns when a partition's stream stops taking records: keep it
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_table_del(self, table: Any, key: Any) -> None:
        return None

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        return None


def app_options(s: Settings) -> dict[str, Any]:
    """The ``faust.App`` keyword arguments of the fast-path settings."""
    options: dict[str, Any] = {"cython_optimizations": s.faust_cython}
    if s.faust_monitor == "off":
        options["Monitor"] = QuietMonitor
    return options


def use_event_loop(s: Settings) -> str:
    """Install the event loop policy of ``CAREPATH_EVENT_LOOP`` (before any loop exists);
    returns its name."""
    if s.event_loop == "uvloop":
        import mode.loop

        try:
            mode.loop.use("uvloop")
        except ImportError as e:
            raise LoopUnavailable(
                "CAREPATH_EVENT_LOOP=uvloop needs the uvloop package "
                "(pip install 'carepath[uvloop]')"
            ) from e
    return s.event_loop
