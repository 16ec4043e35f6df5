"""Condition → ``condition`` / ``retraction`` (contract §3, rules.md §4, §7).

A Condition with an ICD-10-CM code (system ``http://hl7.org/fhir/sid/icd-10-cm``) in a
contraindication list (:func:`pipeline.scope.contra_kind`: ``contra.psychosis``, then
``contra.withdrawal``) is a ``ConditionRecorded`` of any clinical status: ``active`` when
``clinicalStatus`` is active/recurrence/relapse or absent and ``verificationStatus`` is
confirmed or absent; inactive/resolved/remission or unconfirmed/provisional/differential/
refuted end the contraindication of that ``Condition/<id>`` without retracting.
``verificationStatus`` ``entered-in-error`` → retraction. Event time: ``onsetDateTime``
(or ``onsetPeriod.start``), else ``recordedDate``, else ``meta.lastUpdated``; with none
of these the Condition is ignored with the reason.

Only Conditions sent alone or as collection entries: the Condition entries of a message
Bundle count for the stay's scope only (:mod:`schemas.inbound.message`).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import ConditionRecorded, Contra
from pipeline.scope import contra_kind
from schemas.inbound.context import Ctx
from schemas.inbound.corrections import last_updated, retraction
from schemas.inbound.fields import Json, codings, identity, obj
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import ICD10CM, Outcome, coding, first_code
from schemas.inbound.refs import patient_of
from schemas.timeparse import parse_time

CLINICAL = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "http://hl7.org/fhir/condition-clinical",
    }
)
VERIFICATION = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "http://hl7.org/fhir/condition-ver-status",
    }
)
_ACTIVE = frozenset({"active", "recurrence", "relapse"})
_ENDED = frozenset({"inactive", "remission", "resolved"})
_CONFIRMED = frozenset({"confirmed"})
_NOT_CONFIRMED = frozenset({"unconfirmed", "provisional", "differential", "refuted"})
_ERROR = "entered-in-error"


def condition_events(res: Json, ctx: Ctx) -> Outcome:
    found = _contra(res, ctx)
    if isinstance(found, str):
        return found
    kind, code = found
    verification = _status(res, "verificationStatus", VERIFICATION, _CONFIRMED | _NOT_CONFIRMED)
    if verification == _ERROR:
        return retraction(res, ctx, "Condition", "subject", _own_time(res, ctx))
    clinical = _status(res, "clinicalStatus", CLINICAL, _ACTIVE | _ENDED)
    active = clinical in (None, *_ACTIVE) and verification in (None, *_CONFIRMED)
    time = _own_time(res, ctx) or last_updated(res, ctx)
    if time is None:
        return "Condition.onsetDateTime: absent, and no recordedDate or meta.lastUpdated"
    patient = patient_of(res.get("subject"), "subject", ctx)
    event_id, ref = identity(res, "Condition")
    return [ConditionRecorded(event_id, patient, time, ref, kind, code, active)]


def _contra(res: Json, ctx: Ctx) -> tuple[Contra, str] | str:
    """(kind, code as received) of the first ICD-10-CM code in a list, else why not."""
    cc = res.get("code")
    if cc is None:  # Condition.code is 0..1
        return "Condition.code: absent; contraindications are ICD-10-CM codes"
    found = codings(cc, "code")
    first_icd: str | None = None
    for system, code in found:
        if system == ICD10CM and code is not None:
            kind = contra_kind(ctx.env.rules, code)
            if kind is not None:
                return kind, code
            first_icd = first_icd or code
    if first_icd is not None:
        return f"Condition.code: {coding(ICD10CM, first_icd)} is not in a contraindication list"
    quoted = first_code(found)
    what = f"{quoted} is not ICD-10-CM" if quoted else "no coding (text only)"
    return f"Condition.code: {what}; contraindications are ICD-10-CM codes"


def _status(res: Json, key: str, systems: frozenset[str], codes: frozenset[str]) -> str | None:
    """The code of ``clinicalStatus``/``verificationStatus`` (required R4 bindings)."""
    cc = res.get(key)
    if cc is None:
        return None
    for system, code in codings(cc, key):
        if code is not None and (system is None or system in systems):
            if code in codes or code == _ERROR:
                return code
            allowed = ", ".join(sorted(codes))
            raise Problem(f"{key}.coding", f"{show(code)} is not an R4 {key} code ({allowed})")
    raise Problem(key, f"no {key} code (a required binding)", "required")


def _own_time(res: Json, ctx: Ctx) -> datetime | None:
    if res.get("onsetDateTime") is not None:
        return parse_time(res["onsetDateTime"], "onsetDateTime", ctx.frame)
    period = obj(res, "onsetPeriod", "onsetPeriod")
    if period is not None and period.get("start") is not None:
        return parse_time(period["start"], "onsetPeriod.start", ctx.frame)
    if res.get("recordedDate") is not None:
        return parse_time(res["recordedDate"], "recordedDate", ctx.frame)
    return None
