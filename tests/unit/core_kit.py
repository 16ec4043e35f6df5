"""Test kit for the functional core: build normalized events directly (no FHIR) and run
them through ``decide``/``advance``, checking purity on every step."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline.config import DEFAULT_RULES, RuleConfig
from pipeline.decide import Step, advance, decide
from pipeline.events import (
    AssessmentRecorded,
    Disposition,
    Event,
    Instrument,
    PatientAdmitted,
    PatientDischarged,
    ProgramEnrolled,
    ProgramExited,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
)
from pipeline.levels import Level
from pipeline.outputs import Output, ReferralRecord, TaskRecord
from pipeline.state import PatientState

_n = itertools.count(1)

DISPOSITIONS = {
    "home": Disposition.COMMUNITY,
    "aadvice": Disposition.AGAINST_ADVICE,
    "psy": Disposition.TRANSFER,
    "exp": Disposition.EXPIRED,
}
LEVELS = {lv.value: lv for lv in Level}


def t(text: str) -> datetime:
    """'2026-03-01' or '2026-03-01T08:00' (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _lv(level: str | Level | None) -> Level | None:
    if level is None or isinstance(level, Level):
        return level
    return LEVELS[level]


class Journey:
    """One patient's event sequence through the core, with every step kept."""

    def __init__(self, patient: str = "p1", cfg: RuleConfig = DEFAULT_RULES) -> None:
        self.patient = patient
        self.cfg = cfg
        self.state: PatientState | None = None
        self.steps: list[Step] = []
        self.outputs: list[Output] = []

    # -- running --------------------------------------------------------------------------
    def send(self, event: Event) -> Step:
        before = copy.deepcopy(self.state)
        step = decide(self.state, event, self.cfg)
        assert self.state == before, "decide mutated its input state"
        return self._keep(step)

    def tick(self, when: str) -> Step:
        assert self.state is not None
        before = copy.deepcopy(self.state)
        step = advance(self.state, t(when), self.cfg)
        assert self.state == before, "advance mutated its input state"
        return self._keep(step)

    def _keep(self, step: Step) -> Step:
        self.steps.append(step)
        self.outputs.extend(step.outputs)
        self.state = step.state
        return step

    def _base(self, when: str, ref: str | None, eid: str | None) -> dict[str, Any]:
        n = next(_n)
        return {
            "event_id": eid or f"ev-{n}",
            "patient": self.patient,
            "time": t(when),
            "ref": ref if ref is not None else f"Resource/{eid or f'r{n}'}",
        }

    # -- events ---------------------------------------------------------------------------
    def admit(self, when: str, *, eid: str | None = None, ref: str | None = None) -> Step:
        return self.send(PatientAdmitted(**self._base(when, ref, eid)))

    def discharge(
        self, when: str, disp: str = "home", *, eid: str | None = None, ref: str | None = None
    ) -> Step:
        b = self._base(when, ref, eid)
        return self.send(
            PatientDischarged(**b, disposition=DISPOSITIONS[disp], disposition_code=disp)
        )

    def enroll(self, when: str, level: str, *, eid: str | None = None) -> Step:
        return self.send(ProgramEnrolled(**self._base(when, None, eid), level=LEVELS[level]))

    def exit(self, when: str, level: str, *, eid: str | None = None) -> Step:
        return self.send(ProgramExited(**self._base(when, None, eid), level=LEVELS[level]))

    def assess(self, when: str, instrument: str, value: int, *, eid: str | None = None) -> Step:
        inst = Instrument(instrument)
        return self.send(
            AssessmentRecorded(**self._base(when, None, eid), instrument=inst, value=value)
        )

    def attend(
        self,
        when: str,
        level: str | None = "iop",
        minutes: int = 180,
        appointments: Iterable[str] | None = None,
        *,
        eid: str | None = None,
    ) -> Step:
        b = self._base(when, None, eid)
        appts = tuple(appointments) if appointments is not None else (f"appt-{b['event_id']}",)
        return self.send(
            SessionAttended(**b, level=_lv(level), minutes=minutes, appointments=appts)
        )

    def no_show(self, when: str, level: str | None = "iop", *, eid: str | None = None) -> Step:
        return self.send(SessionMissed(**self._base(when, None, eid), level=_lv(level)))

    def update(
        self,
        task_id: str,
        status: str,
        when: str,
        reason: str | None = None,
        *,
        eid: str | None = None,
    ) -> Step:
        b = self._base(when, f"Task/{task_id}", eid)
        return self.send(TaskUpdated(**b, task_id=task_id, status=status, reason=reason))

    # -- reading --------------------------------------------------------------------------
    def final(self) -> dict[str, Output]:
        last: dict[str, Output] = {}
        for out in self.outputs:
            last[out.id] = out
        return last

    def tasks(self, code: str | None = None) -> list[TaskRecord]:
        found = [o for o in self.final().values() if isinstance(o, TaskRecord)]
        return [o for o in found if code is None or o.code == code]

    def task(self, code: str) -> TaskRecord:
        found = self.tasks(code)
        assert len(found) == 1, f"{len(found)} tasks with code {code}: {found}"
        return found[0]

    def referrals(self) -> list[ReferralRecord]:
        return [o for o in self.final().values() if isinstance(o, ReferralRecord)]

    def rules_emitted(self) -> set[str]:
        return {o.rule for o in self.outputs}

    def summary(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The shape of scenarios/*.expected.json: tasks and referrals, final states."""
        srs = {r.id: r for r in self.referrals()}
        tasks = []
        for tk in self.tasks():
            row: dict[str, Any] = {"patient": tk.patient, "code": tk.code, "status": tk.status,
                                   "priority": tk.priority}  # fmt: skip
            if tk.code == "fulfill":
                assert tk.focus is not None
                row["target"] = srs[tk.focus.split("/", 1)[1]].level.value
            tasks.append(row)
        refs = [{"patient": r.patient, "level": r.level.value, "direction": r.direction,
                 "status": r.status} for r in srs.values()]  # fmt: skip
        return tasks, refs
