"""What the rules read off the state: assessments, the safety signal, contraindications,
and whether the patient is in behavioral-health care (rules.md §1, §2, §4).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.clock import plus_days
from pipeline.events import Contra, Instrument, Risk
from pipeline.levels import Level
from pipeline.rules.context import Ctx
from pipeline.state import Condition, Obs

PHQ9, ITEM9, CSSRS = Instrument.PHQ9.value, Instrument.PHQ9_ITEM9.value, Instrument.CSSRS.value
OUTPATIENT_LEVELS = (Level.OP, Level.IOP, Level.PHP)


def of(ctx: Ctx, inst: str) -> list[Obs]:
    """The kept assessments of one instrument, by time."""
    return [o for o in ctx.s.obs if o.inst == inst]


def latest(ctx: Ctx, inst: str, start: datetime | None, end: datetime) -> Obs | None:
    """The latest assessment of ``inst`` with start ≤ time ≤ end (ties: the later one)."""
    for o in reversed(ctx.s.obs):
        if o.inst == inst and o.time <= end and (start is None or o.time >= start):
            return o
    return None


def signal_source(ctx: Ctx, t: datetime, start: datetime | None = None) -> Obs | None:
    """The assessment that makes a safety signal at ``t`` (rules.md §1), if any: the latest
    C-SSRS at or before ``t`` is moderate or high, or the latest PHQ-9 item 9 at or before
    ``t`` is ≥ ``screening.si_item9_min`` with no C-SSRS taken at or after it (a C-SSRS at
    the same instant resolves it, §7). A moderate C-SSRS or an item 9 answered by a
    completed ``safety-plan`` / ``suicide-risk-screen`` Task (L-SCREEN-DONE, ``resolved_at``)
    is resolved. ``start`` limits the look back (T-DISCHARGE reads its lookback only)."""
    risk = latest(ctx, CSSRS, start, t)
    item9 = latest(ctx, ITEM9, start, t)
    done = ctx.s.resolved_at
    if risk is not None and risk.value >= Risk.MODERATE:
        answered = risk.value == Risk.MODERATE and done is not None and risk.time <= done
        if not answered:
            return risk
    if item9 is None or item9.value < ctx.cfg.screening.si_item9_min:
        return None
    if risk is not None and risk.time >= item9.time:
        return None
    if done is not None and item9.time <= done:
        return None
    return item9


def signal_since(ctx: Ctx, since: datetime, now: datetime) -> Obs | None:
    """A safety signal at ``since`` or at any assessment time in [since, now] (§7: the
    state at effective since counts too)."""
    hit = signal_source(ctx, since)
    if hit is not None:
        return hit
    for o in ctx.s.obs:
        if since <= o.time <= now and o.inst in (CSSRS, ITEM9):
            hit = signal_source(ctx, o.time)
            if hit is not None:
                return hit
    return None


def active_contras(ctx: Ctx, t: datetime) -> list[Condition]:
    """Contraindications active at ``t`` (rules.md §4): begun at or before ``t`` within
    ``contra.recent_days`` local days, not ended."""
    days = ctx.cfg.contra.recent_days
    return [
        c
        for c in ctx.s.contras
        if c.onset <= t
        and (c.ended is None or c.ended > t)
        and plus_days(c.onset, days, ctx.tz) >= t
    ]


def contra_active(ctx: Ctx, t: datetime, kind: Contra | None = None) -> Condition | None:
    for c in active_contras(ctx, t):
        if kind is None or c.kind is kind:
            return c
    return None


def in_bh_care(ctx: Ctx, t: datetime) -> bool:
    """rules.md §2: effective level OP, IOP or PHP, or no level within
    ``scope.bh_care_days`` after an in-scope discharge, ED visit or program exit."""
    s = ctx.s
    if s.effective_level() in OUTPATIENT_LEVELS:
        return True
    if s.level is not None or s.bh_contact is None:
        return False
    return t <= plus_days(s.bh_contact, ctx.cfg.scope.bh_care_days, ctx.tz)
