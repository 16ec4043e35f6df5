"""References: which patient (contract §2), which entry of the enclosing Bundle, which id.

The patient id is the id part of a ``Patient/<id>`` reference, relative or absolute
(``…/Patient/<id>/_history/<v>``), or the ``id`` of the Bundle entry whose ``fullUrl``
the reference equals (``urn:uuid:`` subjects). Anything else yields no patient. The
patient key is that id with the source in force (:func:`schemas.inbound.context.patient_key`).
"""

from __future__ import annotations

import re

from schemas.inbound.context import Ctx, patient_key
from schemas.inbound.fields import ID_RE, Json, array, string
from schemas.inbound.problem import Problem, show


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
    if entry is not None:
        return _entry_id(entry, ref, rtype, path)
    parts = _relative(ref) or split_reference(ref)
    if parts is None:
        if not strict:
            return None
        if ref.startswith(("urn:", "#")):
            raise Problem(path, f"{show(ref)} does not resolve to an entry of the Bundle")
        raise Problem(path, f"{show(ref)} is not a literal reference (Type/id)")
    if parts[0] != rtype:
        return None
    if not ID_RE.fullmatch(parts[1]):
        raise Problem(path, f"{show(ref)} has no valid {rtype} id")
    return parts[1]


def _relative(ref: str) -> tuple[str, str] | None:
    """Fast path for the common relative ``Type/id``."""
    kind, _, rid = ref.partition("/")
    if ":" in ref or "/" in rid or not (kind[:1].isupper() and kind.isalpha()):
        return None
    return kind, rid


def _entry_id(entry: Json, ref: str, rtype: str, path: str) -> str | None:
    if entry.get("resourceType") != rtype:
        return None
    own = entry.get("id")
    if isinstance(own, str) and ID_RE.fullmatch(own):
        return own
    raise Problem(path, f"{show(ref)} resolves to a {rtype} entry without a valid id")


def patient_of(holder: object, path: str, ctx: Ctx) -> str:
    """The patient key of the Reference at ``path``, or a Problem (contract §2)."""
    ref = reference(holder, path)
    if ref is None:
        what = "a Patient reference" if holder is None else "a literal reference (Patient/<id>)"
        raise Problem(path, f"required: {what}; no resolvable patient", "required")
    if ref.startswith("Patient/") and ID_RE.fullmatch(ref, 8):
        return patient_key(ctx, ref[8:])
    pid = target_id(ref, "Patient", f"{path}.reference", ctx)
    if pid is None:
        raise Problem(f"{path}.reference", f"{show(ref)} is not a Patient; no resolvable patient")
    return patient_key(ctx, pid)


def resolve(ref: str, ctx: Ctx, container: Json | None = None) -> Json | None:
    """The resource ``ref`` names inside this document: ``#id`` in ``container.contained``,
    else a Bundle entry by fullUrl or by ``Type/id`` (absolute URLs too); else ``None``."""
    if ref.startswith("#"):
        if container is None:
            return None
        for item in array(container, "contained", "contained"):
            if isinstance(item, dict) and item.get("id") == ref[1:]:
                return item
        return None
    found = ctx.index.get(ref)
    if found is None and (parts := split_reference(ref)) is not None:
        found = ctx.index.get(f"{parts[0]}/{parts[1]}")
    return found
