"""Rule configuration: every threshold of rules.md with its documented default.

A rules file is TOML with the sections below; every key is optional and an absent key
keeps its default. Unknown keys, wrong types and out-of-range values raise
``RulesFileError`` whose message names the file and the dotted key, e.g.
``rules.toml: transition.php_phq9_min: must be ≥ 0``. The canonical base URL is not a
rule: it belongs to the boundary settings.

```toml
[transition]          # rules.md §3
lookback_days = 30
php_phq9_min = 20
[attendance]          # rules.md §4
iop_weekly_minutes = 540
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


class TransitionRules(BaseModel):
    """Thresholds of the transition rules (rules.md §3)."""

    model_config = _STRICT
    lookback_days: int = Field(30, ge=0)  # T-DISCHARGE: assessments this many days back
    php_phq9_min: int = Field(20, ge=0, le=28)  # T-DISCHARGE: PHQ-9 ≥ this → php
    iop_phq9_min: int = Field(10, ge=0, le=28)  # T-DISCHARGE: PHQ-9 ≥ this → iop, else op
    op_worse_phq9_min: int = Field(15, ge=0, le=28)  # T-OP-WORSE
    op_worse_gad7_min: int = Field(15, ge=0, le=22)  # T-OP-WORSE
    iop_worse_phq9_min: int = Field(20, ge=0, le=28)  # T-IOP-WORSE: last two PHQ-9 ≥ this
    better_phq9_below: int = Field(10, ge=0, le=28)  # T-*-BETTER: last two PHQ-9 < this
    better_min_days_apart: int = Field(7, ge=0)  # T-*-BETTER: the two PHQ-9 this far apart

    @model_validator(mode="after")
    def _bands(self) -> TransitionRules:
        if self.iop_phq9_min > self.php_phq9_min:
            raise ValueError("iop_phq9_min: must be ≤ transition.php_phq9_min")
        return self


class ScreeningRules(BaseModel):
    """Thresholds of the screening case-management rules (rules.md §4)."""

    model_config = _STRICT
    si_item9_min: int = Field(1, ge=0, le=4)  # C-SI-SCREEN: PHQ-9 item 9 ≥ this
    sud_auditc_min: int = Field(4, ge=0, le=13)  # C-SUD: AUDIT-C ≥ this


class FollowUpRules(BaseModel):
    """The post-discharge follow-up window (C-FOLLOWUP, L-FOLLOWUP-MET)."""

    model_config = _STRICT
    window_days: int = Field(7, ge=1)  # visit on day 1..window_days after the discharge date


class AttendanceRules(BaseModel):
    """Attendance and engagement thresholds (C-DISENGAGED, C-INACTIVE, C-LOW-HOURS)."""

    model_config = _STRICT
    no_show_due_days: int = Field(1, ge=0)  # C-NO-SHOW: outreach due this many days later
    disengaged_no_shows: int = Field(3, ge=1)  # C-DISENGAGED: consecutive no-shows
    inactive_days: int = Field(14, ge=1)  # C-INACTIVE: days without an attended session
    low_hours_weeks: int = Field(2, ge=1)  # C-LOW-HOURS: consecutive whole ISO weeks
    iop_weekly_minutes: int = Field(540, ge=0)  # C-LOW-HOURS: iop week is low below this
    php_weekly_minutes: int = Field(1200, ge=0)  # C-LOW-HOURS: php week is low below this


class RecertRules(BaseModel):
    """Recertification clocks (C-RECERT)."""

    model_config = _STRICT
    iop_days: int = Field(60, ge=0)
    php_days: int = Field(18, ge=0)


class DueRules(BaseModel):
    """Task dues by priority when a rule has no specific due (rules.md §4)."""

    model_config = _STRICT
    stat_hours: int = Field(4, ge=0)
    asap_days: int = Field(1, ge=0)
    urgent_days: int = Field(1, ge=0)
    routine_days: int = Field(7, ge=0)


class RuleConfig(BaseModel):
    """The whole rule pack configuration; ``RuleConfig()`` is the rules.md default."""

    model_config = _STRICT
    transition: TransitionRules = TransitionRules()
    screening: ScreeningRules = ScreeningRules()
    followup: FollowUpRules = FollowUpRules()
    attendance: AttendanceRules = AttendanceRules()
    recert: RecertRules = RecertRules()
    dues: DueRules = DueRules()


DEFAULT_RULES = RuleConfig()


class RulesFileError(ValueError):
    """A rules file that cannot be used; the message names the file and the key."""


def _describe(err: Any) -> tuple[str, str]:
    """(dotted key, human message) for one pydantic error."""
    loc = ".".join(str(p) for p in err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return loc, "unknown key"
    if kind == "greater_than_equal":
        return loc, f"must be ≥ {ctx['ge']}"
    if kind == "less_than_equal":
        return loc, f"must be ≤ {ctx['le']}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return loc, "must be an integer"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, "must be a table"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if ": " in msg:  # model validators name the key themselves
        key, _, rest = msg.partition(": ")
        return f"{loc}.{key}" if loc else key, rest
    return loc, msg


def parse_rules(data: dict[str, Any], source: str = "rules") -> RuleConfig:
    """A ``RuleConfig`` from already-parsed TOML data; ``RulesFileError`` if invalid."""
    try:
        return RuleConfig.model_validate(data)
    except ValidationError as e:
        key, msg = _describe(e.errors()[0])
        raise RulesFileError(f"{source}: {key}: {msg}") from None


def load_rules(path: str | Path) -> RuleConfig:
    """Read a TOML rules file; defaults fill absent keys."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise RulesFileError(f"{source}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise RulesFileError(f"{source}: invalid TOML: {e}") from None
    return parse_rules(data, source)
