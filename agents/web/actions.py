"""Case managers' actions on a Task → the Task update published to ``care.inbound``.

The actions offered are the moves the Task state machine allows from the Task's status
(rules.md §6, :func:`pipeline.rules.tasks.allowed`); a refused move never leaves the web
service (409 in the API, no button on the page). An update is a FHIR R4 Task with the same
id, the new status, ``lastModified`` = now, ``owner``/``note``/``statusReason`` when given,
and ``for`` as the pipeline emitted it (``for.identifier`` = the patient key), so it routes
to its patient whatever the channel (contract §2). The record key is the patient key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.codes import TERMINAL, Status
from pipeline.rules.tasks import allowed

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Action:
    name: str  # form value and audit name
    label: str  # button text
    status: str  # the status it moves to
    needs_reason: bool = False


STATUS_ACTIONS = (
    Action("accept", "Accept", Status.ACCEPTED),
    Action("start", "Start work", Status.IN_PROGRESS),
    Action("hold", "Put on hold", Status.ON_HOLD),
    Action("complete", "Complete", Status.COMPLETED),
    Action("reject", "Reject", Status.REJECTED, needs_reason=True),
    Action("fail", "Mark failed", Status.FAILED, needs_reason=True),
    Action("cancel", "Cancel", Status.CANCELLED, needs_reason=True),
)
BY_NAME = {a.name: a for a in STATUS_ACTIONS}
#: Actions that change no status.
OTHER_ACTIONS = ("take", "assign", "note")


def available(code: str, status: str) -> list[Action]:
    """The status actions the state machine allows for a Task with this code and status."""
    return [a for a in STATUS_ACTIONS if allowed(code, status, a.status)]


class Refused(Exception):
    """The action cannot be taken (the state machine, a missing reason, nothing to change)."""


def task_update(
    current: Json,
    now: datetime,
    status: str | None = None,
    owner: str | None = None,
    note: str | None = None,
    reason: str | None = None,
) -> Json:
    """The Task update for ``current`` (the latest version emitted by the pipeline)."""
    doc: Json = {
        "resourceType": "Task",
        "id": current["id"],
        "status": status or current["status"],
        "intent": current.get("intent", "order"),
    }
    if reason:
        doc["statusReason"] = {"text": reason}
    for name in ("code", "focus", "for"):
        if current.get(name) is not None:
            doc[name] = current[name]
    doc["lastModified"] = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if owner:
        doc["owner"] = {"reference": owner}
    if note:
        doc["note"] = [{"text": note, "time": doc["lastModified"]}]
    return doc


class NoChange(Refused):
    """The update would change nothing (same status, owner and no new note)."""


def check(
    code: str,
    current_status: str,
    new_status: str | None,
    reason: str | None,
    require_reason: bool = True,
) -> None:
    """Raise :class:`Refused` when the move is not allowed (or lacks its reason)."""
    if new_status is None or new_status == current_status:
        return
    if current_status in TERMINAL and new_status != "entered-in-error":
        raise Refused(f"Task is {current_status}: a closed Task takes no further status")
    if not allowed(code, current_status, new_status):
        raise Refused(f"Task.status: {current_status} → {new_status} is not an allowed transition")
    action = next((a for a in STATUS_ACTIONS if a.status == new_status), None)
    needs = action is not None and action.needs_reason and require_reason
    if needs and action is not None and not (reason or "").strip():
        raise Refused(f"{action.label}: a reason is required")
