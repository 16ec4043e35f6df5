"""The rule pack v2.2 (rules.md §2–§8), one module per rule family:

- ``placement``: level changes, L-READMITTED, L-ENROLLED, program exit, C-RECERT
- ``stays``: admissions, ED visits, medical stays, C-READMIT, C-ED-FOLLOWUP, C-ED-REVIEW,
  C-DEATH-REVIEW, L-DECEASED and its reversal
- ``discharge``: T-DISCHARGE, C-FOLLOWUP, C-AMA, C-DISCHARGE-RISK
- ``screening``: assessment bookkeeping, C-CRISIS, C-SAFETY, C-SI-SCREEN, C-SUD
- ``signals``: the safety signal, contraindications, "in BH care"
- ``transitions``: T-CRISIS, T-OP-WORSE, T-IOP-WORSE, T-PHP-BETTER, T-IOP-BETTER
- ``program``: T-EXIT, C-DROPOUT, C-EXIT-RISK, C-CONTRA
- ``attendance``: minutes and days, streaks, L-FOLLOWUP-MET/-LATE, C-NO-SHOW, C-DISENGAGED
- ``deadlines``: the clock, C-FOLLOWUP-MISSED/-LOST, C-REFERRAL-EXPIRED/-STALLED,
  L-OVERDUE, C-INACTIVE, C-OP-INACTIVE, C-LOW-HOURS, C-HIGH-HOURS
- ``retraction``: L-RETRACTED
- ``tasks``: the Task state machine, L-SCREEN-DONE, C-RECERT repeats, C-REFERRAL-FAILED
- ``context``: the emit primitives, safety-Task merge, L-SUPERSEDED, L-STALL-CLOSED
- ``catalog``: the rule table

Where rules.md v2.2 leaves room, the pack decides as a clinician or case manager would
expect (each choice is also in the docstring of the function that makes it):

1. T-CRISIS reads its level list as the §4 table writes it (OP, IOP or no level); a PHP
   patient with C-SSRS high gets the stat crisis Task (C-CRISIS), not an inpatient referral.
2. C-DEATH-REVIEW is for ``death`` events; an in-hospital ``exp`` discharge is L-DECEASED
   only. Its 30-day window counts in-scope discharges (transfers included) and program
   exits, not ED visits.
3. A referral whose trigger is retracted while a person works its Task keeps its
   ServiceRequest active; the Task gets ``businessStatus`` source corrected.
4. A merged safety Task keeps its first sentence and the newest trigger.
5. L-OVERDUE never changes priority (§5, §0 over §6's "one step up"); expiry applies to
   ``requested``/``accepted`` referrals (§7 over §5's "on-hold").
6. A session with no service codes counts attendance (minutes, days, no-show streak) for a
   patient who holds a level, and nothing else; otherwise it is ignored with a reason.
7. L-SCREEN-DONE resolves the item 9 and moderate C-SSRS signals up to the completion time.
8. The cool-down compares the latest PHQ-9 now with the latest at the referral's authoring.
9. Deadlines that open a Task tie in the §5 rule-table order (week checks, inactivity,
   referral stall); a clock jump's week check fires once, at the latest Monday it covers.
10. A late-arriving session from before a referral was made does not enroll; a discharge
    (exit, ED visit) that arrives after a BH session already in its window opens its
    follow-up already met.
11. "One PHQ-9 ≥ 20 with a safety signal" (T-IOP-WORSE) is the latest PHQ-9 at the level.
12. A refused Task update changes nothing (its clock move and deadline outputs are
    discarded with it); an update of a Task the patient's state does not hold is ignored
    with a reason.
13. A late event moves no deadline back: deadlines already due after it fire at the next
    event or tick, authored at their due time.
"""
