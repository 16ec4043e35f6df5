"""One resource → its events, ``ignored``, or one ``InvalidInput`` (contract §3, §6)."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from pipeline.events import Event
from schemas.inbound.appointment import appointment_events
from schemas.inbound.encounter import encounter_events
from schemas.inbound.episode import episode_events, task_events
from schemas.inbound.fields import Ctx, Json
from schemas.inbound.observation import observation_events
from schemas.inbound.problem import Problem
from schemas.inbound.types import Ingested, InvalidInput

Handler = Callable[[Json, Ctx], list[Event] | None]

#: The resource types that can be a recognized kind; every other type is ignored.
HANDLERS: dict[str, Handler] = {
    "Observation": observation_events,
    "Encounter": encounter_events,
    "Appointment": appointment_events,
    "EpisodeOfCare": episode_events,
    "Task": task_events,
}


def invalid(problem: Problem, root: str, source: bytes | object) -> InvalidInput:
    """``problem`` found in the resource at ``root``; ``source`` is its raw form."""
    expression = problem.expression(root)
    raw = source if isinstance(source, bytes) else orjson.dumps(source)
    return InvalidInput(f"{expression}: {problem.message}", expression, raw, problem.code)


def resource_into(
    out: Ingested, res: Json, rtype: str, ctx: Ctx, root: str, source: bytes | object
) -> None:
    """Add what ``res`` (located at ``root``) yields to ``out``."""
    handler = HANDLERS.get(rtype)
    if handler is None:
        out.ignored += 1
        return
    try:
        events = handler(res, ctx)
    except Problem as p:
        out.errors.append(invalid(p, root, source))
        return
    if events is None:
        out.ignored += 1
    else:
        out.events.extend(events)
