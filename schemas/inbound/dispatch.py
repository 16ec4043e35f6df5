"""One resource → its events, an ignored record with its reason, or one ``InvalidInput``
(contract §3, §6)."""

from __future__ import annotations

from collections.abc import Callable

from schemas.inbound.appointment import appointment_events
from schemas.inbound.condition import condition_events
from schemas.inbound.context import Ctx, enter
from schemas.inbound.encounter import encounter_events
from schemas.inbound.episode import episode_events
from schemas.inbound.fields import Json, own_id
from schemas.inbound.observation import observation_events
from schemas.inbound.patient import patient_events
from schemas.inbound.problem import Problem
from schemas.inbound.reasons import Outcome
from schemas.inbound.task import task_events
from schemas.inbound.types import IgnoredResource, Ingested, InvalidInput

Handler = Callable[[Json, Ctx], Outcome]

#: The resource types that can be a recognized kind; every other type is ignored.
HANDLERS: dict[str, Handler] = {
    "Observation": observation_events,
    "Encounter": encounter_events,
    "Appointment": appointment_events,
    "EpisodeOfCare": episode_events,
    "Task": task_events,
    "Condition": condition_events,
    "Patient": patient_events,
}


def invalid(problem: Problem, root: str, raw: bytes) -> InvalidInput:
    """``problem`` found in the resource at ``root`` of the document ``raw``."""
    expression = problem.expression(root)
    return InvalidInput(f"{expression}: {problem.message}", expression, raw, problem.code)


def ignore(out: Ingested, res: Json, rtype: str, reason: str) -> None:
    out.ignored.append(IgnoredResource(rtype, own_id(res), reason))


def resource_into(out: Ingested, res: Json, rtype: str, ctx: Ctx, root: str, raw: bytes) -> None:
    """Add what ``res`` (located at ``root`` of the document ``raw``) yields to ``out``."""
    handler = HANDLERS.get(rtype)
    if handler is None:
        ignore(out, res, rtype, f"{rtype}: not a resource type the pipeline reads")
        return
    try:
        enter(ctx, res)
        result = handler(res, ctx)
    except Problem as p:
        out.error(invalid(p, root, raw))
        return
    if isinstance(result, str):
        ignore(out, res, rtype, result)
    else:
        out.events.extend(result)
