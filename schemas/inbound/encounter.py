"""Encounter → ``admission`` / ``discharge`` / ``ed-visit`` / ``attended`` / ``retraction``
(contract §3), by its R4 ``class`` (v3-ActCode):

- ``IMP``/``ACUTE``/``NONAC``: status in-progress/arrived with ``period.start`` → admission
  at that time; finished with ``period.end`` → discharge at that time, with the
  disposition class of ``hospitalization.dischargeDisposition`` (rules.md §4).
- ``EMER``/``OBSENC``: finished → ED visit at ``period.end``, else ``period.start`` (an ED
  visit is not an admission).
- ``AMB``/``VR``: :mod:`schemas.inbound.visit`.
- status ``entered-in-error`` (any of these classes) → retraction of ``Encounter/<id>`` (a
  death discharge can be reversed, rules.md §6).

Stays carry their scope (:mod:`schemas.inbound.stay`); an out-of-scope stay is still an
event (an ``expired`` discharge and medical-stay suspension apply whatever the scope).
Anything else is ignored with its reason, including a stay without the period time its
kind needs: FHIR allows ``period`` to be absent (US Core and R4 examples do so). A message
Bundle is different: its event code claims the event, so there the time is required
(the builders are strict).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import EdVisited, PatientAdmitted, PatientDischarged
from schemas.codes import ENCOUNTER_STATUSES
from schemas.inbound.context import Ctx
from schemas.inbound.corrections import retraction
from schemas.inbound.fields import Json, identity, known, obj, required, string
from schemas.inbound.reasons import Outcome, cut
from schemas.inbound.refs import patient_of
from schemas.inbound.stay import class_code, disposition, is_v3, scope_of
from schemas.inbound.visit import visit_events
from schemas.timeparse import parse_time

INPATIENT = frozenset({"IMP", "ACUTE", "NONAC"})
EMERGENCY = frozenset({"EMER", "OBSENC"})
SESSION = frozenset({"AMB", "VR"})
_ADMITTED = frozenset({"in-progress", "arrived"})
_CLASSES = "IMP, ACUTE, NONAC, EMER, OBSENC, AMB, VR"


def encounter_events(res: Json, ctx: Ctx) -> Outcome:
    system, cls = class_code(res)
    if not is_v3(system):
        return f"Encounter.class: system {cut(str(system))} is not v3-ActCode"
    if cls is None:
        return "Encounter.class: no code"
    if cls not in INPATIENT and cls not in EMERGENCY and cls not in SESSION:
        return f"Encounter.class: {cut(str(cls))} is not a recognized class ({_CLASSES})"
    status = _status(res)
    if status == "entered-in-error":
        return withdrawn(res, ctx)
    if cls in SESSION:
        return visit_events(res, ctx, status, cls)
    period = obj(res, "period", "period") or {}
    if cls in EMERGENCY:
        if status != "finished":
            return f"Encounter.status: {status}; an ED visit counts when finished"
        if period.get("end") is None and period.get("start") is None:
            return "Encounter.period: absent; an ED visit needs period.end or period.start"
        return [ed_visited(res, ctx, *identity(res, "Encounter"))]
    if status in _ADMITTED:
        if period.get("start") is None:
            return f"Encounter.period.start: absent; an {status} stay is an admission from it"
        return [admitted(res, ctx, *identity(res, "Encounter"))]
    if status == "finished":
        if period.get("end") is None:
            return "Encounter.period.end: absent; a finished stay is a discharge at it"
        return [discharged(res, ctx, *identity(res, "Encounter"))]
    return f"Encounter.status: {status} is neither an admission nor a discharge"


def _status(res: Json) -> str:
    status = required(string(res, "status", "status"), "status", "(Encounter.status is 1..1)")
    known(status, ENCOUNTER_STATUSES, "an R4 Encounter status")
    return str(status)


def withdrawn(res: Json, ctx: Ctx) -> Outcome:
    """The retraction of an Encounter marked ``entered-in-error``."""
    return retraction(res, ctx, "Encounter", "subject", _own_time(res, ctx))


def _own_time(res: Json, ctx: Ctx) -> datetime | None:
    period = obj(res, "period", "period") or {}
    for key in ("end", "start"):
        if period.get(key) is not None:
            return parse_time(period[key], f"period.{key}", ctx.frame)
    return None


def admitted(
    enc: Json, ctx: Ctx, event_id: str, ref: str | None, conditions: list[Json] | None = None
) -> PatientAdmitted:
    patient = patient_of(enc.get("subject"), "subject", ctx)
    period = obj(enc, "period", "period") or {}
    start = required(period.get("start"), "period.start", "for an admission (its event time)")
    time = parse_time(start, "period.start", ctx.frame)
    bh, why = scope_of(enc, ctx, conditions)
    return PatientAdmitted(event_id, patient, time, ref, bh, why)


def discharged(
    enc: Json, ctx: Ctx, event_id: str, ref: str | None, conditions: list[Json] | None = None
) -> PatientDischarged:
    patient = patient_of(enc.get("subject"), "subject", ctx)
    period = obj(enc, "period", "period") or {}
    end = required(period.get("end"), "period.end", "for a discharge (its event time)")
    time = parse_time(end, "period.end", ctx.frame)
    kind, code = disposition(enc)
    bh, why = scope_of(enc, ctx, conditions)
    return PatientDischarged(event_id, patient, time, ref, bh, why, kind, code)


def ed_visited(
    enc: Json, ctx: Ctx, event_id: str, ref: str | None, conditions: list[Json] | None = None
) -> EdVisited:
    patient = patient_of(enc.get("subject"), "subject", ctx)
    period = obj(enc, "period", "period") or {}
    key = "end" if period.get("end") is not None else "start"
    when = required(period.get(key), "period.end", "(or period.start) for an ED visit")
    time = parse_time(when, f"period.{key}", ctx.frame)
    bh, why = scope_of(enc, ctx, conditions)
    return EdVisited(event_id, patient, time, ref, bh, why)
