# ruff: noqa: E501
"""The rule pack as data: one row per rule id, for the README's generated rule table.

The behavior lives in the modules named in ``module``; their docstrings carry the full
rationale. ``tests/unit/test_rules_catalog.py`` checks that every id here is emitted by
some test and that no emitted rule id is missing here.
"""

from __future__ import annotations

from typing import NamedTuple

REF = "reference/clinical-rules.md"


class RuleInfo(NamedTuple):
    id: str
    when: str
    output: str
    priority: str
    source: str
    module: str


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("T-DISCHARGE", "discharge to the community; latest PHQ-9 / C-SSRS of the 30 days before: C-SSRS high → none (C-CRISIS); PHQ-9 ≥ 20 or C-SSRS moderate → php; 10–19 or none → iop; < 10 → op",
             "ServiceRequest + fulfill Task (step-down)", "urgent (php), else routine", f"{REF} §4a, §4c, §3b, §8 rule 27", "discharge"),
    RuleInfo("T-CRISIS", "C-SSRS high at effective level op/iop/php", "ServiceRequest + fulfill Task → inpatient (step-up)",
             "stat", f"{REF} §4c, §6, §8 rules 1, 4", "transitions"),
    RuleInfo("T-OP-WORSE", "at op: PHQ-9 ≥ 15, GAD-7 ≥ 15 or C-SSRS moderate", "ServiceRequest + fulfill Task → iop (step-up)",
             "urgent", f"{REF} §4a, §4c, §3d", "transitions"),
    RuleInfo("T-IOP-WORSE", "at iop: last two PHQ-9 at this level both ≥ 20", "ServiceRequest + fulfill Task → php (step-up)",
             "urgent", f"{REF} §4a, §3d, §8 rule 5", "transitions"),
    RuleInfo("T-PHP-BETTER", "at php: last two PHQ-9 < 10, ≥ 7 days apart, no C-SSRS moderate/high since the level began",
             "ServiceRequest + fulfill Task → iop (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("T-IOP-BETTER", "at iop: last two PHQ-9 < 10, ≥ 7 days apart, no C-SSRS moderate/high since the level began",
             "ServiceRequest + fulfill Task → op (step-down)", "routine", f"{REF} §4b, §8 rule 8", "transitions"),
    RuleInfo("C-FOLLOWUP", "discharge to the community", "Task follow-up-7d, due end of day 7 after the discharge date",
             "urgent", f"{REF} §7 (HEDIS FUH), §8 rule 22", "discharge"),
    RuleInfo("C-FOLLOWUP-MISSED", "follow-up-7d still open when its due passes", "follow-up-7d → failed; Task follow-up-missed, +1 day",
             "urgent", f"{REF} §7 (HEDIS FUH), §8 rule 22", "deadlines"),
    RuleInfo("C-AMA", "discharge disposition aadvice", "Task ama-outreach, +1 day", "urgent", f"{REF} §5 (UB-04 07), §8 rule 21", "discharge"),
    RuleInfo("C-CRISIS", "C-SSRS high (any level), or at a discharge whose latest C-SSRS is high", "Task crisis-evaluation, +4 h",
             "stat", f"{REF} §4c, §8 rule 1", "screening"),
    RuleInfo("C-SAFETY", "C-SSRS moderate", "Task safety-plan, +1 day", "urgent", f"{REF} §4c, §8 rule 2", "screening"),
    RuleInfo("C-SI-SCREEN", "PHQ-9 item 9 ≥ 1", "Task suicide-risk-screen, +1 day", "urgent", f"{REF} §4b, §8 rule 3", "screening"),
    RuleInfo("C-SUD", "AUDIT-C ≥ 4", "Task sud-assessment, +7 days", "routine", f"{REF} §4a", "screening"),
    RuleInfo("C-NO-SHOW", "no-show at effective level op/iop/php", "Task no-show-outreach, +1 day", "routine", f"{REF} §5, §8 rule 17", "attendance"),
    RuleInfo("C-DISENGAGED", "no-show streak since the last attended session reaches 3", "Task engagement-review, +1 day",
             "urgent", f"{REF} §5, §8 rule 18", "attendance"),
    RuleInfo("C-LOW-HOURS", "week end: iop (php) held two whole ISO weeks, each < 540 (1200) attended minutes",
             "Task level-of-care-review, +7 days", "routine", f"{REF} §3a, §3b, §1a, §8 rules 9–10", "deadlines"),
    RuleInfo("C-INACTIVE", "at iop/php, 14 days without an attended session since the later of level_since and the last session",
             "Task discharge-review, +1 day", "urgent", f"{REF} §5, §8 rules 18, 20", "deadlines"),
    RuleInfo("C-RECERT", "enrollment (explicit, by attendance, by a completed referral) at iop or php",
             "Task recertification, due level_since + 60 d (iop) / + 18 d (php)", "routine", f"{REF} §3a, §3b, §8 rules 14–15", "placement"),
    RuleInfo("C-REFERRAL-FAILED", "referral Task updated to rejected or failed", "Task referral-failed, +1 day; ServiceRequest revoked",
             "urgent", f"{REF} §3d (Anthem CG-BEH-04), §8 rule 11", "tasks"),
    RuleInfo("L-FOLLOWUP-MET", "session attended below inpatient on day 1–7 after the discharge date", "follow-up-7d → completed",
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
