"""Discharge rules: T-DISCHARGE, C-FOLLOWUP, C-AMA, L-DECEASED, and C-CRISIS at discharge.

A discharge first applies the admission effects when the patient was not known to be
inpatient (a discharge proves a stay), then sets the level to none (rules.md §2).
"""

from __future__ import annotations

from datetime import timedelta

from pipeline import describe
from pipeline.clock import DAY, day_start
from pipeline.events import Disposition, PatientDischarged, Risk
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.rules.placement import admit, set_level
from pipeline.state import Obs


def on_discharge(ctx: Ctx, ev: PatientDischarged) -> None:
    if ctx.s.level is not Level.INPATIENT:
        admit(ctx, ev.time)
    set_level(ctx, None, ev.time)
    if ev.disposition is Disposition.EXPIRED:
        deceased(ctx, ev)
    elif ev.disposition is not Disposition.TRANSFER:
        step_down(ctx, ev)
        followup(ctx, ev)
        if ev.disposition is Disposition.AGAINST_ADVICE:
            against_advice(ctx, ev)


def latest(items: tuple[Obs, ...], start: object, end: object) -> Obs | None:
    """The latest observation with start ≤ time ≤ end."""
    for o in reversed(items):
        if start <= o.time <= end:  # type: ignore[operator]
            return o
    return None


def step_down(ctx: Ctx, ev: PatientDischarged) -> None:
    """T-DISCHARGE: on a discharge to the community, refer down by the latest PHQ-9 and
    C-SSRS of the ``lookback_days`` before discharge: C-SSRS high → no referral, C-CRISIS
    instead; PHQ-9 ≥ 20 or C-SSRS moderate → PHP (urgent); PHQ-9 10–19 or none → IOP;
    PHQ-9 < 10 → OP (routine).

    Rationale: PHQ-9 20–27 is severe depression needing prompt treatment, and PHP is given
    in place of continued inpatient care; 10–19 warrants active treatment (IOP); a high
    C-SSRS risk contraindicates any step-down. Choice: "the assessments of the last 30 days"
    means the latest value of each instrument in [discharge − 30 d, discharge].
    Source: reference/clinical-rules.md §4a (Kroenke 2001 PHQ-9 bands), §4c (C-SSRS triage),
    §3b (42 CFR 410.43 PHP eligibility, https://law.lawstack.com/cfr/42/410.43/), §6, §8 rule 27.
    """
    t = ctx.cfg.transition
    start = ev.time - timedelta(days=t.lookback_days)
    phq = latest(ctx.s.phq9, start, ev.time)
    risk = latest(ctx.s.cssrs, start, ev.time)
    if risk is not None and risk.value >= Risk.HIGH:
        crisis_at_discharge(ctx, ev, risk)
        return
    target, basis, used = step_down_target(ctx, phq, risk)
    priority = "urgent" if target is Level.PHP else "routine"
    text = describe.discharge_referral(ev.time, basis, t.lookback_days, target)
    reasons = tuple(r for r in (ev.ref, used.ref if used else None) if r is not None)
    ctx.refer("T-DISCHARGE", ev.event_id, ev.time, target, "step-down", priority, text, reasons)


def step_down_target(ctx: Ctx, phq: Obs | None, risk: Obs | None) -> tuple[Level, str, Obs | None]:
    """The T-DISCHARGE target, the words naming why, and the assessment that decided."""
    t = ctx.cfg.transition
    if phq is not None and phq.value >= t.php_phq9_min:
        return Level.PHP, f"PHQ-9 {phq.value} on {describe.day(phq.time)} (≥ {t.php_phq9_min})", phq
    if risk is not None and risk.value == Risk.MODERATE:
        return Level.PHP, f"C-SSRS risk moderate on {describe.day(risk.time)}", risk
    if phq is None:
        return Level.IOP, "no PHQ-9", None
    on = f"PHQ-9 {phq.value} on {describe.day(phq.time)}"
    if phq.value >= t.iop_phq9_min:
        return Level.IOP, f"{on} ({t.iop_phq9_min}–{t.php_phq9_min - 1})", phq
    return Level.OP, f"{on} (< {t.iop_phq9_min})", phq


