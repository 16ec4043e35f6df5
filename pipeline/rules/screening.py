"""Assessments: keeping the values later rules read, and the screening Tasks
C-CRISIS, C-SAFETY, C-SI-SCREEN and C-SUD (rules.md §4), which fire at any level.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline import describe
from pipeline.events import AssessmentRecorded, Instrument, Risk
from pipeline.rules.context import Ctx
from pipeline.state import Obs

#: At most this many values kept per instrument (the last two are always kept).
KEEP = 8


def keep(items: tuple[Obs, ...], obs: Obs, horizon: datetime) -> tuple[Obs, ...]:
    """Insert ``obs`` in time order (after equal times); drop values older than ``horizon``
    except the last two."""
    i = len(items)
    while i and items[i - 1].time > obs.time:
        i -= 1
    new = (*items[:i], obs, *items[i:])
    if len(new) <= 2 or (len(new) <= KEEP and new[0].time >= horizon):
        return new
    last = len(new) - 2
    return tuple(o for k, o in enumerate(new) if k >= last or o.time >= horizon)[-KEEP:]


def record(ctx: Ctx, ev: AssessmentRecorded) -> Obs:
    """Keep PHQ-9 totals and C-SSRS levels for T-DISCHARGE and the two-value rules, and
    the time of the latest moderate/high C-SSRS (T-*-BETTER)."""
    s, obs = ctx.s, Obs(ev.time, ev.value, ev.ref)
    horizon = s.clock - timedelta(days=2 * max(ctx.cfg.transition.lookback_days, 1))
    if ev.instrument is Instrument.PHQ9:
        s.phq9 = keep(s.phq9, obs, horizon)
    elif ev.instrument is Instrument.CSSRS:
        s.cssrs = keep(s.cssrs, obs, horizon)
        if ev.value >= Risk.MODERATE and (s.risk_at is None or ev.time > s.risk_at):
            s.risk_at = ev.time
    return obs


def screen(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    inst, sc = ev.instrument, ctx.cfg.screening
    if inst is Instrument.CSSRS and obs.value >= Risk.HIGH:
        crisis(ctx, ev, obs)
    elif inst is Instrument.CSSRS and obs.value == Risk.MODERATE:
        safety_plan(ctx, ev, obs)
    elif inst is Instrument.PHQ9_ITEM9 and obs.value >= sc.si_item9_min:
        si_screen(ctx, ev, obs)
    elif inst is Instrument.AUDITC and obs.value >= sc.sud_auditc_min:
        sud(ctx, ev, obs)


def crisis(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-CRISIS: C-SSRS risk ``high`` at any level → a stat ``crisis-evaluation`` Task due
    in 4 hours (same-day behavioral-health consultation with safety precautions).

    Rationale: C-SSRS high (intent, plan, or recent suicidal behavior) is the screener's
    top triage point, calling for immediate consultation at any level of care.

    Source: reference/clinical-rules.md §4c (C-SSRS screener triage, items 4/5/recent 6 →
    high, https://www.cms.gov/files/document/cssrs-screen-version-instrument.pdf), §8 rule 1.
    """
    text = describe.crisis(obs, None)
    ctx.new_task("C-CRISIS", "crisis-evaluation", ev.event_id, ev.time, "stat", text, ev.ref)


def safety_plan(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SAFETY: C-SSRS risk ``moderate`` → an urgent ``safety-plan`` Task due in one day
    (behavioral-health referral and safety plan).

    Rationale: moderate risk (method without intent, or lifetime-only behavior) calls for
    a behavioral-health referral and a safety plan, not an emergency response.

    Source: reference/clinical-rules.md §4c (item 3, or lifetime-only item 6 → moderate),
    §8 rule 2.
    """
    text = describe.screening("C-SSRS", obs, 0, "complete a safety plan")
    ctx.new_task("C-SAFETY", "safety-plan", ev.event_id, ev.time, "urgent", text, ev.ref)


def si_screen(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SI-SCREEN: PHQ-9 item 9 (thoughts of self-harm) ≥ 1 → an urgent
    ``suicide-risk-screen`` Task due in one day: give a C-SSRS screener before any
    step-down decision.

    Rationale: item 9 asks about thoughts of self-harm; any positive answer needs a
    structured suicide-risk assessment the same day.

    Source: reference/clinical-rules.md §4b ("any value > 0 triggers a structured
    suicide-risk step", SPiER PHQ-9 README), §8 rule 3.
    """
    m = ctx.cfg.screening.si_item9_min
    text = describe.screening("PHQ-9 item 9", obs, m, "screen for suicide risk with the C-SSRS")
    ctx.new_task("C-SI-SCREEN", "suicide-risk-screen", ev.event_id, ev.time, "urgent", text, ev.ref)


def sud(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """C-SUD: AUDIT-C ≥ 4 → a routine ``sud-assessment`` Task due in 7 days.

    Rationale: AUDIT-C is positive at ≥ 4 for men (≥ 3 for women; the default uses the
    higher cut-point, configurable). Source: reference/clinical-rules.md §4a (US Core
    AUDIT-C, https://hl7.org/fhir/us/core/Observation-AUDIT-C-item-example-75626-2.html).
    """
    m = ctx.cfg.screening.sud_auditc_min
    text = describe.screening("AUDIT-C", obs, m, "assess for a substance use disorder")
    ctx.new_task("C-SUD", "sud-assessment", ev.event_id, ev.time, "routine", text, ev.ref)
