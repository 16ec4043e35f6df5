"""Assessment-driven transition rules (rules.md §4): T-CRISIS, T-OP-WORSE, T-IOP-WORSE,
T-PHP-BETTER, T-IOP-BETTER. Each proposes a referral; one referral per event (the most
intensive target wins), made through ``Ctx.refer`` (supersession, no referral to the
effective level, the pending target, or below a pending step-up's target), and a step-up
respects the cool-down after a rejected, failed or expired referral.

They fire only for a patient in BH care (§2). "At this level" means taken at or after the
effective since; an assessment taken before it moves no level.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from pipeline.codes import STEP_DOWN, STEP_UP, Priority
from pipeline.describe import lv
from pipeline.events import AssessmentRecorded, Instrument, Risk
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.rules.signals import (
    CSSRS,
    ITEM9,
    PHQ9,
    active_contras,
    in_bh_care,
    latest,
    of,
    signal_since,
    signal_source,
)
from pipeline.state import Obs

#: The step-down rule and target of each level with an improvement rule.
STEP_DOWN_RULES = {Level.PHP: ("T-PHP-BETTER", Level.IOP), Level.IOP: ("T-IOP-BETTER", Level.OP)}


class Proposal(NamedTuple):
    rule: str
    target: Level
    direction: str
    priority: str
    text: str
    refs: tuple[str, ...]


def on_values(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> None:
    """Collect the proposals of every rule for this event and refer to the most
    intensive one that may be made."""
    s = ctx.s
    if not in_bh_care(ctx, ev.time):
        return
    level, since = s.effective_level(), s.effective_since()
    if since is not None and obs.time < since:
        return
    proposals = [p for p in _proposals(ctx, ev, obs, level, since) if _allowed(ctx, p, ev.time)]
    if not proposals:
        return
    best = max(proposals, key=lambda p: p.target.rank)
    refs = tuple(dict.fromkeys(r for r in (ev.ref, *best.refs) if r is not None))
    ctx.refer(best.rule, ev.event_id, ev.time, best.target, best.direction, best.priority,
              best.text, refs)  # fmt: skip


def _allowed(ctx: Ctx, p: Proposal, when: datetime) -> bool:
    if not ctx.can_refer(p.target, p.direction):
        return False
    if p.direction != STEP_UP:
        return True
    phq = latest(ctx, PHQ9, None, when)
    return not ctx.cooling(p.target, when, phq.value if phq is not None else None)


def _proposals(
    ctx: Ctx, ev: AssessmentRecorded, obs: Obs, level: Level | None, since: datetime | None
) -> list[Proposal]:
    out: list[Proposal] = []
    if ev.instrument is Instrument.CSSRS and obs.value >= Risk.HIGH:
        out += crisis_step_up(ctx, obs, level)
    if level is Level.OP:
        return out + op_worse(ctx, ev, obs)
    if level not in (Level.IOP, Level.PHP) or since is None or obs.inst not in (PHQ9, ITEM9, CSSRS):
        return out
    phqs = [o for o in ctx.s.obs if o.inst == PHQ9 and o.time >= since]
    if level is Level.IOP:
        out += iop_worse(ctx, phqs)
    if ev.instrument is Instrument.PHQ9:
        out += better(ctx, obs, phqs, level, since)
    return out


def crisis_step_up(ctx: Ctx, obs: Obs, level: Level | None) -> list[Proposal]:
    """T-CRISIS: C-SSRS risk ``high``, patient in BH care, effective level OP, IOP or none,
    and no pending referral to PHP or inpatient → refer to inpatient (stat, step-up).

    Rationale: intent, plan or recent suicidal behavior means the patient may be an
    imminent danger, which outpatient criteria exclude. The screener stays ``high`` for
    three months after an attempt, so a repeat screen must not revoke the PHP referral a
    discharge made (C-CRISIS re-surfaces the crisis Task instead). Choice: the level list
    is read as written (OP, IOP, none); a PHP patient gets the stat crisis Task. Source:
    reference/clinical-rules.md §4c, §6 (ghspsych IOP admission guidelines), §8 rules 1, 4;
    rules.md §4.
    """
    p = ctx.s.pending
    if level not in (Level.OP, Level.IOP, None):
        return []
    if p is not None and p.level in (Level.PHP, Level.INPATIENT):
        return []
    at = f"at {lv(level)}" if level is not None else "with no current level of care"
    text = f"Refer to {lv(Level.INPATIENT)}: C-SSRS risk high on {ctx.day(obs.time)} {at}."
    return [Proposal("T-CRISIS", Level.INPATIENT, STEP_UP, Priority.STAT, text, _refs(obs))]


def op_worse(ctx: Ctx, ev: AssessmentRecorded, obs: Obs) -> list[Proposal]:
    """T-OP-WORSE: at OP, PHQ-9 ≥ 20 → PHP; else PHQ-9 ≥ 15, GAD-7 ≥ 15 or C-SSRS
    ``moderate`` → IOP (urgent, step-up).

    Rationale: PHQ-9 20–27 is severe depression needing daily structure (PHP); 15–19 is
    moderately severe and GAD-7 ≥ 15 severe anxiety (IOP); moderate suicide risk needs more
    than weekly contact. Source: reference/clinical-rules.md §4a (Kroenke 2001; Spitzer
    2006), §4c, §3d (AABH IOP/PHP profiles).
    """
    t = ctx.cfg.transition
    inst, v = ev.instrument, obs.value
    if inst is Instrument.PHQ9 and v >= t.php_phq9_min:
        target, what = Level.PHP, f"PHQ-9 {v} on {ctx.day(obs.time)} is ≥ {t.php_phq9_min}"
    elif inst is Instrument.PHQ9 and v >= t.op_worse_phq9_min:
        target, what = Level.IOP, f"PHQ-9 {v} on {ctx.day(obs.time)} is ≥ {t.op_worse_phq9_min}"
    elif inst is Instrument.GAD7 and v >= t.op_worse_gad7_min:
        target, what = Level.IOP, f"GAD-7 {v} on {ctx.day(obs.time)} is ≥ {t.op_worse_gad7_min}"
    elif inst is Instrument.CSSRS and v == Risk.MODERATE:
        target, what = Level.IOP, f"C-SSRS risk moderate on {ctx.day(obs.time)}"
    else:
        return []
    text = f"Refer to {lv(target)}: {what} at OP."
    return [Proposal("T-OP-WORSE", target, STEP_UP, Priority.URGENT, text, _refs(obs))]


def iop_worse(ctx: Ctx, at_level: list[Obs]) -> list[Proposal]:
    """T-IOP-WORSE: at IOP, the last two PHQ-9 at this level both ≥ 20, or one PHQ-9 ≥ 20
    with a safety signal at its time → PHP (urgent, step-up). Evaluated on every PHQ-9,
    item 9 and C-SSRS event (rules.md §7). "The last two" are the latest two the state
    holds, also when a late PHQ-9 is one of them.

    Rationale: persistently severe depression despite IOP, or severe depression with a
    suicide-risk signal, calls for daily monitoring. Source: reference/clinical-rules.md
    §4a, §4b, §3d (AABH PHP profile), §8 rule 5.
    """
    m = ctx.cfg.transition.iop_worse_phq9_min
    phqs = at_level
    if not phqs or phqs[-1].value < m:
        return []
    last = phqs[-1]
    if len(phqs) >= 2 and phqs[-2].value >= m:
        prev = phqs[-2]
        what = (
            f"PHQ-9 {last.value} on {ctx.day(last.time)} and {prev.value} on "
            f"{ctx.day(prev.time)} are both ≥ {m}"
        )
        refs = _refs(prev, last)
    else:
        sig = signal_source(ctx, last.time)
        if sig is None:
            return []
        what = f"PHQ-9 {last.value} on {ctx.day(last.time)} is ≥ {m} with {_signal(ctx, sig)}"
        refs = _refs(last, sig)
    text = f"Refer to {lv(Level.PHP)}: {what} at IOP."
    return [Proposal("T-IOP-WORSE", Level.PHP, STEP_UP, Priority.URGENT, text, refs)]


def better(ctx: Ctx, obs: Obs, phqs: list[Obs], level: Level, since: datetime) -> list[Proposal]:
    """T-PHP-BETTER (PHP → IOP) and T-IOP-BETTER (IOP → OP): a baseline PHQ-9 > 9 (at this
    level, or in the 30 days before effective since), the last two PHQ-9 at this level both
    < 10 and taken ≥ 7 days apart, no safety signal at any time since effective since (the
    state at effective since included), no active contraindication → one level down
    (routine, step-down). Fires only when the new PHQ-9 is one of the last two.

    Rationale: a sustained PHQ-9 below the moderate band from a higher baseline, without
    suicide risk or psychosis/withdrawal, is the public proxy for response used as input to
    a step-down review; without a baseline there is no improvement to speak of. Source:
    reference/clinical-rules.md §4b (HEDIS DRR-E), §6, §8 rules 3, 8; §3d (continued stay).
    """
    t = ctx.cfg.transition
    if len(phqs) < 2 or obs not in phqs[-2:]:
        return []
    prev, last = phqs[-2], phqs[-1]
    below = t.better_phq9_below
    if prev.value >= below or last.value >= below:
        return []
    if last.time - prev.time < timedelta(days=t.better_min_days_apart):
        return []
    window = ctx.plus_days(since, -t.lookback_days)
    baseline = [o for o in of(ctx, PHQ9) if o.time >= window and o.value > below - 1]
    if not baseline:
        return []
    if signal_since(ctx, since, last.time) is not None or active_contras(ctx, last.time):
        return []
    rule, target = STEP_DOWN_RULES[level]
    text = (
        f"Refer to {lv(target)}: PHQ-9 {last.value} on {ctx.day(last.time)} and {prev.value} "
        f"on {ctx.day(prev.time)} are both < {below}, "
        f"{(last.time - prev.time).days} days apart, down from {baseline[0].value} on "
        f"{ctx.day(baseline[0].time)}, with no safety signal at {lv(level)}."
    )
    return [Proposal(rule, target, STEP_DOWN, Priority.ROUTINE, text, _refs(prev, last))]


def _signal(ctx: Ctx, sig: Obs) -> str:
    if sig.inst == CSSRS:
        return f"C-SSRS risk {Risk.NAMES[sig.value]} on {ctx.day(sig.time)}"
    return f"PHQ-9 item 9 of {sig.value} on {ctx.day(sig.time)}"


def _refs(*obs: Obs) -> tuple[str, ...]:
    return tuple(dict.fromkeys(o.ref for o in obs if o.ref is not None))
