"""Scope decisions (rules.md §2, §7): is a stay or a session behavioral-health care, and
is a Condition a contraindication (§4)? Pure functions of codes and settings, called by the
boundary so that every normalized stay carries its decision and reason.

Codes arrive as ``(system, code)`` pairs; ICD-10-CM diagnoses as codes of the system
``http://hl7.org/fhir/sid/icd-10-cm`` (the boundary passes only those).
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.codelists import compiled
from pipeline.config import RuleConfig
from pipeline.events import Contra

OUT_OF_SCOPE_STAY = "out of scope: not a behavioral-health stay"
OUT_OF_SCOPE_SESSION = "out of scope: not a behavioral-health session"


def bh_service(cfg: RuleConfig, codes: Iterable[tuple[str, str]]) -> str | None:
    """The first ``system|code`` of ``codes`` in ``scope.services``, if any."""
    services = cfg.scope.services
    for system, code in codes:
        key = f"{system}|{code}"
        if key in services:
            return key
    return None


def stay_scope(
    cfg: RuleConfig,
    principal: str | None,
    codes: Iterable[tuple[str, str]],
    level_code: str | None,
) -> tuple[bool, str]:
    """(in scope, reason) of a stay: ``scope.stays = all``; a principal ICD-10-CM
    diagnosis in ``scope.diagnoses``; a level-of-care code (``level_code``, as received)
    or a ``scope.services`` code in serviceType/type/class.

    Rationale: HEDIS FUH/FUM count stays by their principal diagnosis only (a smoker's
    knee replacement with a secondary F17 is not a BH stay); F01–F09 (organic, delirium)
    and F17 (nicotine) are not BH care. Source: rules.md §2;
    reference/clinical-rules.md §7 (FUH denominator: principal diagnosis of mental illness
    or intentional self-harm).
    """
    if cfg.scope.stays == "all":
        return True, "scope.stays = all"
    if principal is not None:
        pattern = compiled(cfg.scope.diagnoses).match(principal)
        if pattern is not None:
            return True, f"principal diagnosis {principal}"
    if level_code is not None:
        return True, f"level of care {level_code}"
    service = bh_service(cfg, codes)
    if service is not None:
        return True, f"behavioral-health service {service}"
    why = f"principal diagnosis {principal}" if principal else "no principal diagnosis"
    return False, f"{OUT_OF_SCOPE_STAY} ({why}, no behavioral-health service)"


def contra_kind(cfg: RuleConfig, code: str) -> Contra | None:
    """The contraindication kind of an ICD-10-CM code (``contra.psychosis`` first)."""
    if compiled(cfg.contra.psychosis).match(code) is not None:
        return Contra.PSYCHOSIS
    if compiled(cfg.contra.withdrawal).match(code) is not None:
        return Contra.WITHDRAWAL
    return None
