"""Typed reads of the FHIR fields the pipeline uses, with a precise :class:`Problem` each.

Only fields that are read get checked (contract §6: "a field the pipeline reads has the
wrong type or format"); everything else in a resource is left alone, unvalidated.
"""

from __future__ import annotations

import re
from hashlib import blake2b
from typing import Any

import orjson

from pipeline.levels import Level
from schemas.inbound.problem import Problem, show

Json = dict[str, Any]
ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: FHIR resource type names (every R4 and R5 type matches; a typo like ``observation`` not)
TYPE_RE = re.compile(r"[A-Z][A-Za-z]{1,63}")


def obj(res: Json, key: str, path: str) -> Json | None:
    value = res.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise Problem(path, f"expected an object, got {show(value)}", "structure")


def string(res: Json, key: str, path: str) -> str | None:
    value = res.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Problem(path, f"expected a string, got {show(value)}", "structure")


def array(res: Json, key: str, path: str) -> list[Any]:
    value = res.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise Problem(path, f"expected an array, got {show(value)}", "structure")


def known(code: str, allowed: frozenset[str], what: str, path: str = "status") -> None:
    """A Problem at ``path`` unless ``code`` is one of ``allowed`` (a required binding)."""
    if code not in allowed:
        raise Problem(path, f"{show(code)} is not {what} ({', '.join(sorted(allowed))})")


def required(value: Any, path: str, why: str) -> Any:
    if value is None:
        raise Problem(path, f"required {why}", "required")
    return value


def codings(cc: object, path: str) -> list[tuple[str | None, str | None]]:
    """(system, code) of each Coding of the CodeableConcept ``cc`` at ``path``."""
    if not isinstance(cc, dict):
        raise Problem(path, f"expected a CodeableConcept object, got {show(cc)}", "structure")
    found: list[tuple[str | None, str | None]] = []
    for coding in array(cc, "coding", f"{path}.coding"):
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            system_ok = system is None or system.__class__ is str
            if system_ok and (code is None or code.__class__ is str):
                found.append((system, code))
                continue
        _bad_coding(cc["coding"], path)
    return found


def _bad_coding(items: list[Any], path: str) -> None:
    """Raise the Problem of the first malformed Coding (off the hot path)."""
    for i, coding in enumerate(items):
        where = f"{path}.coding[{i}]"
        if not isinstance(coding, dict):
            raise Problem(where, f"expected a Coding object, got {show(coding)}", "structure")
        string(coding, "system", f"{where}.system")
        string(coding, "code", f"{where}.code")


def level_of(value: object, path: str, levels: dict[tuple[str, str], Level]) -> Level | None:
    """The first level of care (contract §4) among the codings of ``value`` (0..1 or 0..*)."""
    many = isinstance(value, list)
    items: list[Any] = value if isinstance(value, list) else [] if value is None else [value]
    for i, cc in enumerate(items):
        where = f"{path}[{i}]" if many else path
        for system, code in codings(cc, where):
            if system is not None and code is not None:
                level = levels.get((system, code))
                if level is not None:
                    return level
    return None


def content_hash(res: Json) -> str:
    """16 hex digits of a hash of the canonical (sorted-key) JSON of ``res``."""
    canonical = orjson.dumps(res, option=orjson.OPT_SORT_KEYS)
    return blake2b(canonical, digest_size=8).hexdigest()


def identity(res: Json, rtype: str) -> tuple[str, str | None]:
    """(event_id, ``Type/id`` or ``None``) of a resource (contract §7)."""
    event_id, ref, _ = versioned(res, rtype)
    return event_id, ref


def versioned(res: Json, rtype: str) -> tuple[str, str | None, str]:
    """(event_id, ``Type/id`` or ``None``, version) of a resource (contract §7): the
    version is ``meta.versionId``, else the content hash."""
    rid = string(res, "id", "id")
    if rid is None:
        digest = content_hash(res)
        return f"{rtype}#{digest}", None, digest
    fhir_id(rid, "id")
    ref = f"{rtype}/{rid}"
    meta = obj(res, "meta", "meta")
    version = string(meta, "versionId", "meta.versionId") if meta else None
    if version is not None:
        return f"{ref}/_history/{fhir_id(version, 'meta.versionId')}", ref, version
    digest = content_hash(res)
    return f"{ref}#{digest}", ref, digest


def own_id(res: Json) -> str | None:
    """The resource's ``id`` when it is a valid FHIR id (for ignored-resource records)."""
    rid = res.get("id")
    return rid if isinstance(rid, str) and ID_RE.fullmatch(rid) else None


def fhir_id(value: str, path: str) -> str:
    """``value`` if it is a FHIR ``id`` (1–64 of ``A–Z a–z 0–9 - .``), else a Problem."""
    if not ID_RE.fullmatch(value):
        raise Problem(path, f"{show(value)} is not a valid FHIR id")
    return value
