"""What a test hands to a replay: paths, FHIR documents, and case managers' updates.

``inputs`` is a path (``str`` or ``os.PathLike``) of an NDJSON file, one FHIR document (a
``dict``, a JSON string starting with ``{``, or ``bytes``), or an iterable mixing paths and
documents. A ``str`` is a path unless it starts with ``{``; pass ``bytes`` for any other
document text (even broken JSON, to test dead letters).

A document ``{"carepath-scenario-task-update": {"patient", "code", "status", "lastModified",
"nth"?, "owner"?, "note"?}}`` stands for a case manager's update of a Task whose id only the
replay knows (the public scenario format). It is resolved by an embedded replay of the
documents before it (earlier updates already resolved) with ``until`` = its ``lastModified``:
of that patient's Tasks with that care-task code (or ``fulfill``), in emission order, the
``nth`` (default -1, the latest) is put back with the new ``status`` and ``lastModified``
(``owner`` and ``note`` when given, ``statusReason`` dropped), keeping ``for.identifier`` so
the update is routed by the patient key.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agents.testing.compare import Json, final_states, patient, task_code

UPDATE = "carepath-scenario-task-update"
UPDATE_KEYS = frozenset({"patient", "code", "status", "lastModified"})
UPDATE_OPTIONAL = frozenset({"nth", "owner", "note"})

Document = Json | str | bytes | bytearray
Source = str | os.PathLike[str] | Document
Inputs = Source | Iterable[Source]


@dataclass(frozen=True, slots=True)
class Line:
    """One document and where it came from: ``{"file", "line"}`` or ``{"document": n}``."""

    where: dict[str, Any]
    raw: bytes


def read_file(path: str | os.PathLike[str]) -> list[Line]:
    """The non-blank lines of an NDJSON file (as ``carepath replay`` reads them)."""
    name = os.fspath(path)
    lines = []
    with open(name, "rb") as f:
        for n, line in enumerate(f, 1):
            raw = line.rstrip(b"\r\n")
            if raw.strip():
                lines.append(Line({"file": name, "line": n}, raw))
    return lines


def _is_path(item: object) -> bool:
    if isinstance(item, os.PathLike):
        return True
    return isinstance(item, str) and not item.lstrip().startswith("{")


def _raw(doc: object) -> bytes:
    if isinstance(doc, bytes | bytearray):
        return bytes(doc)
    if isinstance(doc, str):
        return doc.encode("utf-8", "surrogatepass")
    if isinstance(doc, dict):
        return orjson.dumps(doc)
    raise TypeError(
        f"not a path or a FHIR document: {type(doc).__name__} "
        "(give a path, a dict, a JSON string or bytes)"
    )


def lines_of(inputs: Inputs) -> list[Line]:
    """Every document of ``inputs``, in order."""
    items: Iterable[object]
    if _is_path(inputs) or isinstance(inputs, dict | str | bytes | bytearray):
        items = [inputs]
    else:
        items = inputs  # type: ignore[assignment]
    lines: list[Line] = []
    n = 0
    for item in items:
        if _is_path(item):
            lines.extend(read_file(item))  # type: ignore[arg-type]
        else:
            n += 1
            lines.append(Line({"document": n}, _raw(item)))
    return lines


def update_spec(raw: bytes) -> Json | None:
    """The update a document stands for, or ``None`` for an ordinary document."""
    if UPDATE.encode() not in raw:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or UPDATE not in doc:
        return None
    spec: Json = doc[UPDATE]
    missing = UPDATE_KEYS - set(spec)
    if missing:
        raise ValueError(f"{UPDATE} without {sorted(missing)}: {raw!r}")
    return spec


def pick_task(emitted: Iterable[Json], spec: Json) -> Json:
    """The patient's Task with that code (in emission order, the ``nth``)."""
    found = [
        doc
        for (rt, _), doc in final_states(emitted).items()
        if rt == "Task"
        and patient(doc.get("for")) == spec["patient"]
        and task_code(doc) == spec["code"]
    ]
    if not found:
        raise LookupError(f"no {spec['code']} Task for {spec['patient']} to update")
    nth: int = spec.get("nth", -1)
    try:
        return found[nth]
    except IndexError:
        raise LookupError(f"no {spec['code']} Task number {nth} for {spec['patient']}") from None


def updated_task(task: Json, spec: Json) -> Json:
    """The case manager's version of ``task`` (``for`` and its identifier kept)."""
    upd = copy.deepcopy(task)
    upd.pop("statusReason", None)
    upd["status"], upd["lastModified"] = spec["status"], spec["lastModified"]
    if spec.get("owner"):
        upd["owner"] = {"display": spec["owner"]}
    if spec.get("note"):
        upd["note"] = [{"text": spec["note"]}]
    return upd


def task_update(
    task: Json,
    status: str,
    last_modified: str,
    *,
    owner: str | None = None,
    note: str | None = None,
) -> Json:
    """A case manager's update of an emitted ``task``, to feed back into a replay."""
    spec = {"status": status, "lastModified": last_modified, "owner": owner, "note": note}
    return updated_task(task, spec)


#: an embedded replay of some documents up to a time: every emitted version
PrefixReplay = Callable[[list[Line], str], list[Json]]


def resolve(lines: list[Line], replay_prefix: PrefixReplay) -> list[Line]:
    """``lines`` with every update document resolved (the same list when there is none)."""
    todo = [(i, spec) for i, ln in enumerate(lines) if (spec := update_spec(ln.raw)) is not None]
    if not todo:
        return lines
    out = list(lines)
    for i, spec in todo:
        emitted = replay_prefix(out[:i], spec["lastModified"])
        try:
            task = pick_task(emitted, spec)
        except LookupError as e:
            raise LookupError(f"task update at {_place(out[i].where)}: {e}") from None
        out[i] = Line(out[i].where, orjson.dumps(updated_task(task, spec)))
    return out


def _place(where: dict[str, Any]) -> str:
    if "file" in where:
        return f"{Path(where['file']).name}:{where['line']}"
    return f"document {where.get('document')}"
