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
_T, _S, _A, _R = (  # noqa: RUF100
    DEFAULT_RULES.transition,
    DEFAULT_RULES.screening,
    DEFAULT_RULES.attendance,
    DEFAULT_RULES.recert,
)
_D, _F = DEFAULT_RULES.dues, DEFAULT_RULES.followup
_C, _RF, _SC = DEFAULT_RULES.contra, DEFAULT_RULES.referral, DEFAULT_RULES.scope
_BETTER = f"baseline PHQ-9 > {_T.better_phq9_below - 1}; last two PHQ-9 at this level < {_T.better_phq9_below}, ≥ {_T.better_min_days_apart} days apart; no safety signal since the level began; no active contraindication"
_REFER = "ServiceRequest (proposal) + fulfill Task"
_BH = "patient in BH care"


class RuleInfo(NamedTuple):
    id: str
    when: str
    output: str
    priority: str
    source: str
    module: str


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("T-DISCHARGE", f"in-scope discharge to the community; {_T.lookback_days}-day lookback, first match: C-SSRS high → php; PHQ-9 ≥ {_T.php_phq9_min}, C-SSRS moderate, unresolved item 9 ≥ 1 or active contraindication → php; PHQ-9 {_T.iop_phq9_min}–{_T.php_phq9_min - 1} or none → iop; < {_T.iop_phq9_min} → op; one level up for a readmission within {_T.readmit_days} days",
             f"{_REFER} (step-down)", "stat (C-SSRS high), urgent (php or readmission), else routine", f"{REF} §4a, §4c, §3b, §7, §8 rule 27", "discharge"),
    RuleInfo("T-CRISIS", f"C-SSRS high, {_BH}, effective level op/iop/none, no pending referral to php/inpatient", f"{_REFER} → inpatient (step-up)",
             "stat", f"{REF} §4c, §6, §8 rules 1, 4", "transitions"),
    RuleInfo("T-OP-WORSE", f"at op: PHQ-9 ≥ {_T.php_phq9_min} → php; PHQ-9 ≥ {_T.op_worse_phq9_min}, GAD-7 ≥ {_T.op_worse_gad7_min} or C-SSRS moderate → iop", f"{_REFER} (step-up)",
             "urgent", f"{REF} §4a, §4c, §3d", "transitions"),
    RuleInfo("T-IOP-WORSE", f"at iop: last two PHQ-9 at this level ≥ {_T.iop_worse_phq9_min}, or one with a safety signal", f"{_REFER} → php (step-up)",
             "urgent", f"{REF} §4a, §3d, §8 rule 5", "transitions"),
    RuleInfo("T-PHP-BETTER", f"at php: {_BETTER}", f"{_REFER} → iop (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("T-IOP-BETTER", f"at iop: {_BETTER}", f"{_REFER} → op (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("T-EXIT", "program exit finished at php/iop, no pending referral", f"{_REFER} → next level down (step-down)", "routine (urgent with a safety signal)", "rules.md §4", "program"),
    RuleInfo("C-FOLLOWUP", "in-scope discharge to the community, or a finished php/iop exit", f"Task follow-up-7d, due end of day {_F.window_days}", "urgent", f"{REF} §7 (HEDIS FUH), §8 rule 22", "discharge"),
    RuleInfo("C-FOLLOWUP-MISSED", "follow-up-7d or follow-up-ed-7d open at its due", "that Task → failed; Task follow-up-missed, +1 day", "urgent", f"{REF} §7, §8 rule 22", "deadlines"),
    RuleInfo("C-FOLLOWUP-LOST", f"end of day {_F.lost_days} after the discharge (ED visit) with follow-up-missed open", "follow-up-missed → failed; Task lost-to-follow-up, +1 day", "urgent", f"{REF} §7", "deadlines"),
    RuleInfo("C-ED-FOLLOWUP", "in-scope ED visit", f"Task follow-up-ed-7d, due end of day {_F.window_days} (day 0–7 counts)", "urgent", f"{REF} §7 (HEDIS FUM)", "stays"),
    RuleInfo("C-DISCHARGE-RISK", "T-DISCHARGE with C-SSRS high", f"Task discharge-safety-review, +{_D.stat_hours} h", "stat", f"{REF} §4c, §8 rule 1", "discharge"),
    RuleInfo("C-EXIT-RISK", "T-EXIT or C-DROPOUT with a safety signal or an active contraindication", "Task discharge-safety-review, +1 day", "urgent", "rules.md §5", "program"),
    RuleInfo("C-ED-REVIEW", "in-scope ED visit at effective level op/iop/php", "Task level-of-care-review, +1 day", "urgent", "rules.md §5", "stays"),
    RuleInfo("C-DEATH-REVIEW", f"death while holding a level or within {_SC.bh_care_days} days after an in-scope discharge or exit", "Task death-review, +1 day", "urgent", f"{REF} §5", "stays"),
    RuleInfo("C-READMIT", f"in-scope admission within {_T.readmit_days} days of the last in-scope discharge to the community", "Task readmission-review, +1 day", "urgent", f"{REF} §7", "stays"),
    RuleInfo("C-AMA", "in-scope discharge with disposition aadvice", "Task ama-outreach, +1 day", "urgent", f"{REF} §5 (UB-04 07), §8 rule 21", "discharge"),
    RuleInfo("C-CRISIS", f"C-SSRS high, {_BH} (merged into an open one)", f"Task crisis-evaluation, +{_D.stat_hours} h", "stat", f"{REF} §4c, §8 rule 1", "screening"),
    RuleInfo("C-SAFETY", f"C-SSRS moderate, {_BH}", "Task safety-plan, +1 day", "urgent", f"{REF} §4c, §8 rule 2", "screening"),
    RuleInfo("C-SI-SCREEN", f"PHQ-9 item 9 ≥ {_S.si_item9_min}, {_BH}", "Task suicide-risk-screen, end of the local day", "urgent", f"{REF} §4b, §8 rule 3", "screening"),
    RuleInfo("C-SUD", f"AUDIT-C ≥ {_S.sud_auditc_min} (≥ {_S.sud_auditc_female_min} female), {_BH}", f"Task sud-assessment, +{_D.routine_days} days (+1 day when urgent)", f"routine (urgent at ≥ {_S.sud_urgent_min} or with withdrawal)", f"{REF} §4a", "screening"),
    RuleInfo("C-CONTRA", f"a contraindication (psychosis, withdrawal; onset within {_C.recent_days} days) becomes active at op/iop/php", "Task contraindication-review / withdrawal-management-review, +1 day", "urgent", f"{REF} §6, §8 rules 4, 6", "program"),
    RuleInfo("C-NO-SHOW", "BH no-show at effective level op/iop/php", f"Task no-show-outreach, +{_A.no_show_due_days} day (end of day with a safety signal)", "routine (asap with a safety signal)", f"{REF} §5, §8 rule 17", "attendance"),
    RuleInfo("C-DISENGAGED", f"{_A.disengaged_no_shows} consecutive BH no-shows", "Task engagement-review, +1 day", "urgent", f"{REF} §5, §8 rule 18", "attendance"),
    RuleInfo("C-DROPOUT", "program exit cancelled at php/iop", "Task engagement-review, +1 day", "urgent (asap with a safety signal)", f"{REF} §5", "program"),
    RuleInfo("C-LOW-HOURS", f"week end: iop (php) held 2 whole weeks, each < {_A.iop_weekly_minutes} ({_A.php_weekly_minutes}) minutes or < {_A.iop_weekly_days} ({_A.php_weekly_days}) days", "Task intensity-review, +7 days", "routine", f"{REF} §3a, §3b, §1a, §8 rules 9–10", "deadlines"),
    RuleInfo("C-HIGH-HOURS", f"week end: iop held 2 whole weeks, each > {_A.iop_max_weekly_minutes} minutes", "Task intensity-review, +7 days", "routine", f"{REF} §3a", "deadlines"),
    RuleInfo("C-INACTIVE", f"at iop/php, {_A.inactive_days} days without an attended session", "Task discharge-review, +1 day", "urgent", f"{REF} §5, §8 rules 18, 20", "deadlines"),
    RuleInfo("C-OP-INACTIVE", f"at op, {_A.op_inactive_days} days without an attended session", "Task discharge-review, +7 days", "routine", f"{REF} §5 (ODMHSAS)", "deadlines"),
    RuleInfo("C-RECERT", "enrollment at iop/php; again when the recertification Task is completed while the level is held", f"Task recertification, due level_since + k × {_R.iop_days} d (iop) / + {_R.php_days} d then every {_R.php_every_days} d (php)", "routine", f"{REF} §3a, §3b, §8 rules 14–15", "placement"),
    RuleInfo("C-REFERRAL-STALLED", f"referral Task still requested {_RF.accept_hours_stat} h (stat) / {_RF.accept_hours_urgent} h (urgent) / {_RF.accept_hours_routine} h (routine) after authoring", "Task referral-stalled, +1 day", "urgent", "rules.md §5", "deadlines"),
    RuleInfo("C-REFERRAL-EXPIRED", f"referral Task requested or accepted {_RF.expire_days} days after authoring", "Task → failed, ServiceRequest → revoked; then C-REFERRAL-FAILED", "—", "rules.md §5, §7", "deadlines"),
    RuleInfo("C-REFERRAL-FAILED", "referral Task rejected or failed (by a case manager or by expiry)", "Task referral-failed, +1 day; 14-day cool-down for step-ups to that level", "urgent", f"{REF} §3d, §8 rule 11", "tasks"),
    RuleInfo("L-FOLLOWUP-MET", f"BH session on day 1–{_F.window_days} after the discharge date (ED: day 0–{_F.window_days})", "follow-up-7d / follow-up-ed-7d → completed", "—", f"{REF} §7", "attendance"),
    RuleInfo("L-FOLLOWUP-LATE", f"BH session on day {_F.window_days + 1}–{_F.lost_days}", "follow-up-missed → completed", "—", f"{REF} §7", "attendance"),
    RuleInfo("L-SCREEN-DONE", "a case manager completes suicide-risk-screen / safety-plan", "the safety signal it answered is resolved", "—", "rules.md §6", "tasks"),
    RuleInfo("L-ENROLLED", "enrollment at L (explicit, by attendance at the pending target or with no level, by a completed referral)", "pending referral → completed (target L), kept (a step-up above L), else cancelled; level-bound Tasks cancelled", "—", "rules.md §3, §6", "placement"),
    RuleInfo("L-SUPERSEDED", "a new referral while one is pending", "old referral Task → cancelled, ServiceRequest → revoked", "—", "rules.md §4, §6", "context"),
    RuleInfo("L-STALL-CLOSED", "a referral reaches a terminal state", "its referral-stalled Task → completed / cancelled", "—", "rules.md §7", "context"),
    RuleInfo("L-READMITTED", "in-scope admission", "pending referral completed (to inpatient) or cancelled; follow-up Tasks → cancelled", "—", f"{REF} §7", "placement"),
    RuleInfo("L-RETRACTED", "an applied assessment or condition entered-in-error, or corrected to another value", "Tasks / referrals it triggered → cancelled / revoked (source corrected when being worked)", "—", "rules.md §6", "retraction"),
    RuleInfo("L-DECEASED", "discharge disposition exp (any scope) or a death event; reversed by the Patient without deceased[x] or the death Encounter entered-in-error", "every open Task → cancelled, ServiceRequest → revoked; reversal: Task record-correction-review (urgent)", "—", f"{REF} §5", "stays"),
    RuleInfo("L-OVERDUE", "a case-management Task's due is reached (not referral or 7-day follow-up Tasks)", "businessStatus overdue (priority unchanged); safety Tasks → routing.escalation", "—", "rules.md §5", "deadlines"),
)  # fmt: skip


def rule_table() -> list[dict[str, str]]:
    """id, when, output, priority, source of every rule, in rules.md order."""
    return [
        {"id": r.id, "when": r.when, "output": r.output, "priority": r.priority, "source": r.source}
        for r in RULES
    ]
