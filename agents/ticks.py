"""Clock ticks in the worker (contract §8): a partition's tick reaches the patients its
deadline index has due; a keyed tick reaches one patient (``replay --broker --until``,
issue 11: a run moves the clocks of its own patients only); the live clock sends the wall
clock to every partition.

Each due patient of a tick is advanced under the error policy on its own: one who raises
twice, whose state would be too large, or who stopped the worker twice is dead-lettered
(keyed by the patient) and left out, and the tick goes on for the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.metrics import INTERNAL, STOPPED, TOO_LONG
from agents.poison import STOPS, TRANSITIONS
from agents.policy import StateTooLarge
from agents.state_store import hour_of
from pipeline.decide import Step, advance, next_deadline
from pipeline.events import Tick
from schemas.wire import encode_event

STOPPED_TICK = (
    f"internal error: the worker stopped {STOPS} times while advancing this patient's "
    "clock, so this tick leaves the patient out"
)
TICK_FAILED = "internal error while advancing this patient's clock"


class Ticks:
    """The ticks' part of ``agents.app.Pipeline`` (it uses the pipeline's state, output
    and error-policy methods)."""

    async def on_patient_tick(self, event: Any, key: bytes, now: datetime) -> None:
        """A tick for one patient (``replay --broker --until``: the run's patients only,
        issue 11): that patient's clock moves to ``now``; the partition's last tick and its
        deadline index stay as they are, so no other patient is moved."""
        partition = event.message.partition
        try:
            state, filed = await self._caught_up(partition, key)
            if state is not None:
                await self._commit(partition, key, advance(state, now, self.rules), filed)
        except StateTooLarge as e:
            await self.dead_letter(event, str(e), TOO_LONG, code="too-long", key=key)

    async def on_tick(self, event: Any, now: datetime) -> None:
        """Advance the patients filed under a reached hour, deliver their outputs, file and
        store them, and only then consume their buckets: a tick redelivered after a crash
        finds the buckets again, and advancing a patient twice to the same time is a no-op.

        Each patient is advanced on its own (:meth:`_advanced`): one who raises or stopped
        the worker is dead-lettered and left out, the others go on."""
        msg = event.message
        partition, current = msg.partition, hour_of(now)
        self.index.set_last_tick(partition, now)
        steps: list[tuple[bytes, Step, bytes, datetime | None]] = []
        placed: dict[bytes, int | None] = {}
        for key in self.index.due(partition, now):
            placed[key] = None
            done = await self._advanced(event, key, now)
            if done is not None:
                steps.append((key, *done))
        self._flight().enter(TRANSITIONS, self.unit(msg))  # back to the tick itself
        await self._deliver([out for _, step, _, _ in steps for out in step.outputs])
        here = self.index.members(partition, current)  # already filed in this very hour
        for key, step, value, after in steps:
            hour = hour_of(after) if after is not None else None
            if after is not None and (hour != current or key not in here):
                self.index.add(partition, key, after)  # before the state that says so
            self._store(key, value, step.state)
            placed[key] = hour
        self.index.consume(partition, now, placed)

    async def _advanced(
        self, event: Any, key: bytes, now: datetime
    ) -> tuple[Step, bytes, datetime | None] | None:
        """One due patient's step to ``now``, the value to store and its next deadline,
        under the error policy (a unit of its own in the flight recorder); ``None``:
        nothing to store."""
        msg = event.message
        unit = self.unit(msg, key)
        flight = self._flight()
        if flight.is_poisoned(unit):
            return None  # dead-lettered before this tick was redelivered
        if flight.enter(TRANSITIONS, unit) >= STOPS:
            await self.dead_letter(event, STOPPED_TICK, STOPPED, key=key)
            flight.poison(unit)
            return None
        done: list[tuple[Step, bytes, datetime | None]] = []
        refused: list[str] = []

        async def work() -> None:
            done.clear()
            state = self._load(key)[0]
            if state is None:
                return
            step = advance(state, now, self.rules)
            after = next_deadline(step.state, self.rules)
            filed = hour_of(after) if after is not None else None  # its bucket is consumed
            try:
                done.append((step, self._encoded(msg.partition, key, step, filed), after))
            except StateTooLarge as e:
                refused.append(str(e))

        failures = await self._attempts(msg, work)
        flight.done(unit)
        if failures or refused:
            diagnostics = refused[-1] if refused else f"{TICK_FAILED}: {failures}"
            await self.dead_letter(
                event,
                diagnostics,
                TOO_LONG if refused else INTERNAL,
                code="too-long" if refused else None,
                key=key,
            )
            return None
        return done[0] if done else None

    async def send_ticks(self) -> None:
        """Live clock: the wall-clock time to every partition of ``care.events``."""
        tick = encode_event(Tick(time=datetime.now(UTC)))
        for p in range(self.s.partitions):
            await self.events.send(value=tick, partition=p)
