"""Typed reads of the FHIR fields the pipeline uses, with a precise :class:`Problem` each.

Only fields that are read get checked (contract §6: "a field the pipeline reads has the
wrong type or format"); everything else in a resource is left alone, unvalidated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

import orjson

from pipeline.levels import Level
from schemas.inbound_problem import Problem, show

Json = dict[str, Any]
ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(slots=True)
class Ctx:
    """What a reader needs beyond the resource: level codes and the enclosing bundle."""

    levels: dict[tuple[str, str], Level]
    #: fullUrl and ``Type/id`` of every entry of the enclosing Bundle → its resource.
    index: dict[str, Json] = field(default_factory=dict)


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


def level_of(value: object, path: str, ctx: Ctx) -> Level | None:
    """The first level of care (contract §4) among the codings of ``value`` (0..1 or 0..*)."""
    many = isinstance(value, list)
    items: list[Any] = value if isinstance(value, list) else [] if value is None else [value]
    for i, cc in enumerate(items):
        where = f"{path}[{i}]" if many else path
        for system, code in codings(cc, where):
            if system is not None and code is not None:
                level = ctx.levels.get((system, code))
                if level is not None:
                    return level
    return None


def reference(holder: object, path: str) -> str | None:
    """``holder.reference`` of a Reference object (``None`` when absent)."""
    if holder.__class__ is dict:
        ref = holder.get("reference")
        if ref.__class__ is str:
            return ref
    if holder is None:
        return None
    if not isinstance(holder, dict):
        raise Problem(path, f"expected a Reference object, got {show(holder)}", "structure")
    return string(holder, "reference", f"{path}.reference")


_TYPED = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([^/]*)(?:/_history/[^/]+)?\Z")


def split_reference(ref: str) -> tuple[str, str] | None:
    """(type, id) of a relative or absolute literal reference, else ``None``."""
    m = _TYPED.search(ref)
    return None if m is None else (m.group(1), m.group(2))


def target_id(ref: str, rtype: str, path: str, ctx: Ctx, strict: bool = True) -> str | None:
    """The id of the ``rtype`` resource ``ref`` points to; ``None`` if another type.

    A reference that cannot be resolved at all (a ``urn:`` that is no entry, a
    conditional ``Type?query``) is a Problem when ``strict``, else ``None``. A reference
    typed ``rtype`` whose id is malformed is always a Problem.
    """
    entry = ctx.index.get(ref) if ctx.index else None
    if entry is None and ":" not in ref:  # fast path for a relative ``Type/id``
        kind, _, rid = ref.partition("/")
        if kind[:1].isupper() and kind.isalpha() and "/" not in rid:
            if kind != rtype:
                return None
            if ID_RE.fullmatch(rid):
                return rid
    if entry is not None:
        if entry.get("resourceType") != rtype:
            return None
        own = entry.get("id")
        if isinstance(own, str) and ID_RE.fullmatch(own):
            return own
        raise Problem(path, f"{ref!r} resolves to a {rtype} entry without a valid id")
    parts = split_reference(ref)
    if parts is None:
        if not strict:
            return None
        if ref.startswith(("urn:", "#")):
            raise Problem(path, f"{ref!r} does not resolve to an entry of the Bundle")
        raise Problem(path, f"{ref!r} is not a literal reference (Type/id)")
    if parts[0] != rtype:
        return None
    if not ID_RE.fullmatch(parts[1]):
        raise Problem(path, f"{ref!r} has no valid {rtype} id")
    return parts[1]


def patient_of(holder: object, path: str, ctx: Ctx) -> str:
    """The patient key of the Reference at ``path``, or a Problem (contract §2)."""
    ref = reference(holder, path)
    if ref is None:
        what = "a Patient reference" if holder is None else "a literal reference (Patient/<id>)"
        raise Problem(path, f"required: {what}; no resolvable patient", "required")
    if ref.startswith("Patient/") and ID_RE.fullmatch(ref, 8):
        return ref[8:]
    pid = target_id(ref, "Patient", f"{path}.reference", ctx)
    if pid is None:
        raise Problem(f"{path}.reference", f"{ref!r} is not a Patient; no resolvable patient")
    return pid


def content_hash(res: Json) -> str:
    """16 hex digits of a hash of the canonical (sorted-key) JSON of ``res``."""
    canonical = orjson.dumps(res, option=orjson.OPT_SORT_KEYS)
    return blake2b(canonical, digest_size=8).hexdigest()


def identity(res: Json, rtype: str) -> tuple[str, str | None]:
    """(event_id, ``Type/id`` or ``None``) of a resource (contract §7)."""
    rid = string(res, "id", "id")
    if rid is None:
        return f"{rtype}#{content_hash(res)}", None
    if not ID_RE.fullmatch(rid):
        raise Problem("id", f"{rid!r} is not a valid FHIR id")
    ref = f"{rtype}/{rid}"
    meta = obj(res, "meta", "meta")
    version = string(meta, "versionId", "meta.versionId") if meta else None
    if version:
        return f"{ref}/_history/{version}", ref
    return f"{ref}#{content_hash(res)}", ref
