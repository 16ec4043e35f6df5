"""Stays and deaths (rules.md §2, §3, §5, §6): admissions, ED visits, medical-stay
suspension, C-READMIT, C-ED-FOLLOWUP, C-ED-REVIEW, C-DEATH-REVIEW, L-DECEASED and its
reversal. Discharges are in ``discharge``.

One admission and one discharge (and one ED visit) per Encounter id: a re-sent or reopened
Encounter applies nothing again (``stays`` keeps the Encounter hashes with flags).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.bounds import DISPLAY_CHARS, clip
from pipeline.clock import local_date, plus_days
from pipeline.codes import CareTask, Priority, Status
from pipeline.describe import lv
from pipeline.events import EdVisited, PatientAdmitted, PatientDied, PatientRecorded, Retracted
from pipeline.levels import Level
from pipeline.rules.attendance import met_before
from pipeline.rules.context import Ctx
from pipeline.rules.placement import admit, arm_inactive
from pipeline.rules.signals import OUTPATIENT_LEVELS
from pipeline.state import ADMITTED, BH, ED, digest

#: Stay identities kept (newest last): enough for years of stays of one patient.
STAYS_KEPT = 64


def mark_stay(ctx: Ctx, ref: str | None, flags: int) -> None:
    if ref is None:
        return
    key = digest(ref)
    s = ctx.s
    old = s.stay_flags(key)
    kept = tuple(x for x in s.stays if x[0] != key)
    s.stays = (*kept, (key, old | flags))[-STAYS_KEPT:]


def stay_flags(ctx: Ctx, ref: str | None) -> int:
    return ctx.s.stay_flags(digest(ref)) if ref is not None else 0


def on_admitted(ctx: Ctx, ev: PatientAdmitted) -> str | None:
    """An admission: in scope → the §3 admission effects and C-READMIT; out of scope →
    nothing but the medical-stay suspension of a patient who holds a level. Returns the
    reason when it is ignored."""
    flags = stay_flags(ctx, ev.ref)
    if flags & ADMITTED:
        return f"{ev.ref}: admission already applied (one admission per Encounter)"
    mark_stay(ctx, ev.ref, ADMITTED | (BH if ev.bh else 0))
    if not ev.bh:
        begin_medical(ctx, ev.time)
        return f"{ev.ref or 'Encounter'}: {ev.scope}"
    readmission(ctx, ev.time, ev.event_id, ev.ref)
    admit(ctx, ev.time)
    return None


def begin_medical(ctx: Ctx, when: datetime) -> None:
    """Medical stays (rules.md §2): an out-of-scope stay of a patient who holds a level
    suspends C-NO-SHOW, C-DISENGAGED, C-INACTIVE, C-OP-INACTIVE, C-LOW-HOURS and
    C-HIGH-HOURS from its admission to its discharge.

    Rationale: a patient on a medical ward cannot attend the program; flagging absences
    then would flood the worklist with false disengagement. Source: rules.md §2.
    """
    s = ctx.s
    if s.level is None or s.level is Level.INPATIENT:
        return
    s.medical = (when, None)
    arm_inactive(ctx)


def end_medical(ctx: Ctx, when: datetime) -> None:
    """The medical stay ends: the inactivity clocks restart at its discharge."""
    s = ctx.s
    if s.medical is not None and s.medical[1] is None:
        s.medical = (s.medical[0], when)
        s.no_shows = ()
        arm_inactive(ctx)


def readmission(ctx: Ctx, when: datetime, trigger: str, focus: str | None) -> bool:
    """C-READMIT: an in-scope admission within ``transition.readmit_days`` of the previous
    in-scope discharge to the community (local dates: admission date − discharge date ≤
    readmit_days) → an urgent ``readmission-review`` Task. Returns whether it is a
    readmission (T-DISCHARGE raises its step-down target at the next discharge).

    Rationale: a readmission within 30 days is a quality signal that the discharge plan
    did not hold; a loop of admissions must be reviewed, not met with the same routine
    referral each time. Source: reference/clinical-rules.md §7 (30-day readmission window,
    NCQA FAQ), rules.md §5, §7.
    """
    last = ctx.s.last_discharge
    if last is None or not is_readmission(ctx, when):
        return False
    gap = (local_date(when, ctx.tz) - local_date(last, ctx.tz)).days
    text = (
        f"Admitted on {ctx.day(when)}, {gap} days after the discharge on {ctx.day(last)}; "
        f"review why the discharge plan did not hold."
    )
    ctx.new_task("C-READMIT", CareTask.READMISSION, trigger, when, Priority.URGENT, text, focus)
    return True


def is_readmission(ctx: Ctx, admitted: datetime) -> bool:
    last = ctx.s.last_discharge
    if last is None or admitted < last:
        return False
    gap = (local_date(admitted, ctx.tz) - local_date(last, ctx.tz)).days
    return gap <= ctx.cfg.transition.readmit_days


def on_ed_visit(ctx: Ctx, ev: EdVisited) -> str | None:
    """An ED or observation visit: changes no level and opens no readmission window (§7).
    In scope: C-ED-FOLLOWUP and, at an outpatient level, C-ED-REVIEW."""
    if stay_flags(ctx, ev.ref) & ED:
        return f"{ev.ref}: ED visit already applied (one per Encounter)"
    mark_stay(ctx, ev.ref, ED | (BH if ev.bh else 0))
    if not ev.bh:
        return f"{ev.ref or 'Encounter'}: {ev.scope}"
    ed_review(ctx, ev)
    ed_followup(ctx, ev)
    ctx.s.bh_contact = max(ev.time, ctx.s.bh_contact or ev.time)
    return None


def ed_followup(ctx: Ctx, ev: EdVisited) -> None:
    """C-ED-FOLLOWUP: an in-scope ED visit → an urgent ``follow-up-ed-7d`` Task due at the
    end of the 7th local day after the visit date; a BH session on day 0–7 meets it
    (L-FOLLOWUP-MET), a later in-scope admission cancels it (L-READMITTED).

    Rationale: HEDIS FUM measures follow-up within 7 days of an ED visit for mental illness
    or intentional self-harm; the visit date itself counts. Source:
    reference/clinical-rules.md §7 (FUM), rules.md §5.
    """
    days = ctx.cfg.followup.window_days
    due = ctx.end_of_day(ev.time, days)
    last_day = ctx.day(ctx.end_of_day(ev.time, days - 1))
    text = (
        f"Seen in the emergency department on {ctx.day(ev.time)} for a behavioral-health "
        f"reason; confirm a follow-up visit by the end of {last_day}."
    )
    task = ctx.new_task("C-ED-FOLLOWUP", CareTask.FOLLOWUP_ED_7D, ev.event_id, ev.time,
                        Priority.URGENT, text, ev.ref, due)  # fmt: skip
    if task is not None:
        s = ctx.s
        s.followup_from, s.followup_ed = ev.time, True
        s.lost_due = ctx.end_of_day(ev.time, ctx.cfg.followup.lost_days)
        met_before(ctx, task, ev.time, 0)


def ed_review(ctx: Ctx, ev: EdVisited) -> None:
    """C-ED-REVIEW: an in-scope ED visit while the effective level is OP, IOP or PHP → an
    urgent ``level-of-care-review`` Task.

    Rationale: an ED visit for self-harm during IOP is a level-of-care question: the
    current program did not contain the crisis. Source: rules.md §5.
    """
    level = ctx.s.effective_level()
    if level not in OUTPATIENT_LEVELS:
        return
    text = (
        f"Seen in the emergency department on {ctx.day(ev.time)} for a behavioral-health "
        f"reason while at {lv(level)}; review the level of care."
    )
    ctx.new_task("C-ED-REVIEW", CareTask.LEVEL_REVIEW, ev.event_id, ev.time, Priority.URGENT,
                 text, ev.ref)  # fmt: skip


def on_death(ctx: Ctx, ev: PatientDied, when: datetime) -> None:
    """A ``death`` event at ``when``: C-DEATH-REVIEW, then L-DECEASED."""
    death_review(ctx, ev.event_id, when, ev.ref)
    deceased(ctx, when, ev.ref)


def death_review(ctx: Ctx, trigger: str, when: datetime, focus: str | None) -> None:
    """C-DEATH-REVIEW: a death within 30 days after an in-scope discharge or program exit,
    or while holding a level → an urgent ``death-review`` Task (the only output after a
    death).

    Rationale: a suicide within 72 hours of discharge is a sentinel event; every death in
    or just after BH care is reviewed. Source: rules.md §5; reference/clinical-rules.md §5.
    """
    s = ctx.s
    recent = s.left_care is not None and s.left_care <= when <= plus_days(
        s.left_care, ctx.cfg.scope.bh_care_days, ctx.tz
    )
    if s.level is None and not recent:
        return
    where = f"while at {lv(s.level)}" if s.level is not None else (
        f"within {ctx.cfg.scope.bh_care_days} days of leaving behavioral-health care"
    )  # fmt: skip
    text = f"Died on {ctx.day(when)} {where}; review the death."
    ctx.new_task("C-DEATH-REVIEW", CareTask.DEATH_REVIEW, trigger, when, Priority.URGENT, text,
                 focus)  # fmt: skip


def deceased(ctx: Ctx, when: datetime, ref: str | None) -> None:
    """L-DECEASED: every open Task → cancelled (the death review aside), every active
    ServiceRequest → revoked (reason: deceased on DATE); the patient is marked deceased
    and every rule is silent.

    Rationale: open work for a patient who died must leave every worklist and referral
    queue at once. Source: rules.md §6; reference/clinical-rules.md §5 (end-of-treatment
    reason "Died").
    """
    s = ctx.s
    reason = f"deceased on {ctx.day(when)}"
    ctx.close_pending(False, when, reason)
    for task in list(s.tasks.values()):
        if task.code != CareTask.DEATH_REVIEW:
            ctx.set_status(task, Status.CANCELLED, when, reason)
    s.deceased = True
    s.death_ref = ref
    s.inactive_due = s.week_due = s.lost_due = None


def reverse_death(ctx: Ctx, trigger: str, when: datetime, focus: str | None) -> None:
    """L-DECEASED reversal: the Patient that declared the death, sent again without
    ``deceased[x]``, or the death Encounter ``entered-in-error`` → no longer deceased;
    nothing cancelled is restored; an urgent ``record-correction-review`` Task asks the
    team to re-establish care.

    Rationale: a death recorded in error closed all open care; a person must decide what
    to re-open rather than the pipeline resurrecting stale referrals. Source: rules.md §6."""
    s = ctx.s
    s.deceased = False
    s.death_ref = None
    text = (
        f"A death recorded for this patient was corrected on {ctx.day(when)}; the Tasks and "
        f"referrals cancelled at the death were not restored: re-establish care."
    )
    ctx.new_task("L-DECEASED", CareTask.RECORD_CORRECTION, trigger, when, Priority.URGENT, text,
                 focus)  # fmt: skip


def on_patient(ctx: Ctx, ev: PatientRecorded, when: datetime) -> str | None:
    """A Patient: keeps the display name and the female flag (C-SUD); a version without
    ``deceased[x]`` of the Patient that declared a death reverses it."""
    s = ctx.s
    if ev.display:
        s.display = clip(ev.display, DISPLAY_CHARS)
    s.female = ev.female
    if s.deceased and not ev.deceased and s.death_ref is not None and s.death_ref == ev.ref:
        reverse_death(ctx, ev.event_id, when, ev.ref)
        return None
    return None


def death_retracted(ctx: Ctx, ev: Retracted, when: datetime) -> bool:
    """The death Encounter marked entered-in-error: reverse the death."""
    s = ctx.s
    if s.deceased and ev.ref is not None and ev.ref == s.death_ref:
        reverse_death(ctx, ev.event_id, when, ev.ref)
        return True
    return False
