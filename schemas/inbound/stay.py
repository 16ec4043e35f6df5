"""What a stay (admission, discharge, ED visit) carries besides its time: its scope
(rules.md §2, §7) and, for a discharge, its disposition (rules.md §4).

Scope inputs, read here and decided by :func:`pipeline.scope.stay_scope`:

- the **principal diagnosis**: the ``Encounter.diagnosis`` with ``rank`` 1 (else the
  first), its ``condition`` resolved to a Condition ``contained`` in the Encounter or in
  the same Bundle; with no ``diagnosis``, the first ``reasonCode``; in a message Bundle,
  failing those, the first Condition entry whose ``encounter`` is the focus. Only
  ICD-10-CM codings count. A referenced Condition is only looked at, never validated
  (it is not an event of its own here): a malformed one gives no diagnosis.
- the codes of ``serviceType``, ``type`` and ``class``: a level-of-care code other than
  the v3-ActCode classes (every stay has one of those) or a ``scope.services`` code.
"""

from __future__ import annotations

from typing import Any

from pipeline.events import Disposition
from pipeline.scope import stay_scope
from schemas.codes import V3_ACTCODE, disposition_of
from schemas.inbound.context import Ctx
from schemas.inbound.fields import Json, array, codings, obj, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import ICD10CM
from schemas.inbound.refs import reference, resolve

Codes = list[tuple[str, str]]


def class_code(res: Json) -> tuple[str | None, str | None]:
    """(system, code) of the R4 ``Encounter.class`` Coding (1..1)."""
    cls = res.get("class")
    if isinstance(cls, list):
        raise Problem("class", "expected an R4 Coding object, got an array (R5 shape)", "structure")
    if cls is None:
        raise Problem("class", "required (Encounter.class is 1..1 in R4)", "required")
    found = obj(res, "class", "class") or {}
    return string(found, "system", "class.system"), string(found, "code", "class.code")


def v3_class(res: Json) -> str | None:
    """The ``Encounter.class`` code when its system is v3-ActCode (or absent)."""
    system, code = class_code(res)
    return code if is_v3(system) else None


def is_v3(system: str | None) -> bool:
    return system is None or system in V3_ACTCODE


def scope_of(enc: Json, ctx: Ctx, conditions: list[Json] | None = None) -> tuple[bool, str]:
    """(behavioral health, why) of the stay ``enc`` (``conditions``: a message's entries)."""
    codes = service_codes(enc)
    cls = enc.get("class")  # already checked by class_code when the stay was recognized
    if cls.__class__ is dict:
        system, code = cls.get("system"), cls.get("code")
        if isinstance(system, str) and isinstance(code, str) and system not in V3_ACTCODE:
            codes.append((system, code))
    level = next((c for s, c in codes if (s, c) in ctx.levels and not is_v3(s)), None)
    principal = principal_diagnosis(enc, ctx, conditions or [])
    return stay_scope(ctx.env.rules, principal, codes, level)


def service_codes(enc: Json) -> Codes:
    """(system, code) of every coding of ``serviceType`` (0..1) and ``type`` (0..*)."""
    found: Codes = []
    service = enc.get("serviceType")
    if service is not None:
        found += _pairs(codings(service, "serviceType"))
    for i, cc in enumerate(array(enc, "type", "type")):
        found += _pairs(codings(cc, f"type[{i}]"))
    return found


def _pairs(items: list[tuple[str | None, str | None]]) -> Codes:
    return [(s, c) for s, c in items if s is not None and c is not None]


def principal_diagnosis(enc: Json, ctx: Ctx, conditions: list[Json]) -> str | None:
    """The ICD-10-CM code of the stay's principal diagnosis, if one is known."""
    diagnoses = array(enc, "diagnosis", "diagnosis")
    found: str | None = None
    if diagnoses:
        i, chosen = _ranked(diagnoses)
        ref = reference(chosen.get("condition"), f"diagnosis[{i}].condition")
        condition = resolve(ref, ctx, enc) if ref else None
        if condition is not None and condition.get("resourceType") == "Condition":
            found = icd10cm(condition.get("code"))
    else:
        reasons = array(enc, "reasonCode", "reasonCode")
        if reasons:
            found = icd10cm(reasons[0])
    if found is None:
        found = next((c for c in map(_condition_code, conditions) if c is not None), None)
    return found


def _ranked(diagnoses: list[Any]) -> tuple[int, Json]:
    """Position and value of the ``rank`` 1 diagnosis, else of the first one."""
    for i, d in enumerate(diagnoses):
        if not isinstance(d, dict):
            raise Problem(f"diagnosis[{i}]", f"expected an object, got {show(d)}", "structure")
        rank = d.get("rank")
        if rank is not None and (type(rank) is not int or rank < 1):
            raise Problem(f"diagnosis[{i}].rank", f"expected a positive integer, got {show(rank)}")
    return next(((i, d) for i, d in enumerate(diagnoses) if d.get("rank") == 1), (0, diagnoses[0]))


def _condition_code(condition: Json) -> str | None:
    return icd10cm(condition.get("code"))


def icd10cm(cc: object) -> str | None:
    """The first ICD-10-CM code of a CodeableConcept, read leniently (``None`` if none)."""
    if not isinstance(cc, dict) or not isinstance(items := cc.get("coding"), list):
        return None
    for c in items:
        if isinstance(c, dict) and c.get("system") == ICD10CM:
            code = c.get("code")
            if isinstance(code, str) and code.strip():
                return code.strip()
    return None


def disposition(enc: Json) -> tuple[Disposition, str | None]:
    """The class of ``hospitalization.dischargeDisposition`` and its code as received."""
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
