"""Task updates that break the Task state machine (rules.md §5).

The pipeline must have emitted the Task first: an admission, a PHQ-9 and a discharge home
of patient ``hx-sm`` (a behavioral-health stay: principal diagnosis F33.2) open a referral
Task (``fulfill``, to IOP) and a ``follow-up-7d`` Task. Their ids are computed by running
the engine on those events; then case-manager updates walk both Tasks through legal moves,
with forbidden ones in between. The generator checks itself: each line marked invalid is
rejected by the core exactly once, each valid line by nothing.
"""

from __future__ import annotations

import orjson

from agents.engine import Engine
from pipeline.config import DEFAULT_RULES
from pipeline.outputs import TaskRecord
from schemas.ingest import Limits
from tests.hostile.corpus_kit import Line, invalid, valid
from tests.hostile.templates import BASE, ICD10CM, LOINC, V3, cc

PATIENT = "hx-sm"
ILLEGAL = "is not an allowed transition"
FUTURE = 8  # the position in MOVES of the refused update dated months ahead
#: (which Task, new status, legal?) in order; times one hour apart.
MOVES: list[tuple[str, str, bool]] = [
    ("referral", "completed", False),
    ("referral", "in-progress", False),
    ("referral", "on-hold", False),
    ("referral", "failed", False),
    ("referral", "received", False),
    ("referral", "draft", False),
    ("follow-up", "on-hold", False),
    ("follow-up", "failed", False),
    ("referral", "completed", False),  # dated months ahead (FUTURE): it moves no clock
    ("referral", "accepted", True),
    ("referral", "requested", False),
    ("referral", "rejected", False),
    ("referral", "ready", False),
    ("referral", "in-progress", True),
    ("referral", "accepted", False),
    ("follow-up", "cancelled", True),
    ("follow-up", "in-progress", False),
    ("follow-up", "completed", False),
    ("follow-up", "requested", False),
    ("referral", "on-hold", True),
    ("referral", "accepted", False),
    ("referral", "completed", True),
    ("referral", "in-progress", False),
    ("referral", "cancelled", False),
    ("referral", "entered-in-error", True),
    ("referral", "completed", False),
]


def setup_events() -> list[bytes]:
    enc = {
        "resourceType": "Encounter",
        "id": "hx-sm-stay",
        "status": "in-progress",
        "class": {"system": V3, "code": "IMP"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": "2026-04-01T08:00:00Z"},
        "reasonCode": [cc(ICD10CM, "F33.2")],  # in scope: a BH principal diagnosis
    }
    obs = {
        "resourceType": "Observation",
        "id": "hx-sm-phq9",
        "status": "final",
        "code": cc(LOINC, "44261-6"),
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-04-03T10:00:00Z",
        "valueInteger": 14,
    }
    done = {
        **enc,
        "status": "finished",
        "meta": {"versionId": "2"},
        "period": {"start": "2026-04-01T08:00:00Z", "end": "2026-04-05T11:00:00Z"},
    }
    return [orjson.dumps(d) for d in (enc, obs, done)]


def task_update(task_id: str, status: str, hour: int) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Task",
            "id": task_id,
            "status": status,
            "intent": "order",
            "for": {"reference": f"Patient/{PATIENT}"},
            "lastModified": f"2026-04-{5 + hour // 24:02d}T{hour % 24:02d}:30:00Z",
        }
    )


def task_cases() -> list[Line]:
    engine = Engine(DEFAULT_RULES, Limits(), BASE)
    lines: list[Line] = []
    tasks: dict[str, str] = {}
    for raw in setup_events():
        result = engine.feed(raw)
        assert result.errors == []
        for out in result.outputs:
            if isinstance(out, TaskRecord):
                tasks["referral" if out.code == "fulfill" else out.code] = out.id
        lines.append(valid(raw))
    tasks["follow-up"] = tasks.pop("follow-up-7d")
    for n, (which, status, legal) in enumerate(MOVES):
        raw = task_update(tasks[which], status, 12 + n)
        if n == FUTURE:
            raw = orjson.dumps({**orjson.loads(raw), "lastModified": "2026-09-01T00:00:00Z"})
        rejected = engine.feed(raw).errors
        assert len(rejected) == (0 if legal else 1), (which, status, rejected)
        case = f"task:{n}:{which}->{status}"
        lines.append(valid(raw) if legal else invalid(case, raw, "Task.status", ILLEGAL))
    return lines
