"""Observation → ``assessment`` (contract §3: PHQ-9, PHQ-9 item 9, GAD-7, AUDIT-C, C-SSRS).

Recognized: ``status`` final/amended/corrected and a LOINC code of the table. The event
carries the resource version (``meta.versionId``, else the content hash): a later version
of the same Observation with another value is a correction (rules.md §6). A C-SSRS
``none`` (also ``no risk``, ``negative``) is a valid negative screen, value 0.

Status ``entered-in-error`` with a recognized code → retraction of ``Observation/<id>`` at
its own time (effective, else ``issued``, else ``meta.lastUpdated``). Other codes and
other statuses (``preliminary``…) are ignored with the reason; so is a recognized
Observation whose value is explicitly absent (``dataAbsentReason`` and no ``value[x]``).
"""

from __future__ import annotations

import re
from datetime import datetime

from pipeline.events import AssessmentRecorded, Instrument
from schemas.codes import (
    ASSESSED_STATUSES,
    CSSRS_ANSWERS,
    CSSRS_WORDS,
    INSTRUMENTS,
    ITEM9_ANSWERS,
    LOINC,
    OBSERVATION_STATUSES,
)
from schemas.inbound.context import Ctx
from schemas.inbound.corrections import retraction
from schemas.inbound.fields import Json, codings, known, obj, required, string, versioned
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome, cut, first_code
from schemas.inbound.refs import patient_of
from schemas.timeparse import Frame, parse_time

_NUMBER = re.compile(r"\s*([+-]?\d{1,18})(?:\.0*)?\s*")  # 18 digits: int() stays cheap


def observation_events(res: Json, ctx: Ctx) -> Outcome:
    found = _instrument(res)
    if isinstance(found, str):
        return found
    status = required(string(res, "status", "status"), "status", "(Observation.status is 1..1)")
    if status not in ASSESSED_STATUSES:
        known(status, OBSERVATION_STATUSES, "an Observation status")
        if status == "entered-in-error":
            return retraction(res, ctx, "Observation", "subject", _own_time(res, ctx.frame))
        why = "is not a final result (final, amended, corrected)"
        return f"Observation.status: {cut(status)} {why}"
    instrument, top, label = found
    patient = patient_of(res.get("subject"), "subject", ctx)
    time = observed_at(res, ctx.frame)
    value = _value(res, instrument, top, label)
    if value is None:
        return f"Observation.value[x]: absent (dataAbsentReason) for {label}"
    event_id, ref, version = versioned(res, "Observation")
    return [AssessmentRecorded(event_id, patient, time, ref, instrument, value, version)]


def _instrument(res: Json) -> tuple[Instrument, int, str] | str:
    """The instrument of the LOINC code, else why the Observation is ignored."""
    code = required(res.get("code"), "code", "(Observation.code is 1..1)")
    found = codings(code, "code")
    for system, c in found:
        if system == LOINC and c in INSTRUMENTS:
            return INSTRUMENTS[c]
    quoted = first_code(found)
    if quoted is None:
        return "Observation.code: no coded instrument (text only)"
    only = "" if quoted.startswith("LOINC ") else " (LOINC only)"
    return f"Observation.code: {quoted} is not a recognized instrument{only}"


def observed_at(res: Json, frame: Frame) -> datetime:
    """``effectiveDateTime``, ``effectivePeriod.start`` or ``effectiveInstant``, else ``issued``."""
    found = _own_time(res, frame)
    if found is None:
        accepted = "effectiveDateTime, effectivePeriod.start or issued"
        raise Problem("effective[x]", f"required: {accepted} (the event time)", "required")
    return found


def _own_time(res: Json, frame: Frame) -> datetime | None:
    if res.get("effectiveDateTime") is not None:
        return parse_time(res["effectiveDateTime"], "effectiveDateTime", frame)
    period = obj(res, "effectivePeriod", "effectivePeriod")
    if period is not None and period.get("start") is not None:
        return parse_time(period["start"], "effectivePeriod.start", frame)
    if res.get("effectiveInstant") is not None:
        return parse_time(res["effectiveInstant"], "effectiveInstant", frame)
    if res.get("issued") is not None:
        return parse_time(res["issued"], "issued", frame)
    return None


def _value(res: Json, instrument: Instrument, top: int, label: str) -> int | None:
    if instrument is Instrument.CSSRS:
        value, path = _risk(res, label)
    elif instrument is Instrument.PHQ9_ITEM9 and res.get("valueCodeableConcept") is not None:
        value, path = _item9_answer(res, label)
    else:
        value, path = _number(res, label)
    if value is None:
        return None
    if not 0 <= value <= top:
        raise Problem(path, f"{value} is outside 0–{top} for {label}")
    return value


def _number(res: Json, label: str) -> tuple[int | None, str]:
    v = res.get("valueInteger")
    if v is not None:
        if type(v) is int:
            return v, "valueInteger"
        raise Problem("valueInteger", f"expected an integer, got {show(v)}", "structure")
    q = obj(res, "valueQuantity", "valueQuantity")
    if q is not None:
        return _whole(q.get("value"), "valueQuantity.value", label), "valueQuantity.value"
    s = string(res, "valueString", "valueString")
    if s is not None:
        m = _NUMBER.fullmatch(s)
        if m is None:
            raise Problem("valueString", f"{show(s)} is not a whole number for {label}")
        return int(m.group(1)), "valueString"
    return _absent(res, label, "valueInteger, valueQuantity or a numeric valueString")


def _whole(v: object, path: str, label: str) -> int:
    if type(v) is int:
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, float):
        raise Problem(path, f"{v} is not a whole number for {label}")
    raise Problem(path, f"expected a number, got {show(v)}", "structure")


def _item9_answer(res: Json, label: str) -> tuple[int, str]:
    path = "valueCodeableConcept"
    for system, code in codings(res[path], path):
        if system == LOINC and code in ITEM9_ANSWERS:
            return ITEM9_ANSWERS[code], path
    raise Problem(path, f"no {label} answer code (LOINC LA6568-5, LA6569-3, LA6570-1, LA6571-9)")


def _risk(res: Json, label: str) -> tuple[int | None, str]:
    words = "none, low, moderate, high or LOINC LA9194-7/LA6751-7/LA9193-9"
    path = "valueCodeableConcept"
    cc = res.get(path)
    if cc is not None:
        for system, code in codings(cc, path):
            if system == LOINC and code in CSSRS_ANSWERS:
                return CSSRS_ANSWERS[code], path
            if code is not None and code.strip().lower() in CSSRS_WORDS:
                return CSSRS_WORDS[code.strip().lower()], path
        text = string(cc, "text", f"{path}.text")
        if text is not None and text.strip().lower() in CSSRS_WORDS:
            return CSSRS_WORDS[text.strip().lower()], path
        raise Problem(path, f"no {label} in the concept ({words})")
    s = string(res, "valueString", "valueString")
    if s is not None:
        if s.strip().lower() in CSSRS_WORDS:
            return CSSRS_WORDS[s.strip().lower()], "valueString"
        raise Problem("valueString", f"{show(s)} is not a {label} ({words})")
    return _absent(res, label, "valueCodeableConcept or valueString")


def _absent(res: Json, label: str, accepted: str) -> tuple[None, str]:
    other = next((k for k, v in res.items() if k.startswith("value") and v is not None), None)
    if other is not None:
        raise Problem(other, f"{other} is not accepted for {label} ({accepted})", "structure")
    if res.get("dataAbsentReason") is not None:
        return None, "dataAbsentReason"
    raise Problem("value[x]", f"required: a value for {label} ({accepted})", "required")
