"""Task → ``task-update`` (contract §3, rules.md §6).

Every Task with an ``id``, a ``status``, a patient and a time (``lastModified``, else
``authoredOn``) becomes a ``TaskUpdated``; whether the id is one the pipeline emitted for
that patient, and whether the transition is allowed, is the core's decision.

The patient key: the ``for.identifier`` whose system is ``{base}/patient-key`` when
present, whatever the channel (the pipeline's own Tasks carry it, so a case manager's
system that echoes one routes it back to its patient); else ``for`` → ``Patient/<id>``
with the source in force (contract §2). The update carries ``owner.reference`` and the
text of the last ``note``, both kept and re-published (contract §5).

A Task lacking an id, a status, a patient or a time cannot be one the pipeline emitted
(its Tasks always carry all of them), so it is ignored with the reason; a Task ``for`` a
Group, or ``for`` a reference that cannot be resolved (conditional, unknown ``urn:``),
likewise. A read field of the wrong type or format (a malformed ``lastModified``, an
unknown status code, a ``Patient/`` reference without id, a malformed patient key) is
invalid input.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.events import TaskUpdated
from schemas.codes import TASK_STATUSES
from schemas.inbound.context import Ctx, patient_key
from schemas.inbound.fields import ID_RE, Json, array, identity, known, obj, string
from schemas.inbound.problem import Problem, show
from schemas.inbound.reasons import Outcome
from schemas.inbound.refs import reference, split_reference, target_id
from schemas.timeparse import parse_time

#: Longest patient key accepted from ``for.identifier.value`` (a source and an id).
MAX_KEY = 320


def task_events(res: Json, ctx: Ctx) -> Outcome:
    task_id = string(res, "id", "id")
    if task_id is None:
        return "Task.id: absent; not a Task the pipeline emitted"
    status = string(res, "status", "status")
    if status is None:
        return "Task.status: absent; not a Task the pipeline emitted"
    known(status, TASK_STATUSES, "a Task status")
    patient = _keyed(res, ctx)
    if patient is None:
        ref = reference(res.get("for"), "for")
        if ref is None:
            return "Task.for: absent; no patient to route the update to"
        pid = target_id(ref, "Patient", "for.reference", ctx, strict=False)
        if pid is None:
            parts = split_reference(ref)
            what = f"a {parts[0]}" if parts else "not a literal reference"
            return f"Task.for: {what}, not a resolvable Patient; no patient to route to"
        patient = patient_key(ctx, pid)
    time = _task_time(res, ctx)
    if time is None:
        return "Task.lastModified: absent, and no authoredOn; the update has no time"
    reason_cc = obj(res, "statusReason", "statusReason")
    reason = string(reason_cc, "text", "statusReason.text") if reason_cc else None
    owner_ref = obj(res, "owner", "owner")
    owner = None
    if owner_ref:  # a reference, else a name only (a team a case manager typed)
        owner = string(owner_ref, "reference", "owner.reference") or string(
            owner_ref, "display", "owner.display"
        )
    event_id, own = identity(res, "Task")
    note = None if res.get("note") is None else _last_note(res)
    return [TaskUpdated(event_id, patient, time, own, task_id, status, reason, owner, note)]


def _keyed(res: Json, ctx: Ctx) -> str | None:
    """The patient key of ``for.identifier`` with the project's key system, if any."""
    holder = res.get("for")
    if holder.__class__ is not dict or holder.get("identifier") is None:
        return None  # a wrong type is reported where ``for`` is read as a Reference
    ident = obj(holder, "identifier", "for.identifier") or {}
    if string(ident, "system", "for.identifier.system") != ctx.env.key_system:
        return None
    value = string(ident, "value", "for.identifier.value")
    if value is None:
        return None
    source, bar, pid = value.rpartition("|")
    if len(value) > MAX_KEY or not ID_RE.fullmatch(pid) or (bar and not source):
        why = "is not a patient key (<source>|<id> or <id>)"
        raise Problem("for.identifier.value", f"{show(value)} {why}")
    return value


def _task_time(res: Json, ctx: Ctx) -> datetime | None:
    if res.get("lastModified") is not None:
        return parse_time(res["lastModified"], "lastModified", ctx.frame)
    if res.get("authoredOn") is not None:
        return parse_time(res["authoredOn"], "authoredOn", ctx.frame)
    return None


def _last_note(res: Json) -> str | None:
    notes = array(res, "note", "note")
    if not notes:
        return None
    i = len(notes) - 1
    last = notes[i]
    if not isinstance(last, dict):
        raise Problem(f"note[{i}]", f"expected an Annotation object, got {show(last)}", "structure")
    return string(last, "text", f"note[{i}].text")
