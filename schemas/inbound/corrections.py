"""Retractions (rules.md §6 L-RETRACTED, L-DECEASED) and times a document may lack.

An Observation, Condition or Encounter marked ``entered-in-error`` becomes a
``Retracted`` of its ``Type/id``: the core removes what it applied for that resource, and
ignores a retraction of something it never applied. Without an ``id`` there is nothing to
name, so the resource is ignored. The time is the document's own clinical time, else
``meta.lastUpdated``; with neither, ``timed`` is ``False`` and ``time`` is
:data:`UNTIMED` (the core uses the patient's latest event time, rules.md §8).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.clock import EPOCH
from pipeline.events import Retracted
from schemas.inbound.context import Ctx
from schemas.inbound.fields import Json, identity, obj, own_id
from schemas.inbound.reasons import Outcome
from schemas.inbound.refs import patient_of
from schemas.timeparse import parse_time

#: ``time`` of an event whose document carries no time of its own (``timed`` false).
UNTIMED = EPOCH


def retraction(res: Json, ctx: Ctx, rtype: str, subject: str, when: datetime | None) -> Outcome:
    """The ``Retracted`` event of ``res``; ``when`` is its own clinical time, if any."""
    if own_id(res) is None:
        return f"{rtype}: entered-in-error without an id names nothing to retract"
    patient = patient_of(res.get(subject), subject, ctx)
    event_id, ref = identity(res, rtype)
    time = when if when is not None else last_updated(res, ctx)
    timed = time is not None
    return [Retracted(event_id, patient, time or UNTIMED, ref, timed)]


def last_updated(res: Json, ctx: Ctx) -> datetime | None:
    """``meta.lastUpdated`` as a UTC time, if present."""
    meta = obj(res, "meta", "meta")
    value = meta.get("lastUpdated") if meta else None
    return None if value is None else parse_time(value, "meta.lastUpdated", ctx.frame)
