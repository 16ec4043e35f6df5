"""Encounter → ``admission`` / ``discharge`` / ``attended`` (contract §3).

- class IMP/ACUTE/NONAC (v3-ActCode), status in-progress/arrived, with ``period.start`` →
  admission at that time; status finished with ``period.end`` → discharge at that time,
  with the disposition class of ``hospitalization.dischargeDisposition`` (rules.md §3).
- class AMB, status finished, a ``period.start`` and a level of care in ``serviceType`` →
  attended at ``period.start``; minutes from ``length``, else ``period.end −
  period.start``, else 0.
- Anything else is ignored, including an inpatient Encounter without the period time its
  kind needs: FHIR allows ``period`` to be absent (US Core and R4 examples do so), and the
  contract recognizes a discharge only "with ``period.end``". A message Bundle is
  different: its event code claims the event, so there the time is required
  (``admitted``/``discharged`` are strict).
"""

from __future__ import annotations

from pipeline.events import Disposition, Event, PatientAdmitted, PatientDischarged, SessionAttended
from pipeline.levels import Level
from schemas.codes import (
    AMBULATORY_CLASS,
    ENCOUNTER_STATUSES,
    INPATIENT_CLASSES,
    UCUM,
    V3_ACTCODE,
    disposition_of,
)
from schemas.inbound.fields import (
    Ctx,
    Json,
    array,
    codings,
    identity,
    known,
    level_of,
    obj,
    required,
    string,
)
from schemas.inbound.problem import Problem, show
from schemas.inbound.refs import patient_of, reference, target_id
from schemas.timeparse import MAX_MINUTES, minutes_between, parse_time

_ADMITTED = frozenset({"in-progress", "arrived"})
_UCUM_MINUTES = {"min": 1.0, "h": 60.0, "s": 1 / 60, "d": 1440.0}
_UNIT_MINUTES = {
    **{w: 1.0 for w in ("min", "mins", "minute", "minutes")},
    **{w: 60.0 for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: 1 / 60 for w in ("s", "sec", "secs", "second", "seconds")},
}


def encounter_events(res: Json, ctx: Ctx) -> list[Event] | None:
    cls = _class_code(res)
    if cls not in INPATIENT_CLASSES and cls != AMBULATORY_CLASS:
        return None
    status = _status(res)
    period = obj(res, "period", "period") or {}
    if cls == AMBULATORY_CLASS:
        if status != "finished" or period.get("start") is None:
            return None
        level = level_of(res.get("serviceType"), "serviceType", ctx)
        return None if level is None else [_attended(res, ctx, level)]
    if status in _ADMITTED and period.get("start") is not None:
        return [admitted(res, ctx, *identity(res, "Encounter"))]
    if status == "finished" and period.get("end") is not None:
        return [discharged(res, ctx, *identity(res, "Encounter"))]
    return None


def _class_code(res: Json) -> str | None:
    if isinstance(res.get("class"), list):
        raise Problem("class", "expected an R4 Coding object, got an array (R5 shape)", "structure")
    cls = required(obj(res, "class", "class"), "class", "(Encounter.class is 1..1 in R4)")
    system = string(cls, "system", "class.system")
    code = string(cls, "code", "class.code")
    return code if system is None or system in V3_ACTCODE else None


def _status(res: Json) -> str:
    status = required(string(res, "status", "status"), "status", "(Encounter.status is 1..1)")
    known(status, ENCOUNTER_STATUSES, "an R4 Encounter status")
    return str(status)


def admitted(enc: Json, ctx: Ctx, event_id: str, ref: str | None) -> PatientAdmitted:
    patient = patient_of(enc.get("subject"), "subject", ctx)
    period = obj(enc, "period", "period") or {}
    start = required(period.get("start"), "period.start", "for an admission (its event time)")
    return PatientAdmitted(event_id, patient, parse_time(start, "period.start"), ref)


def discharged(enc: Json, ctx: Ctx, event_id: str, ref: str | None) -> PatientDischarged:
    patient = patient_of(enc.get("subject"), "subject", ctx)
    period = obj(enc, "period", "period") or {}
    end = required(period.get("end"), "period.end", "for a discharge (its event time)")
    time = parse_time(end, "period.end")
    disposition, code = _disposition(enc)
    return PatientDischarged(event_id, patient, time, ref, disposition, code)


def _disposition(enc: Json) -> tuple[Disposition, str | None]:
    hosp = obj(enc, "hospitalization", "hospitalization")
    cc = hosp.get("dischargeDisposition") if hosp else None
    if cc is None:
        return Disposition.COMMUNITY, None
    first: str | None = None
    for system, code in codings(cc, "hospitalization.dischargeDisposition"):
        if code is None:
            continue
        found = disposition_of(system, code)
        if found is not None:
            return found, code
        first = first or code
    return Disposition.COMMUNITY, first


def _attended(res: Json, ctx: Ctx, level: Level) -> SessionAttended:
    patient = patient_of(res.get("subject"), "subject", ctx)
    period = obj(res, "period", "period") or {}
    start_raw = required(period.get("start"), "period.start", "for an attended session")
    start = parse_time(start_raw, "period.start")
    minutes = _length(res)
    if minutes is None and period.get("end") is not None:
        minutes = minutes_between(start, parse_time(period["end"], "period.end"), "period.end")
    event_id, ref = identity(res, "Encounter")
    appts = _appointments(res, ctx)
    return SessionAttended(event_id, patient, start, ref, level, minutes or 0, appts)


def _length(res: Json) -> int | None:
    length = obj(res, "length", "length")
    if length is None or length.get("value") is None:
        return None
    value = length["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Problem("length.value", f"expected a number, got {show(value)}", "structure")
    if value < 0:
        raise Problem("length.value", f"{value} is a negative duration")
    minutes = value * _minutes_per_unit(length)
    if minutes > MAX_MINUTES:
        raise Problem("length.value", f"{show(value)} {_unit(length)} is longer than 366 days")
    return round(minutes)


def _unit(length: Json) -> str:
    return str(length.get("code") or length.get("unit") or "min")


def _minutes_per_unit(length: Json) -> float:
    """Minutes per unit of a Duration: UCUM ``code`` first, else the ``unit`` text."""
    code = string(length, "code", "length.code")
    unit = string(length, "unit", "length.unit")
    system = string(length, "system", "length.system")
    factor = _UCUM_MINUTES.get(code) if code and system in (None, UCUM) else None
    if factor is None and unit is not None:
        factor = _UNIT_MINUTES.get(unit.strip().lower())
    if factor is not None:
        return factor
    if code or unit:
        raise Problem("length.code", f"unknown time unit {show(code or unit)} (min, h, s, d)")
    return 1.0  # a bare number: minutes, as contract §3 reads Encounter.length


def _appointments(res: Json, ctx: Ctx) -> tuple[str, ...]:
    ids: list[str] = []
    for i, holder in enumerate(array(res, "appointment", "appointment")):
        path = f"appointment[{i}]"
        ref = reference(holder, path)
        if ref is None:
            continue
        # an unresolvable reference only loses the de-duplication, not the attendance
        aid = target_id(ref, "Appointment", f"{path}.reference", ctx, strict=False)
        if aid is not None:
            ids.append(aid)
    return tuple(ids)
