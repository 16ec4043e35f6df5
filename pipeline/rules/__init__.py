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
"""
