"""L-RETRACTED (rules.md §6, §7): an assessment or condition the pipeline applied is
``entered-in-error``, or a later version of an assessment changes its value.

The resource leaves the state; every open output whose trigger was it (a Task's ``focus``,
a ServiceRequest's first ``reasonReference``) is withdrawn: a ``requested`` Task →
``cancelled``, an active ServiceRequest → ``revoked``, while a Task a person already works
(``accepted``, ``in-progress``, ``on-hold``) stays and gets ``businessStatus`` source
corrected. A referral closed this way frees ``pending`` and fires no C-REFERRAL-FAILED;
evidence read from history (a lookback) is not re-decided.

Rationale: a decision must not stand on a value the source has withdrawn, but work a
person has started is theirs to stop. Source: rules.md §6; FHIR Observation.status
entered-in-error / corrected.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.codes import Business, CareTask, Status
from pipeline.rules.context import Ctx

IN_ERROR = "source entered in error"
CORRECTED = "source corrected"


def holds(ctx: Ctx, ref: str) -> bool:
    """Whether the state holds this assessment or condition."""
    s = ctx.s
    return any(o.ref == ref for o in s.obs) or any(c.ref == ref for c in s.contras)


def retract(ctx: Ctx, ref: str, when: datetime, reason: str) -> None:
    """Remove ``ref`` from the state and withdraw the outputs it triggered."""
    s = ctx.s
    s.obs = tuple(o for o in s.obs if o.ref != ref)
    s.contras = tuple(c for c in s.contras if c.ref != ref)
    withdraw(ctx, ref, when, reason)


def withdraw(ctx: Ctx, ref: str, when: datetime, reason: str) -> None:
    s = ctx.s
    p = s.pending
    if p is not None and p.reasons and p.reasons[0] == ref:
        task = s.tasks.get(p.task_id)
        if task is None or task.status == Status.REQUESTED:
            ctx.close_pending(False, when, reason)
        elif task.business_status != Business.SOURCE_CORRECTED:
            ctx.republish(task, when, business_status=Business.SOURCE_CORRECTED)
    for task in list(s.tasks.values()):
        if task.code == CareTask.FULFILL or task.focus != ref:
            continue
        if task.status == Status.REQUESTED:
            ctx.set_status(task, Status.CANCELLED, when, reason)
        elif task.business_status != Business.SOURCE_CORRECTED:
            ctx.republish(task, when, business_status=Business.SOURCE_CORRECTED)
