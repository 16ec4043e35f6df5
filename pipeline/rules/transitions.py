"""Assessment-driven transition rules (rules.md §3): T-CRISIS, T-OP-WORSE, T-IOP-WORSE,
T-PHP-BETTER, T-IOP-BETTER. Each emits a ServiceRequest and its referral Task through
``Ctx.refer`` (supersession, no referral to the effective level or the pending target).

Choices: "at this level" means taken at or after the effective since; an assessment taken
before it (a late one from an earlier level) moves no level. The two-value rules fire only
when the new PHQ-9 is one of the last two at this level, so a late value older than both
does not re-decide on values that were already judged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline import describe
from pipeline.events import AssessmentRecorded, Instrument, Risk
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.state import Obs

#: The step-down rule and target of each level with an improvement rule.
STEP_DOWN = {Level.PHP: ("T-PHP-BETTER", Level.IOP), Level.IOP: ("T-IOP-BETTER", Level.OP)}


def on_values(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    s = ctx.s
    level, since = s.effective_level(), s.effective_since()
    if level is None or level is Level.INPATIENT or (since is not None and obs.time < since):
        return
    if ev.instrument is Instrument.CSSRS and obs.value >= Risk.HIGH:
        crisis_step_up(ctx, ev, obs, level)
    elif level is Level.OP:
        op_worse(ctx, ev, obs)
    elif ev.instrument is Instrument.PHQ9 and since is not None:
        pair = last_two(s.phq9, since)
        if len(pair) == 2 and (pair[0] is obs or pair[1] is obs):
            if level is Level.IOP:
                iop_worse(ctx, ev, pair)
            better(ctx, ev, pair, level, since)


def last_two(items: tuple[Obs, ...], since: datetime) -> tuple[Obs, ...]:
    """The last two values taken at or after ``since`` (fewer if there are not two)."""
    if len(items) >= 2 and items[-2].time >= since:
        return items[-2:]
    return items[-1:] if items and items[-1].time >= since else ()


def crisis_step_up(ctx: Ctx, ev: AssessmentRecorded, obs: Obs, level: Level) -> None:
    """T-CRISIS: C-SSRS risk ``high`` at OP, IOP or PHP → refer to inpatient (stat).

    Rationale: intent, plan or recent suicidal behavior means the patient may be an
    imminent danger, which IOP/PHP admission criteria exclude. Choice: with no effective
    level at all, only C-CRISIS fires. Source: reference/clinical-rules.md §4c, §6
    (ghspsych IOP admission guidelines, http://ghspsych.org/guidelines-admission/), §8 rules 1, 4.
    """
    text = describe.single_value("C-SSRS", obs, "", level, Level.INPATIENT)
    ctx.refer("T-CRISIS", ev.event_id, ev.time, Level.INPATIENT, "step-up", "stat", text,
              _refs(obs))  # fmt: skip


def op_worse(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """T-OP-WORSE: at OP, PHQ-9 ≥ 15, GAD-7 ≥ 15 or C-SSRS ``moderate`` → refer to IOP
    (urgent, step-up).

    Rationale: PHQ-9 15–19 is moderately severe and needs active treatment; GAD-7 ≥ 15 is
    severe anxiety; moderate suicide risk needs more than weekly contact. Source:
    reference/clinical-rules.md §4a (Kroenke 2001; Spitzer 2006), §4b, §4c, §3d (AABH IOP
    profile: monitoring more than weekly).
    """
    t = ctx.cfg.transition
    inst, v = ev.instrument, obs.value
    if inst is Instrument.PHQ9 and v >= t.op_worse_phq9_min:
        label, bound = "PHQ-9", f"≥ {t.op_worse_phq9_min}"
    elif inst is Instrument.GAD7 and v >= t.op_worse_gad7_min:
        label, bound = "GAD-7", f"≥ {t.op_worse_gad7_min}"
    elif inst is Instrument.CSSRS and v == Risk.MODERATE:
        label, bound = "C-SSRS", ""
    else:
        return
    text = describe.single_value(label, obs, bound, Level.OP, Level.IOP)
    ctx.refer("T-OP-WORSE", ev.event_id, ev.time, Level.IOP, "step-up", "urgent", text,
              _refs(obs))  # fmt: skip


def iop_worse(ctx: Ctx, ev: AssessmentRecorded, pair: tuple[Obs, ...]) -> None:
    """T-IOP-WORSE: at IOP, the last two PHQ-9 at this level both ≥ 20 → refer to PHP
    (urgent, step-up).

    Rationale: persistently severe depression despite IOP calls for daily monitoring.
    Source: reference/clinical-rules.md §4a (PHQ-9 20–27 severe), §3d (AABH PHP profile:
    daily monitoring), §8 rule 5.
    """
    m = ctx.cfg.transition.iop_worse_phq9_min
    if pair[0].value >= m and pair[1].value >= m:
        text = describe.two_phq9(pair, f"≥ {m}", "", Level.IOP, Level.PHP)
        ctx.refer("T-IOP-WORSE", ev.event_id, ev.time, Level.PHP, "step-up", "urgent", text,
                  _refs(*pair))  # fmt: skip


def better(
    ctx: Ctx, ev: AssessmentRecorded, pair: tuple[Obs, ...], level: Level, since: datetime
) -> None:
    """T-PHP-BETTER (PHP → IOP) and T-IOP-BETTER (IOP → OP): the last two PHQ-9 at this
    level both < 10, taken ≥ 7 days apart, and no C-SSRS moderate/high since the level
    began → refer one level down (routine, step-down).

    Rationale: a sustained PHQ-9 below the "moderate" band, without recent suicide risk, is
    the public proxy for response/remission used as input to a step-down review. Choice:
    "since level_since" is read as since the effective since. Source:
    reference/clinical-rules.md §4b (HEDIS DRR-E), §8 rule 8, §3d (continued-stay criteria).
    """
    t, s = ctx.cfg.transition, ctx.s
    prev, last = pair
    if prev.value >= t.better_phq9_below or last.value >= t.better_phq9_below:
        return
    apart = last.time - prev.time
    if apart < timedelta(days=t.better_min_days_apart) or (s.risk_at and s.risk_at >= since):
        return
    rule, target = STEP_DOWN[level]
    extra = f", taken {apart.days} days apart, with no moderate or high C-SSRS"
    text = describe.two_phq9(pair, f"< {t.better_phq9_below}", extra, level, target)
    ctx.refer(rule, ev.event_id, ev.time, target, "step-down", "routine", text, _refs(*pair))


def _refs(*obs: Obs) -> tuple[str, ...]:
    return tuple(dict.fromkeys(o.ref for o in obs if o.ref is not None))
