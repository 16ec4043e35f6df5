"""Assessments: keeping the values later rules read, and the screening Tasks C-CRISIS,
C-SAFETY, C-SI-SCREEN and C-SUD (rules.md §5), which fire only for a patient in BH care
(§2: universal screening in an ED or primary care, or during an inpatient stay, is only
recorded — for the discharge lookback and the safety signal).
"""

from __future__ import annotations

from datetime import timedelta

from pipeline.clock import plus_days
from pipeline.codes import CareTask, Priority
from pipeline.events import AssessmentRecorded, Contra, Instrument, Risk
from pipeline.rules.context import Ctx
from pipeline.rules.signals import contra_active, in_bh_care
from pipeline.state import Obs

#: Inside every allowed ``history.retention_days`` (≥ 31 local days) even across DST.
_QUICK = timedelta(days=29)
#: At most this many assessments kept (retention aside): the rules read the latest ones.
OBS_KEPT = 64


def record(ctx: Ctx, ev: AssessmentRecorded) -> Obs:
    """Keep the assessment in time order (after equal times); drop what is older than
    ``history.retention_days`` before the latest event, and beyond ``OBS_KEPT``."""
    s = ctx.s
    obs = Obs(ev.time, ev.value, ev.ref, ev.instrument.value, ev.version)
    items = s.obs
    i = len(items)
    while i and items[i - 1].time > obs.time:
        i -= 1
    new = (*items, obs) if i == len(items) else (*items[:i], obs, *items[i:])
    if new[0].time < s.last_event - _QUICK:  # else well inside the window
        horizon = plus_days(s.last_event, -ctx.cfg.history.retention_days, ctx.tz)
        new = tuple(o for o in new if o.time >= horizon)
    s.obs = new[-OBS_KEPT:]
    return obs


def screen(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """The screening Tasks, for a patient in BH care at the assessment's time."""
    if not in_bh_care(ctx, ev.time):
        return
    inst, sc = ev.instrument, ctx.cfg.screening
    if inst is Instrument.CSSRS and obs.value >= Risk.HIGH:
        crisis(ctx, ev, obs)
    elif inst is Instrument.CSSRS and obs.value == Risk.MODERATE:
        safety_plan(ctx, ev, obs)
    elif inst is Instrument.PHQ9_ITEM9 and obs.value >= sc.si_item9_min:
        si_screen(ctx, ev, obs)
    elif inst is Instrument.AUDITC:
        sud(ctx, ev, obs)


def crisis(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-CRISIS: C-SSRS risk ``high`` for a patient in BH care → a stat
    ``crisis-evaluation`` Task due in 4 hours; merged into an open one (a repeat high
    screen re-surfaces the crisis Task instead of revoking a referral, rules.md §4).

    Rationale: C-SSRS high (intent, plan, or recent suicidal behavior) is the screener's
    top triage point, calling for immediate consultation. Source:
    reference/clinical-rules.md §4c (C-SSRS screener triage,
    https://www.cms.gov/files/document/cssrs-screen-version-instrument.pdf), §8 rule 1.
    """
    text = f"C-SSRS risk high on {ctx.day(obs.time)}; evaluate for crisis now."
    ctx.new_task("C-CRISIS", CareTask.CRISIS, ev.event_id, ev.time, Priority.STAT, text, ev.ref)


def safety_plan(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SAFETY: C-SSRS risk ``moderate`` → an urgent ``safety-plan`` Task due in one day.

    Rationale: moderate risk (method without intent, or lifetime-only behavior) calls for a
    behavioral-health referral and a safety plan, not an emergency response. Completing
    the Task answers the signal (L-SCREEN-DONE). Source: reference/clinical-rules.md §4c,
    §8 rule 2.
    """
    text = f"C-SSRS risk moderate on {ctx.day(obs.time)}; complete a safety plan."
    ctx.new_task("C-SAFETY", CareTask.SAFETY_PLAN, ev.event_id, ev.time, Priority.URGENT, text,
                 ev.ref)  # fmt: skip


def si_screen(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SI-SCREEN: PHQ-9 item 9 (thoughts of self-harm) ≥ 1 → an urgent
    ``suicide-risk-screen`` Task due at the end of the local day: the screen is same-day.

    Rationale: any positive item 9 needs a structured suicide-risk assessment the same day;
    until then it is a safety signal that holds every step-down. Source:
    reference/clinical-rules.md §4b ("any value > 0 triggers a structured suicide-risk
    step"), §8 rule 3.
    """
    m = ctx.cfg.screening.si_item9_min
    text = (
        f"PHQ-9 item 9 (thoughts of self-harm) scored {obs.value} on {ctx.day(obs.time)}, "
        f"≥ {m}; screen for suicide risk with the C-SSRS today."
    )
    ctx.new_task("C-SI-SCREEN", CareTask.SI_SCREEN, ev.event_id, ev.time, Priority.URGENT, text,
                 ev.ref, ctx.end_of_day(ev.time))  # fmt: skip


def sud(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SUD: AUDIT-C ≥ 4, or ≥ 3 for a patient known to be female → a ``sud-assessment``
    Task: routine, due in 7 days; urgent (+1 day) at ≥ 8 or with an active withdrawal
    contraindication.

    Rationale: AUDIT-C is positive at ≥ 4 for men and ≥ 3 for women; ≥ 8 suggests
    dependence, and withdrawal needs prompt management. Source:
    reference/clinical-rules.md §4a (US Core AUDIT-C), §6.
    """
    sc = ctx.cfg.screening
    minimum = sc.sud_auditc_female_min if ctx.s.female else sc.sud_auditc_min
    if obs.value < minimum:
        return
    withdrawal = contra_active(ctx, ev.time, Contra.WITHDRAWAL) is not None
    urgent = obs.value >= sc.sud_urgent_min or withdrawal
    priority = Priority.URGENT if urgent else Priority.ROUTINE
    why = " with active withdrawal" if withdrawal else ""
    text = (
        f"AUDIT-C {obs.value} on {ctx.day(obs.time)} is ≥ {minimum}{why}; assess for a "
        f"substance use disorder."
    )
    ctx.new_task("C-SUD", CareTask.SUD, ev.event_id, ev.time, priority, text, ev.ref)
