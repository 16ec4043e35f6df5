# ruff: noqa: E501
"""The rule pack as data: one row per rule id, for the README's generated rule table
(``carepath rules``). Thresholds in the text come from ``DEFAULT_RULES``, so the table
follows the code. The behavior lives in the modules named in ``module``; their docstrings
carry the rationale and sources. tests/unit/test_core_decide.py checks that every
emitting rule here is exercised and that no emitted rule id is missing.
"""

from __future__ import annotations

from typing import NamedTuple

from pipeline.config import DEFAULT_RULES

REF = "reference/clinical-rules.md"
_T, _S, _A, _R = (
    DEFAULT_RULES.transition,
    DEFAULT_RULES.screening,
    DEFAULT_RULES.attendance,
    DEFAULT_RULES.recert,
)
_D, _F = DEFAULT_RULES.dues, DEFAULT_RULES.followup
_BETTER = f"last two PHQ-9 at this level < {_T.better_phq9_below}, ≥ {_T.better_min_days_apart} days apart, no C-SSRS moderate/high since the level began"
_REFER = "ServiceRequest + fulfill Task"


class RuleInfo(NamedTuple):
    id: str
    when: str
    output: str
    priority: str
    source: str
    module: str


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("T-DISCHARGE", f"discharge to the community; latest PHQ-9 / C-SSRS of the {_T.lookback_days} days before: C-SSRS high → none (C-CRISIS); PHQ-9 ≥ {_T.php_phq9_min} or C-SSRS moderate → php; PHQ-9 {_T.iop_phq9_min}–{_T.php_phq9_min - 1} or none → iop; < {_T.iop_phq9_min} → op",
             f"{_REFER} (step-down)", "urgent (php), else routine", f"{REF} §4a, §4c, §3b, §8 rule 27", "discharge"),
    RuleInfo("T-CRISIS", "C-SSRS high at effective level op/iop/php", f"{_REFER} → inpatient (step-up)",
             "stat", f"{REF} §4c, §6, §8 rules 1, 4", "transitions"),
    RuleInfo("T-OP-WORSE", f"at op: PHQ-9 ≥ {_T.op_worse_phq9_min}, GAD-7 ≥ {_T.op_worse_gad7_min} or C-SSRS moderate", f"{_REFER} → iop (step-up)",
             "urgent", f"{REF} §4a, §4c, §3d", "transitions"),
    RuleInfo("T-IOP-WORSE", f"at iop: last two PHQ-9 at this level both ≥ {_T.iop_worse_phq9_min}", f"{_REFER} → php (step-up)",
             "urgent", f"{REF} §4a, §3d, §8 rule 5", "transitions"),
    RuleInfo("T-PHP-BETTER", f"at php: {_BETTER}", f"{_REFER} → iop (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("T-IOP-BETTER", f"at iop: {_BETTER}", f"{_REFER} → op (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("C-FOLLOWUP", "discharge to the community", f"Task follow-up-7d, due end of day {_F.window_days} after the discharge date",
             "urgent", f"{REF} §7 (HEDIS FUH), §8 rule 22", "discharge"),
    RuleInfo("C-FOLLOWUP-MISSED", "follow-up-7d still open when its due passes", f"follow-up-7d → failed; Task follow-up-missed, +{_D.urgent_days} day",
             "urgent", f"{REF} §7 (HEDIS FUH), §8 rule 22", "deadlines"),
    RuleInfo("C-AMA", "discharge disposition aadvice", f"Task ama-outreach, +{_D.urgent_days} day", "urgent", f"{REF} §5 (UB-04 07), §8 rule 21", "discharge"),
    RuleInfo("C-CRISIS", "C-SSRS high (any level), or a discharge whose latest C-SSRS is high", f"Task crisis-evaluation, +{_D.stat_hours} h",
             "stat", f"{REF} §4c, §8 rule 1", "screening"),
    RuleInfo("C-SAFETY", "C-SSRS moderate", f"Task safety-plan, +{_D.urgent_days} day", "urgent", f"{REF} §4c, §8 rule 2", "screening"),
    RuleInfo("C-SI-SCREEN", f"PHQ-9 item 9 ≥ {_S.si_item9_min}", f"Task suicide-risk-screen, +{_D.urgent_days} day", "urgent", f"{REF} §4b, §8 rule 3", "screening"),
    RuleInfo("C-SUD", f"AUDIT-C ≥ {_S.sud_auditc_min}", f"Task sud-assessment, +{_D.routine_days} days", "routine", f"{REF} §4a", "screening"),
    RuleInfo("C-NO-SHOW", "no-show at effective level op/iop/php", f"Task no-show-outreach, +{_A.no_show_due_days} day", "routine", f"{REF} §5, §8 rule 17", "attendance"),
    RuleInfo("C-DISENGAGED", f"no-show streak since the last attended session reaches {_A.disengaged_no_shows}", f"Task engagement-review, +{_D.urgent_days} day",
             "urgent", f"{REF} §5, §8 rule 18", "attendance"),
    RuleInfo("C-LOW-HOURS", f"week end: iop (php) held {_A.low_hours_weeks} whole ISO weeks, each < {_A.iop_weekly_minutes} ({_A.php_weekly_minutes}) attended minutes",
             f"Task level-of-care-review, +{_D.routine_days} days", "routine", f"{REF} §3a, §3b, §1a, §8 rules 9–10", "deadlines"),
    RuleInfo("C-INACTIVE", f"at iop/php, {_A.inactive_days} days without an attended session since the later of level_since and the last session",
             f"Task discharge-review, +{_D.urgent_days} day", "urgent", f"{REF} §5, §8 rules 18, 20", "deadlines"),
    RuleInfo("C-RECERT", "enrollment (explicit, by attendance, by a completed referral) at iop or php",
             f"Task recertification, due level_since + {_R.iop_days} d (iop) / + {_R.php_days} d (php)", "routine", f"{REF} §3a, §3b, §8 rules 14–15", "placement"),
    RuleInfo("C-REFERRAL-FAILED", "referral Task updated to rejected or failed", f"Task referral-failed, +{_D.urgent_days} day; ServiceRequest revoked",
             "urgent", f"{REF} §3d (Anthem CG-BEH-04), §8 rule 11", "tasks"),
    RuleInfo("L-FOLLOWUP-MET", f"session attended below inpatient on day 1–{_F.window_days} after the discharge date", "follow-up-7d → completed",
             "—", f"{REF} §7 (HEDIS FUH)", "attendance"),
    RuleInfo("L-ENROLLED", "enrollment at L (explicit, by attendance, by a completed referral Task)",
             "pending referral → completed (target L) or cancelled/revoked", "—", "rules.md §2, §5", "placement"),
    RuleInfo("L-SUPERSEDED", "a new referral while one is pending", "old referral Task → cancelled, ServiceRequest → revoked",
             "—", "rules.md §3, §5", "context"),
    RuleInfo("L-READMITTED", "admission (or a discharge with no known admission)", "pending referral completed (to inpatient) or cancelled/revoked; follow-up-7d → cancelled",
             "—", f"{REF} §7 (FUH: only the last discharge counts)", "placement"),
    RuleInfo("L-DECEASED", "discharge disposition exp", "every open Task → cancelled, active ServiceRequest → revoked; nothing after",
             "—", f"{REF} §5 (end-of-treatment reason Died)", "discharge"),
)  # fmt: skip


def rule_table() -> list[dict[str, str]]:
    """id, when, output, priority, source of every rule, in rules.md order."""
    return [
        {"id": r.id, "when": r.when, "output": r.output, "priority": r.priority, "source": r.source}
        for r in RULES
    ]
