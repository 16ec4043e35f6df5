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

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)
#: a TOML array of strings (strict mode would take only a Python tuple)
Codes = Annotated[tuple[str, ...], Strict(False)]


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
    readmit_days: int = Field(
        30, ge=0
    )  # T-DISCHARGE raise, C-READMIT: admission date − discharge date ≤ this

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
    sud_auditc_female_min: int = Field(3, ge=0, le=13)  # C-SUD: ≥ this for a known female
    sud_urgent_min: int = Field(8, ge=0, le=13)  # C-SUD: urgent at ≥ this


class FollowUpRules(BaseModel):
    """The post-discharge follow-up window (C-FOLLOWUP, L-FOLLOWUP-MET)."""

    model_config = _STRICT
    window_days: int = Field(7, ge=1)  # visit on day 1..window_days after the discharge date
    lost_days: int = Field(30, ge=1)  # C-FOLLOWUP-LOST / L-FOLLOWUP-LATE: end of this day


class AttendanceRules(BaseModel):
    """Attendance and engagement thresholds (C-DISENGAGED, C-INACTIVE, C-LOW-HOURS)."""

    model_config = _STRICT
    no_show_due_days: int = Field(1, ge=0)  # C-NO-SHOW: outreach due this many days later
    disengaged_no_shows: int = Field(3, ge=1)  # C-DISENGAGED: consecutive no-shows
    inactive_days: int = Field(14, ge=1)  # C-INACTIVE: days without an attended session
    low_hours_weeks: int = Field(2, ge=1)  # C-LOW-HOURS: consecutive whole ISO weeks
    iop_weekly_minutes: int = Field(540, ge=0)  # C-LOW-HOURS: iop week is low below this
    php_weekly_minutes: int = Field(1200, ge=0)  # C-LOW-HOURS: php week is low below this
    iop_weekly_days: int = Field(3, ge=0, le=7)  # C-LOW-HOURS: iop week is low below this
    php_weekly_days: int = Field(4, ge=0, le=7)  # C-LOW-HOURS: php week is low below this
    iop_max_weekly_minutes: int = Field(1140, ge=0)  # C-HIGH-HOURS: iop week above this
    op_inactive_days: int = Field(90, ge=1)  # C-OP-INACTIVE


class RecertRules(BaseModel):
    """Recertification clocks (C-RECERT)."""

    model_config = _STRICT
    iop_days: int = Field(60, ge=0)
    php_days: int = Field(18, ge=0)
    php_every_days: int = Field(30, ge=1)  # PHP: after the first, every this many days
    enabled: bool = True


class DueRules(BaseModel):
    """Task dues by priority when a rule has no specific due (rules.md §4)."""

    model_config = _STRICT
    stat_hours: int = Field(4, ge=0)
    asap_days: int = Field(1, ge=0)
    urgent_days: int = Field(1, ge=0)
    routine_days: int = Field(7, ge=0)


#: Default ``scope.diagnoses`` (rules.md §2): ICD-10-CM patterns, compared without dots.
#: ``A-B`` is a range of 3-character categories, ``?`` matches one character, ``!`` excludes.
DEFAULT_BH_DIAGNOSES = (
    "F10-F99", "!F17", "R45851", "R4588", "T1491", "X71-X83", "T36-T65??2", "T711?2",
)  # fmt: skip

#: Default ``scope.services``: ``system|code`` (rules.md §2), checked against the code
#: systems: NUBC revenue codes 011x–015x with last digit 4 = psychiatric room and board
#: (ResDAC Revenue Center code book), 0204 psychiatric intensive care; HL7 service-category
#: 22 Mental Health and 12 Drug/Alcohol (HL7 UTG CodeSystem-service-category, v1.1.1;
#: 14 is Emergency Department, 25 Respite/Carer Support); SNOMED CT 394587001 Psychiatry.
NUBC_REVENUE = "https://www.nubc.org/CodeSystem/RevenueCodes"
SERVICE_CATEGORY = "http://terminology.hl7.org/CodeSystem/service-category"
SNOMED = "http://snomed.info/sct"
DEFAULT_BH_SERVICES = (
    *(f"{NUBC_REVENUE}|{c}" for c in ("0114", "0124", "0134", "0144", "0154", "0204")),
    f"{SERVICE_CATEGORY}|22",  # Mental Health (HL7 UTG CodeSystem service-category 1.1.1)
    f"{SERVICE_CATEGORY}|12",  # Drug/Alcohol
    f"{SNOMED}|394587001",  # Psychiatry (specialty)
)

DEFAULT_PSYCHOSIS = ("F20-F29", "F302", "F312", "F315", "F323", "F333")
DEFAULT_WITHDRAWAL = (
    "F1013", "F1023", "F1093", "F1113", "F1123", "F1193",
    "F1313", "F1323", "F1393", "F1913", "F1923", "F1993",
)  # fmt: skip