def crisis_at_discharge(ctx: Ctx, ev: PatientDischarged, risk: Obs) -> None:
    """C-CRISIS at discharge: a discharge to the community with C-SSRS ``high`` as the
    latest risk level in the lookback makes no referral; a ``crisis-evaluation`` Task
    (stat) opens instead, unless one is still open.

    Rationale: a high suicide risk rules out a routine step-down; the patient needs a
    same-day behavioral-health evaluation with safety precautions.
    Choice: rules.md says "C-CRISIS fires" here; it fires at the discharge (trigger = the
    discharge event), because a crisis Task completed during the stay does not cover the
    patient leaving with high risk. Source: reference/clinical-rules.md §4c (high risk →
    BH consultation + safety precautions), §8 rule 1 ("do not auto-discharge").
    """
    text = describe.crisis(risk, ev.time)
    ctx.new_task("C-CRISIS", "crisis-evaluation", ev.event_id, ev.time, "stat", text, ev.ref)


def followup(ctx: Ctx, ev: PatientDischarged) -> None:
    """C-FOLLOWUP: a discharge to the community opens an urgent ``follow-up-7d`` Task due
    at the end of the 7th day after the discharge date (00:00 UTC of date + 8 days); a
    visit on the discharge date itself does not count (see L-FOLLOWUP-MET).

    Choice: when the discharge arrives late, after a session already recorded in the
    window, the Task is completed at once (L-FOLLOWUP-MET with the session's time).

    Rationale: follow-up within 7 days of a psychiatric discharge lowers readmission and
    suicide risk and is the HEDIS FUH measure; reviewers ask for the appointment.

    Source: reference/clinical-rules.md §7 (HEDIS FUH 7-day window, "a visit on the
    discharge date does not count", https://bcbsnd.com/providers/programs/bluealliance-and-bluealliance-care-plus/hedis-tip-sheets/hedis-tip-sheet-search/fuh),
    §3d (Evernorth asks for a 7-day follow-up appointment), §8 rule 22.
    """
    days = ctx.cfg.followup.window_days
    due = day_start(ev.time) + timedelta(days=days + 1)
    text = describe.followup(ev.time, due - DAY)
    task = ctx.new_task("C-FOLLOWUP", "follow-up-7d", ev.event_id, ev.time, "urgent", text,
                        ev.ref, due)  # fmt: skip
    seen = ctx.s.last_attended
    if task is not None and seen is not None and due - timedelta(days=days) <= seen < due:
        ctx.set_status(task, "completed", seen, f"follow-up visit attended on {describe.day(seen)}")


def against_advice(ctx: Ctx, ev: PatientDischarged) -> None:
    """C-AMA: a discharge with disposition ``aadvice`` (left against medical advice) opens
    an urgent ``ama-outreach`` Task due in one day, on top of the usual follow-up clocks.

    Rationale: a patient who leaves against advice left before discharge planning was
    done and is at higher risk of disengaging; HEDIS counts the discharge all the same.

    Source: reference/clinical-rules.md §5 (UB-04 discharge status 07, left against medical
    advice), §8 rule 21 ("start the same follow-up clocks ... plus an urgent outreach task").
    """
    text = describe.ama(ev.time)
    ctx.new_task("C-AMA", "ama-outreach", ev.event_id, ev.time, "urgent", text, ev.ref)


def deceased(ctx: Ctx, ev: PatientDischarged) -> None:
    """L-DECEASED: discharge disposition ``exp``: the pending referral is cancelled and
    revoked, every other open Task cancelled, and the patient marked deceased; nothing is
    emitted for the patient afterwards and no deadline fires.

    Rationale: open work for a patient who died must leave every worklist and referral
    queue at once; nothing further is clinically meaningful.

    Source: rules.md §5; reference/clinical-rules.md §5 (end-of-treatment reason "Died",
    Colorado BHA, https://build.fhir.org/ig/CoBHA/CoBHRM-FHIR-IG/en/CodeSystem-bha-end-of-treatment-reason-cs.html).
    """
    reason = f"patient died on {describe.day(ev.time)}"
    ctx.close_pending(False, ev.time, reason)
    for task in list(ctx.s.tasks.values()):
        ctx.set_status(task, "cancelled", ev.time, reason)
    ctx.s.deceased = True
    ctx.s.inactive_due = None
