"""One-sentence explanations for Task ``description`` and ``statusReason`` (contract §5).

Each sentence names the decision and the values that triggered it. Free text received
from case managers is never copied in, so nothing identifying reaches a description.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pipeline.levels import Level
from pipeline.state import Obs

LEVEL_NAME = {Level.OP: "OP", Level.IOP: "IOP", Level.PHP: "PHP", Level.INPATIENT: "inpatient"}
RISK_NAME = {1: "low", 2: "moderate", 3: "high"}


def day(t: datetime) -> str:
    """The UTC date, e.g. 2026-03-08."""
    return t.date().isoformat()


def moment(t: datetime) -> str:
    """The UTC date and minute, e.g. 2026-03-08 15:00 UTC."""
    return f"{t.date().isoformat()} {t.hour:02d}:{t.minute:02d} UTC"


def lv(level: Level | None) -> str:
    return LEVEL_NAME[level] if level is not None else "no level"


def discharge_referral(at: datetime, basis: str, days: int, target: Level) -> str:
    """T-DISCHARGE: ``basis`` names the assessment that chose the step-down level."""
    return f"Discharged on {day(at)} with {basis} in the {days} days before; refer to {lv(target)}."


def single_value(label: str, obs: Obs, bound: str, level: Level | None, target: Level) -> str:
    """T-CRISIS / T-OP-WORSE: one assessment crossed a threshold at the current level."""
    value = f"{label} {obs.value}" if label != "C-SSRS" else f"C-SSRS risk {RISK_NAME[obs.value]}"
    cond = f" is {bound}" if bound else ""
    return f"{value} on {day(obs.time)}{cond} at {lv(level)}; refer to {lv(target)}."


def two_phq9(pair: Sequence[Obs], bound: str, extra: str, level: Level, target: Level) -> str:
    """T-IOP-WORSE / T-*-BETTER: the last two PHQ-9 at this level."""
    prev, last = pair
    return (
        f"PHQ-9 {last.value} on {day(last.time)} and {prev.value} on {day(prev.time)} are both "
        f"{bound}{extra} at {lv(level)}; refer to {lv(target)}."
    )


def followup(at: datetime, last_day: datetime) -> str:
    return (
        f"Discharged to the community on {day(at)}; confirm a follow-up visit by the end of "
        f"{day(last_day)}."
    )


def followup_missed(discharged: datetime, last_day: datetime, days: int) -> str:
    return (
        f"No follow-up visit was attended by the end of {day(last_day)}, {days} days after "
        f"the discharge on {day(discharged)}; reach the patient."
    )


def ama(at: datetime) -> str:
    return f"Left against medical advice on {day(at)}; reach the patient within a day."


def crisis(obs: Obs, discharged: datetime | None) -> str:
    if discharged is not None:
        return (
            f"Discharged on {day(discharged)} with C-SSRS risk high on {day(obs.time)}; "
            f"no step-down referral, evaluate for crisis now."
        )
    return f"C-SSRS risk high on {day(obs.time)}; evaluate for crisis now."


def screening(label: str, obs: Obs, minimum: int, action: str) -> str:
    """C-SAFETY / C-SI-SCREEN / C-SUD."""
    if label == "C-SSRS":
        return f"C-SSRS risk {RISK_NAME[obs.value]} on {day(obs.time)}; {action}."
    if label == "PHQ-9 item 9":
        return (
            f"PHQ-9 item 9 (thoughts of self-harm) scored {obs.value} on {day(obs.time)}, "
            f"≥ {minimum}; {action}."
        )
    return f"{label} {obs.value} on {day(obs.time)} is ≥ {minimum}; {action}."


def no_show(at: datetime, level: Level | None) -> str:
    return f"Missed the session on {day(at)} at {lv(level)}; reach the patient."


def disengaged(times: Sequence[datetime]) -> str:
    dates = ", ".join(day(t) for t in times)
    return (
        f"{len(times)} consecutive no-shows ({dates}) since the last attended session; "
        f"review engagement."
    )


def low_hours(weeks: Sequence[tuple[datetime, int]], minimum: int, level: Level) -> str:
    minutes = " and ".join(str(m) for _, m in weeks)
    mondays = " and ".join(day(w) for w, _ in weeks)
    return (
        f"Attended {minutes} minutes in the ISO weeks of {mondays}, each under {minimum} at "
        f"{lv(level)}; review the level of care."
    )


def inactive(since: datetime, days: int, level: Level) -> str:
    return (
        f"No attended session at {lv(level)} for {days} days since {moment(since)}; "
        f"review for discharge."
    )


def recert(level: Level, since: datetime, due: datetime) -> str:
    return f"Enrolled at {lv(level)} on {day(since)}; recertify the level of care by {day(due)}."


def referral_failed(target: Level, status: str, at: datetime) -> str:
    return f"The referral to {lv(target)} was {status} on {day(at)}; find another placement."
