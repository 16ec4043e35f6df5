"""Discharge rules: T-DISCHARGE (with the readmission raise), C-FOLLOWUP, C-AMA,
C-DISCHARGE-RISK, and L-DECEASED for an ``expired`` discharge (rules.md §3–§6).

An in-scope discharge first applies the admission effects when the patient was not known
to be inpatient (a discharge proves a stay), then sets the level to none.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.codes import STEP_DOWN, CareTask, Priority
from pipeline.describe import lv
from pipeline.events import Disposition, PatientDischarged, Risk
from pipeline.levels import Level
from pipeline.rules import stays
from pipeline.rules.attendance import met_before
from pipeline.rules.context import Ctx
from pipeline.rules.placement import admit, set_level
from pipeline.rules.signals import CSSRS, ITEM9, PHQ9, active_contras, latest, signal_source
from pipeline.state import ADMITTED, BH, DISCHARGED

#: One step more intensive for a readmission (never above PHP).
RAISE = {Level.OP: Level.IOP, Level.IOP: Level.PHP, Level.PHP: Level.PHP}


def on_discharge(ctx: Ctx, ev: PatientDischarged) -> str | None:
    """A discharge; returns the reason when it is ignored (re-sent, out of scope)."""
    flags = stays.stay_flags(ctx, ev.ref)
    if flags & DISCHARGED:
        return f"{ev.ref}: discharge already applied (one discharge per Encounter)"
    bh = ev.bh or bool(flags & ADMITTED and flags & BH)
    stays.mark_stay(ctx, ev.ref, DISCHARGED | (BH if bh else 0))
    if not bh:
        stays.end_medical(ctx, ev.time)
        if ev.disposition is Disposition.EXPIRED:
            stays.deceased(ctx, ev.time, ev.ref)
            return None
        return f"{ev.ref or 'Encounter'}: {ev.scope}"
    if ev.disposition is Disposition.EXPIRED:  # a death in hospital: no C-DEATH-REVIEW
        stays.deceased(ctx, ev.time, ev.ref)
        return None
    s = ctx.s
    stays.end_medical(ctx, ev.time)  # an in-scope discharge of a stay admitted as medical
    if s.level is not Level.INPATIENT:
        stays.readmission(ctx, ev.time, ev.event_id, ev.ref)
        admit(ctx, ev.time)
    began = s.stay_start or ev.time
    set_level(ctx, None, ev.time)
    s.stay_start = None
    s.bh_contact = max(ev.time, s.bh_contact or ev.time)  # in BH care 30 days (§2)
    s.left_care = max(ev.time, s.left_care or ev.time)  # C-DEATH-REVIEW window
    if ev.disposition is Disposition.TRANSFER:
        return None
    raised = stays.is_readmission(ctx, began)
    step_down(ctx, ev, raised)
    followup(ctx, ev.time, ev.event_id, ev.ref, "C-FOLLOWUP", "Discharged to the community")
    if ev.disposition is Disposition.AGAINST_ADVICE:
        against_advice(ctx, ev)
    s.last_discharge = ev.time  # a transfer out opens no readmission window (§7)
    return None


def step_down(ctx: Ctx, ev: PatientDischarged, raised: bool) -> None:
    """T-DISCHARGE: an in-scope discharge to the community refers down by the assessments
    of the ``lookback_days`` before it and the active contraindications, first match:
    C-SSRS high → PHP (stat; C-DISCHARGE-RISK fires too); PHQ-9 ≥ 20, C-SSRS moderate, an
    unresolved PHQ-9 item 9 ≥ 1, or an active contraindication → PHP; PHQ-9 10–19 or no
    PHQ-9 → IOP; PHQ-9 < 10 → OP. A stay that began within ``readmit_days`` of the previous
    in-scope discharge raises the target one level (OP→IOP→PHP, never above PHP).
    Priority: stat with C-SSRS high; urgent when the target is PHP or was raised; else
    routine.

    Rationale: PHQ-9 20–27 is severe depression; a moderate or high suicide risk, a
    positive item 9 not yet answered by a C-SSRS, psychosis or withdrawal all contraindicate
    a low-intensity step-down; a readmission loop shows the last plan was too light.
    Choices: the latest PHQ-9, the latest C-SSRS and the latest item 9 of the lookback are
    read (a later C-SSRS low overrides an earlier high; a C-SSRS at or after the item 9
    answers it). Source: reference/clinical-rules.md §4a (Kroenke 2001), §4b, §4c (C-SSRS
    triage), §3b (42 CFR 410.43), §6, §7 (readmission), §8 rules 3, 4, 6, 27.
    """
    t = ctx.cfg.transition
    start = ctx.plus_days(ev.time, -t.lookback_days)
    phq = latest(ctx, PHQ9, start, ev.time)
    risk = latest(ctx, CSSRS, start, ev.time)
    target, basis, used = _target(ctx, ev, start, phq, risk)
    priority = Priority.STAT if basis.startswith("C-SSRS risk high") else Priority.ROUTINE
    if raised and target is not Level.PHP:
        target = RAISE[target]
        basis += f"; readmitted within {t.readmit_days} days of the last discharge"
    if priority != Priority.STAT and (raised or target is Level.PHP):
        priority = Priority.URGENT
    text = (
        f"Refer to {lv(target)}: discharged on {ctx.day(ev.time)} with {basis} in the "
        f"{t.lookback_days} days before."
    )
    reasons = tuple(r for r in (ev.ref, used) if r is not None)
    ctx.refer("T-DISCHARGE", ev.event_id, ev.time, target, STEP_DOWN, priority, text, reasons)
    if priority == Priority.STAT and risk is not None:
        discharge_risk(ctx, ev, risk.time)


def _target(
    ctx: Ctx, ev: PatientDischarged, start: datetime, phq: object, risk: object
) -> tuple[Level, str, str | None]:
    """The T-DISCHARGE target, the words naming why, and the deciding resource."""
    from pipeline.state import Obs

    t = ctx.cfg.transition
    p = phq if isinstance(phq, Obs) else None
    r = risk if isinstance(risk, Obs) else None
    if r is not None and r.value >= Risk.HIGH:
        return Level.PHP, f"C-SSRS risk high on {ctx.day(r.time)}", r.ref
    if p is not None and p.value >= t.php_phq9_min:
        return Level.PHP, f"PHQ-9 {p.value} on {ctx.day(p.time)} (≥ {t.php_phq9_min})", p.ref
    if r is not None and r.value == Risk.MODERATE:
        return Level.PHP, f"C-SSRS risk moderate on {ctx.day(r.time)}", r.ref
    sig = signal_source(ctx, ev.time, start)
    if sig is not None and sig.inst == ITEM9:
        return (
            Level.PHP,
            f"PHQ-9 item 9 of {sig.value} on {ctx.day(sig.time)} not yet followed by a C-SSRS",
            sig.ref,
        )
    contras = active_contras(ctx, ev.time)
    if contras:
        c = contras[0]
        return (
            Level.PHP,
            f"an active {c.kind.value} contraindication since {ctx.day(c.onset)}",
            c.ref,
        )
    if p is None:
        return Level.IOP, "no PHQ-9", None
    on = f"PHQ-9 {p.value} on {ctx.day(p.time)}"
    if p.value >= t.iop_phq9_min:
        return Level.IOP, f"{on} ({t.iop_phq9_min}–{t.php_phq9_min - 1})", p.ref
    return Level.OP, f"{on} (< {t.iop_phq9_min})", p.ref


def discharge_risk(ctx: Ctx, ev: PatientDischarged, risk_time: datetime) -> None:
    """C-DISCHARGE-RISK: T-DISCHARGE with C-SSRS high → a stat ``discharge-safety-review``
    Task (its own code: an open ``crisis-evaluation`` does not block it).

    Rationale: a patient leaving with high suicide risk needs a same-day safety review of
    the discharge itself; the PHP referral alone is not a safety plan. Source: rules.md §5;
    reference/clinical-rules.md §4c, §8 rule 1.
    """
    text = (
        f"Discharged on {ctx.day(ev.time)} with C-SSRS risk high on {ctx.day(risk_time)}; "
        f"review the discharge for safety now."
    )
    ctx.new_task("C-DISCHARGE-RISK", CareTask.DISCHARGE_SAFETY, ev.event_id, ev.time,
                 Priority.STAT, text, ev.ref)  # fmt: skip


def followup(
    ctx: Ctx, when: datetime, trigger: str, focus: str | None, rule: str, what: str
) -> None:
    """C-FOLLOWUP: an in-scope discharge to the community, or a finished PHP/IOP program
    exit, opens an urgent ``follow-up-7d`` Task due at the end of the 7th local day after
    the date; the follow-up path (C-FOLLOWUP-MISSED, L-FOLLOWUP-LATE, C-FOLLOWUP-LOST at the
    end of day 30) starts. A BH session already recorded in the window meets it at once.

    Rationale: follow-up within 7 days of a psychiatric discharge lowers readmission and
    suicide risk (HEDIS FUH; a visit on the discharge date does not count); HEDIS keeps a
    30-day fallback. Source: reference/clinical-rules.md §7 (HEDIS FUH), §3d, §8 rules 22, 27.
    """
    days = ctx.cfg.followup.window_days
    due = ctx.end_of_day(when, days)
    text = (
        f"{what} on {ctx.day(when)}; confirm a follow-up visit by the end of "
        f"{ctx.day(ctx.end_of_day(when, days - 1))}."
    )
    task = ctx.new_task(rule, CareTask.FOLLOWUP_7D, trigger, when, Priority.URGENT, text, focus,
                        due)  # fmt: skip
    if task is None:
        return
    s = ctx.s
    s.followup_from, s.followup_ed = when, False
    s.lost_due = ctx.end_of_day(when, ctx.cfg.followup.lost_days)
    met_before(ctx, task, when, 1)


def against_advice(ctx: Ctx, ev: PatientDischarged) -> None:
    """C-AMA: a discharge with disposition ``aadvice`` (left against medical advice) opens
    an urgent ``ama-outreach`` Task due in one day, on top of the usual follow-up clocks.

    Rationale: a patient who leaves against advice left before discharge planning was done
    and is at higher risk of disengaging. Source: reference/clinical-rules.md §5 (UB-04
    discharge status 07), §8 rule 21.
    """
    text = f"Left against medical advice on {ctx.day(ev.time)}; reach the patient within a day."
    ctx.new_task("C-AMA", CareTask.AMA, ev.event_id, ev.time, Priority.URGENT, text, ev.ref)
