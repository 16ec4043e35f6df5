"""One string per concept (DESIGN.md convention 13): care-task codes, Task and
ServiceRequest statuses, priorities, businessStatus texts. Everything that names one of
these imports it from here; tests build documents from the same constants.
"""

from __future__ import annotations

from typing import Final


class CareTask:
    """Care-task codes (``{base}/CodeSystem/care-task``, rules.md §5)."""

    FULFILL: Final = "fulfill"  # a referral Task (task-code system, not care-task)
    FOLLOWUP_7D: Final = "follow-up-7d"
    FOLLOWUP_ED_7D: Final = "follow-up-ed-7d"
    FOLLOWUP_MISSED: Final = "follow-up-missed"
    LOST: Final = "lost-to-follow-up"
    DISCHARGE_SAFETY: Final = "discharge-safety-review"
    LEVEL_REVIEW: Final = "level-of-care-review"
    DEATH_REVIEW: Final = "death-review"
    READMISSION: Final = "readmission-review"
    AMA: Final = "ama-outreach"
    CRISIS: Final = "crisis-evaluation"
    SAFETY_PLAN: Final = "safety-plan"
    SI_SCREEN: Final = "suicide-risk-screen"
    SUD: Final = "sud-assessment"
    CONTRA: Final = "contraindication-review"
    WITHDRAWAL: Final = "withdrawal-management-review"
    NO_SHOW: Final = "no-show-outreach"
    ENGAGEMENT: Final = "engagement-review"
    INTENSITY: Final = "intensity-review"
    DISCHARGE_REVIEW: Final = "discharge-review"
    RECERT: Final = "recertification"
    STALLED: Final = "referral-stalled"
    REFERRAL_FAILED: Final = "referral-failed"
    RECORD_CORRECTION: Final = "record-correction-review"


#: Codes whose new trigger merges into the open Task (rules.md §5).
SAFETY_CODES: Final = frozenset(
    {
        CareTask.CRISIS,
        CareTask.DISCHARGE_SAFETY,
        CareTask.SAFETY_PLAN,
        CareTask.SI_SCREEN,
        CareTask.CONTRA,
        CareTask.WITHDRAWAL,
    }
)

#: Tasks bound to the level held: closed when the level changes or the program ends (§3).
LEVEL_BOUND: Final = frozenset({CareTask.RECERT, CareTask.INTENSITY, CareTask.DISCHARGE_REVIEW})


class Status:
    """Task statuses (R4 task-status) and ServiceRequest statuses."""

    REQUESTED: Final = "requested"
    ACCEPTED: Final = "accepted"
    REJECTED: Final = "rejected"
    IN_PROGRESS: Final = "in-progress"
    ON_HOLD: Final = "on-hold"
    COMPLETED: Final = "completed"
    FAILED: Final = "failed"
    CANCELLED: Final = "cancelled"
    ENTERED_IN_ERROR: Final = "entered-in-error"
    # ServiceRequest
    ACTIVE: Final = "active"
    REVOKED: Final = "revoked"


#: Task statuses that end a Task (rules.md §6).
TERMINAL: Final = frozenset(
    {Status.REJECTED, Status.CANCELLED, Status.COMPLETED, Status.FAILED, Status.ENTERED_IN_ERROR}
)


class Priority:
    """Request priorities, lowest first; ``RANK`` orders them."""

    ROUTINE: Final = "routine"
    URGENT: Final = "urgent"
    ASAP: Final = "asap"
    STAT: Final = "stat"


PRIORITY_RANK: Final = {Priority.ROUTINE: 0, Priority.URGENT: 1, Priority.ASAP: 2, Priority.STAT: 3}


class Business:
    """``Task.businessStatus.text`` values (contract §5)."""

    OVERDUE: Final = "overdue"
    NEW_TRIGGER: Final = "new trigger"
    SOURCE_CORRECTED: Final = "source corrected"


STEP_UP: Final = "step-up"
STEP_DOWN: Final = "step-down"
