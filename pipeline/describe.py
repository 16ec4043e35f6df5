"""Words shared by the one-sentence explanations in Task ``description`` and
``statusReason`` (contract §5). Each rule writes its own sentence next to its logic, with
dates in the site's time zone (``Ctx.day``); free text received from case managers is
never copied into a description, so nothing identifying reaches one.
"""

from __future__ import annotations

from pipeline.levels import Level

LEVEL_NAME = {Level.OP: "OP", Level.IOP: "IOP", Level.PHP: "PHP", Level.INPATIENT: "inpatient"}


def lv(level: Level | None) -> str:
    """The name of a level for a sentence ("IOP"), or "no level"."""
    return LEVEL_NAME[level] if level is not None else "no level"
