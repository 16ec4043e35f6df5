"""Operations shared by the pages and the FHIR API: a Task update, a received document.

Each one is audited (who, what, which Task, outcome) whatever its outcome, without
clinical text: a note or reason shows only as ``note given`` / ``reason given``.
"""

from __future__ import annotations

import logging

import orjson
from kafka.errors import KafkaError

from agents.web import actions
from agents.web.accounts import Principal
from agents.web.service import Web

log = logging.getLogger("carepath.web")


class NotFound(Exception):
    pass


class Unavailable(Exception):
    pass


def _detail(status: str | None, owner: str | None, note: str | None, reason: str | None) -> str:
    parts = []
    if status:
        parts.append(f"status={status}")
    if owner:
        parts.append(f"owner={owner}")
    if note:
        parts.append("note given")
    if reason:
        parts.append("reason given")
    return "; ".join(parts)


def submit_update(
    web: Web,
    who: Principal,
    task_id: str,
    action: str,
    status: str | None,
    owner: str | None,
    note: str | None,
    reason: str | None,
    via_form: str = "",
) -> str:
    """Check and publish one Task update; the message to show. Raises :class:`NotFound`,
    :class:`actions.Refused` (the state machine, a missing reason, nothing to change, a
    role), :class:`Unavailable` (read-only, or Kafka refused)."""
    detail = _detail(status, owner, note, reason)
    view = web.model.task(task_id)
    if view is None:
        web.accounts.audit(who, action, task_id, "refused: unknown Task", detail)
        raise NotFound(task_id)
    row = view.row
    try:
        if not who.can("act"):
            raise actions.Refused(f"the {who.role} role may not change Tasks")
        if web.read_only:
            raise Unavailable("serving a file read-only: actions are off")
        if via_form and via_form != str(view.version):
            raise actions.Refused("the Task changed since the page was loaded; look again")
        other = owner and owner not in (row.owner, who.owner_ref)
        if other and not who.can("assign") and who.kind == "user":
            raise actions.Refused("only a supervisor assigns a Task to someone else")
        actions.check(row.code, row.status, status, reason, require_reason=who.kind != "token")
        if status in (None, row.status) and (not owner or owner == row.owner) and not note:
            raise actions.NoChange("nothing to change")
    except (actions.Refused, Unavailable) as e:
        web.accounts.audit(who, action, task_id, f"refused: {e}", detail)
        web.metrics.updates.labels(action, "refused").inc()
        raise
    doc = actions.task_update(view.doc, web.now(), status, owner, note, reason)

    try:
        assert web.publisher is not None
        web.publisher.publish(orjson.dumps(doc), row.patient or None, None)
    except KafkaError as e:
        web.accounts.audit(who, action, task_id, f"failed: {type(e).__name__}", detail)
        web.metrics.updates.labels(action, "failed").inc()
        log.warning("Task update for Task/%s not published: %s", task_id, type(e).__name__)
        raise Unavailable("Kafka did not take the update; try again") from e
    web.model.set_pending(task_id, view.version, action, who.name, doc["lastModified"])
    web.accounts.audit(who, action, task_id, "published", detail)
    web.metrics.updates.labels(action, "published").inc()
    log.info("Task update published: Task/%s %s by %s", task_id, action, who.name)
    return f"{action}: sent; waiting for the pipeline's new version"
