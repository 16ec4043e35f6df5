"""What the core decides to publish: full snapshots of the Tasks and ServiceRequests it owns.

Each decision is a command (DESIGN.md convention 4) carrying the whole current content of
the resource, so the boundary can build the full FHIR resource again on every status
change (contract §5: a status change is the whole resource again with the same id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Task statuses that end a Task (rules.md §5).
from pipeline.codes import TERMINAL
from pipeline.levels import Level


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    patient: str
    rule: str  # e.g. "C-FOLLOWUP"; a referral Task carries its transition rule
    code: str  # care-task code, or "fulfill" for a referral Task
    status: str
    priority: str  # routine | urgent | asap | stat
    authored: datetime
    due: datetime
    description: str
    focus: str | None  # "ServiceRequest/<id>" for referral Tasks, else triggering ref
    last_modified: datetime | None = None
    status_reason: str | None = None
    target: Level | None = None  # referral Tasks: the referred level
    owner: str | None = None  # FHIR reference (routing, escalation, or a case manager's)
    business_status: str | None = None  # "overdue" | "new trigger" | "source corrected"
    notes: tuple[str, ...] = ()  # case managers' notes, oldest first
    display: str | None = None  # the patient's name when a Patient carried one
    overdue: bool = False  # L-OVERDUE fired (once per Task)

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    id: str
    patient: str
    rule: str
    level: Level
    direction: str  # "step-up" | "step-down"
    status: str  # active | completed | revoked
    priority: str
    authored: datetime
    reasons: tuple[str, ...]  # triggering resource refs ("Observation/x")
    task_id: str
    last_modified: datetime | None = None
    status_reason: str | None = None
    performer: str | None = None  # routing.programs.<level>
    requester: str | None = None  # routing.requester
    display: str | None = None  # the patient's name when a Patient carried one


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event the state machine refuses (e.g. an illegal Task transition): dead letter."""

    event_id: str
    diagnostics: str  # "Task.status: completed → accepted is not an allowed transition"
    expression: str  # FHIRPath-ish location, e.g. "Task.status"


Output = TaskRecord | ReferralRecord
