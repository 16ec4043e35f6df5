"""The rule pack (rules.md §2–§5), one module per rule family:

- ``placement``: level changes, L-READMITTED, L-ENROLLED, C-RECERT
- ``discharge``: T-DISCHARGE, C-FOLLOWUP, C-AMA, L-DECEASED, C-CRISIS at discharge
- ``screening``: assessment bookkeeping, C-CRISIS, C-SAFETY, C-SI-SCREEN, C-SUD
- ``transitions``: T-CRISIS, T-OP-WORSE, T-IOP-WORSE, T-PHP-BETTER, T-IOP-BETTER
- ``attendance``: minutes, streaks, L-FOLLOWUP-MET, C-NO-SHOW, C-DISENGAGED
- ``deadlines``: the clock, C-FOLLOWUP-MISSED, C-LOW-HOURS, C-INACTIVE
- ``tasks``: the Task state machine, C-REFERRAL-FAILED
- ``context``: the emit primitives, L-SUPERSEDED
- ``catalog``: the rule table

Where rules.md leaves room, the pack decides as a case manager would expect (each choice
is also in the docstring of the function that makes it):

1. T-DISCHARGE reads the latest PHQ-9 and the latest C-SSRS taken in
   [discharge − 30 days, discharge]; a later "low" C-SSRS overrides an earlier "high".
2. C-SSRS high at discharge: no referral, and C-CRISIS fires at the discharge itself
   (trigger = the discharge event) unless a crisis-evaluation Task is still open.
3. T-CRISIS needs an effective level op/iop/php; with no level at all only C-CRISIS fires.
4. "At this level" means taken at or after the effective since; an assessment from before
   it (a late one) moves no level. The two-PHQ-9 rules fire only when the new value is one
   of the last two at this level. "No C-SSRS moderate/high since level_since" uses the
   effective since.
5. Enrollment at the level already held is a no-op (no new C-RECERT, level_since kept,
   pending referral untouched); an admission while inpatient keeps level_since.
6. An attended session enrolls a patient with no level only if it is not older than the
   moment the level became none; a session with no level never enrolls but does meet the
   7-day follow-up; attended minutes of every session count for the week, once per
   Appointment (or per Encounter when it names no Appointment).
7. C-DISENGAGED fires when the no-show streak reaches 3, once per streak, with no level
   condition; late no-shows before the last attended session do not count.
8. C-INACTIVE fires once per inactivity period and re-arms on a later attended session or
   a level change; C-LOW-HOURS and C-INACTIVE read ``level`` (not the effective level).
9. Program exit leaves open Tasks open (the case manager closes them).
10. A case manager's update re-publishes the Task with the new status; re-sending the
    current status is a no-op; a referral Task cancelled or entered-in-error revokes its
    ServiceRequest without C-REFERRAL-FAILED. A terminal Task keeps only its id and status
    in state, so moving it to entered-in-error is recorded but not re-published.
11. A refused Task update (illegal move, judged after the clock has moved to its time)
    changes nothing: its clock move and any deadline outputs are discarded with it (they
    fire at the next event or tick), and it is not remembered as seen, so a re-send is
    refused again; an update for a Task
    id never emitted is ignored. For a deceased patient every event is ignored (an illegal
    Task update is still refused).
12. A discharge that arrives after a session already recorded in its 7-day window opens
    C-FOLLOWUP already met. Level changes of late events otherwise apply in arrival order.
13. A late event moves no deadline back: deadlines already due after it fire at the next
    event or tick, authored at their due time.
"""