class SiteRules(BaseModel):
    """The site's calendar (rules.md §1, §8): every day, date and week is local."""

    model_config = _STRICT
    timezone: str = "UTC"  # an IANA name, checked against the pinned tzdata

    @model_validator(mode="after")
    def _zone(self) -> SiteRules:
        from pipeline.clock import zone  # the zone cache lives with the calendar helpers

        try:
            zone(self.timezone)
        except (KeyError, ValueError):
            raise ValueError(f"timezone: {self.timezone!r} is not an IANA time zone") from None
        return self


class IdentityRules(BaseModel):
    """Where the patient key's source comes from (contract §2)."""

    model_config = _STRICT
    source_from_meta: bool = False  # use the document's meta.source when no channel source
    default_source: str = ""  # else this ("" → the key is the plain <id>)


class ScopeRules(BaseModel):
    """What counts as behavioral-health care (rules.md §2)."""

    model_config = _STRICT
    stays: str = Field("behavioral", pattern="^(behavioral|all)$")
    diagnoses: Codes = DEFAULT_BH_DIAGNOSES
    services: Codes = DEFAULT_BH_SERVICES
    bh_care_days: int = Field(30, ge=0)  # "in BH care" this long after a discharge/ED/exit

    @model_validator(mode="after")
    def _lists(self) -> ScopeRules:
        from pipeline.codelists import check_patterns

        check_patterns("diagnoses", self.diagnoses)
        for s in self.services:
            if s.count("|") != 1 or not all(s.split("|")):
                raise ValueError(f"services: {s!r} must be 'system|code'")
        return self


class ContraRules(BaseModel):
    """Contraindications from Condition events (rules.md §4)."""

    model_config = _STRICT
    recent_days: int = Field(14, ge=0)
    psychosis: Codes = DEFAULT_PSYCHOSIS
    withdrawal: Codes = DEFAULT_WITHDRAWAL

    @model_validator(mode="after")
    def _lists(self) -> ContraRules:
        from pipeline.codelists import check_patterns

        check_patterns("psychosis", self.psychosis)
        check_patterns("withdrawal", self.withdrawal)
        return self


class ReferralRules(BaseModel):
    """Referral follow-through (rules.md §4 cool-down, §5 stall and expiry)."""

    model_config = _STRICT
    cooldown_days: int = Field(14, ge=0)
    cooldown_phq9_rise: int = Field(5, ge=0)
    accept_hours_stat: int = Field(24, ge=1)
    accept_hours_asap: int = Field(24, ge=1)
    accept_hours_urgent: int = Field(72, ge=1)
    accept_hours_routine: int = Field(168, ge=1)
    expire_days: int = Field(30, ge=1)


class HistoryRules(BaseModel):
    """How far back per-patient history is kept (rules.md §8)."""

    model_config = _STRICT
    retention_days: int = Field(400, ge=31)


class TimeRules(BaseModel):
    """Plausible event times (issue 11, rules.md §8): a time before ``earliest_year`` or
    more than ``horizon_days`` after the reference time (the wall clock live, ``--until``
    in a replay that has one) is invalid input, so a sentinel (0001-01-01, 9999-12-31) or a
    mistyped year never moves a patient's clock. The core refuses times outside
    1900–2199 whatever these say (``pipeline.decide.EARLIEST``/``LATEST``)."""

    model_config = _STRICT
    earliest_year: int = Field(1900, ge=1900, le=2199)
    horizon_days: int = Field(30, ge=0, le=36_500)  # a planned enrollment may start next week


class RoutingRules(BaseModel):
    """FHIR references outputs are routed to (contract §5); empty = not set."""

    model_config = _STRICT
    programs: dict[str, str] = Field(default_factory=dict)  # level → Organization/x
    case_management: str = ""  # owner of case-management Tasks
    requester: str = ""  # ServiceRequest.requester
    escalation: str = ""  # owner of an overdue safety Task

    @model_validator(mode="after")
    def _refs(self) -> RoutingRules:
        for level in self.programs:
            if level not in ("inpatient", "php", "iop", "op"):
                raise ValueError(f"programs.{level}: not a level of care (inpatient, php, iop, op)")
        refs = {**{f"programs.{k}": v for k, v in self.programs.items()},
                "case_management": self.case_management, "requester": self.requester,
                "escalation": self.escalation}  # fmt: skip
        for key, ref in refs.items():
            if ref and not _REF_RE.fullmatch(ref):
                raise ValueError(f"{key}: {ref!r} is not a FHIR reference like Organization/x")
        return self


_REF_RE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")


class RuleConfig(BaseModel):
    """The whole rule pack configuration; ``RuleConfig()`` is the rules.md default."""

    model_config = _STRICT
    transition: TransitionRules = TransitionRules()
    screening: ScreeningRules = ScreeningRules()
    followup: FollowUpRules = FollowUpRules()
    attendance: AttendanceRules = AttendanceRules()
    recert: RecertRules = RecertRules()
    dues: DueRules = DueRules()
    site: SiteRules = SiteRules()
    identity: IdentityRules = IdentityRules()
    scope: ScopeRules = ScopeRules()
    contra: ContraRules = ContraRules()
    referral: ReferralRules = ReferralRules()
    history: HistoryRules = HistoryRules()
    routing: RoutingRules = RoutingRules()
    time: TimeRules = TimeRules()


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
