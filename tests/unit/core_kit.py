"""Test kit for the functional core: build normalized v2 events directly (no FHIR) and run
them through ``decide``/``advance``, checking purity on every step.

Every care-task code, status and priority comes from ``pipeline.codes`` (DESIGN.md
convention 13); tests import them from here or from there, never as bare strings.
Defaults make the common case short: a stay is behavioral health (``bh=True``), a session
carries a BH level or service code, an assessment is version ``1`` of its own resource.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.codes import CareTask, Status
from pipeline.config import DEFAULT_RULES, RuleConfig, parse_rules
from pipeline.decide import Step, advance, decide
from pipeline.events import (
    AssessmentRecorded,
    ConditionRecorded,
    Contra,
    Disposition,
    EdVisited,
    Event,
    Instrument,
    PatientAdmitted,
    PatientDied,
    PatientDischarged,
    PatientRecorded,
    ProgramEnrolled,
    ProgramExited,
    Retracted,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
)
from pipeline.levels import Level
from pipeline.outputs import Output, ReferralRecord, TaskRecord
from pipeline.scope import OUT_OF_SCOPE_STAY
from pipeline.state import PatientState

_n = itertools.count(1)

DISPOSITIONS = {
    "home": Disposition.COMMUNITY,
    "aadvice": Disposition.AGAINST_ADVICE,
    "psy": Disposition.TRANSFER,
    "exp": Disposition.EXPIRED,
}
LEVELS = {lv.value: lv for lv in Level}
BH_SCOPE = "principal diagnosis F33.2"
MEDICAL_SCOPE = f"{OUT_OF_SCOPE_STAY} (principal diagnosis M17.11, no behavioral-health service)"
NEW_YORK = "America/New_York"


def t(text: str) -> datetime:
    """'2026-03-01' or '2026-03-01T08:00' (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str = NEW_YORK) -> datetime:
    """A wall time in ``zone`` as a UTC instant ('2026-03-08T01:30' New York)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def iso(when: str | datetime) -> str:
    return when.astimezone(UTC).isoformat()[:19] if isinstance(when, datetime) else when


def rules(**sections: dict[str, Any]) -> RuleConfig:
    """A configuration with some sections overridden, e.g. ``rules(site={"timezone": ...})``."""
    return parse_rules(sections)


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

    def tick(self, when: str | datetime) -> Step:
        assert self.state is not None
        before = copy.deepcopy(self.state)
        moment = when if isinstance(when, datetime) else t(when)
        step = advance(self.state, moment, self.cfg)
        assert self.state == before, "advance mutated its input state"
        return self._keep(step)

    def _keep(self, step: Step) -> Step:
        self.steps.append(step)
        self.outputs.extend(step.outputs)
        self.state = step.state
        return step

    def _base(self, when: str | datetime, ref: str | None, eid: str | None) -> dict[str, Any]:
        n = next(_n)
        return {
            "event_id": eid or f"ev-{n}",
            "patient": self.patient,
            "time": when if isinstance(when, datetime) else t(when),
            "ref": ref if ref is not None else f"Resource/{eid or f'r{n}'}",
        }

    # -- stays ----------------------------------------------------------------------------
    def admit(
        self, when: str | datetime, *, bh: bool = True, eid: str | None = None,
        ref: str | None = None,
    ) -> Step:  # fmt: skip
        scope = BH_SCOPE if bh else MEDICAL_SCOPE
        return self.send(PatientAdmitted(**self._base(when, ref, eid), bh=bh, scope=scope))

    def discharge(
        self, when: str | datetime, disp: str = "home", *, bh: bool = True,
        eid: str | None = None, ref: str | None = None,
    ) -> Step:  # fmt: skip
        b = self._base(when, ref, eid)
        scope = BH_SCOPE if bh else MEDICAL_SCOPE
        return self.send(
            PatientDischarged(
                **b, bh=bh, scope=scope, disposition=DISPOSITIONS[disp], disposition_code=disp
            )
        )

    def ed_visit(
        self, when: str | datetime, *, bh: bool = True, eid: str | None = None,
        ref: str | None = None,
    ) -> Step:  # fmt: skip
        scope = BH_SCOPE if bh else MEDICAL_SCOPE
        return self.send(EdVisited(**self._base(when, ref, eid), bh=bh, scope=scope))

    def stay(self, admitted: str, discharged: str, disp: str = "home", *, bh: bool = True) -> Step:
        """An admission and the discharge of the same Encounter."""
        ref = f"Encounter/stay-{next(_n)}"
        self.admit(admitted, bh=bh, ref=ref)
        return self.discharge(discharged, disp, bh=bh, ref=ref)

    # -- programs -------------------------------------------------------------------------
    def enroll(
        self, when: str | datetime, level: str, *, eid: str | None = None, ref: str | None = None
    ) -> Step:
        return self.send(ProgramEnrolled(**self._base(when, ref, eid), level=LEVELS[level]))

    def exit(
        self, when: str | datetime, level: str, finished: bool = True, *, eid: str | None = None
    ) -> Step:
        b = self._base(when, None, eid)
        return self.send(ProgramExited(**b, level=LEVELS[level], finished=finished))

    # -- clinical facts -------------------------------------------------------------------
    def assess(
        self, when: str | datetime, instrument: str, value: int, *, eid: str | None = None,
        ref: str | None = None, version: str = "1",
    ) -> Step:  # fmt: skip
        inst = Instrument(instrument)
        b = self._base(when, ref, eid)
        return self.send(AssessmentRecorded(**b, instrument=inst, value=value, version=version))

    def condition(
        self, when: str | datetime, kind: str = "psychosis", code: str | None = None,
        active: bool = True, *, eid: str | None = None, ref: str | None = None,
    ) -> Step:  # fmt: skip
        contra = Contra(kind)
        code = code or ("F20.9" if contra is Contra.PSYCHOSIS else "F10.230")
        b = self._base(when, ref, eid)
        return self.send(ConditionRecorded(**b, kind=contra, code=code, active=active))

    def retract(
        self, ref: str, when: str | datetime | None = None, *, eid: str | None = None
    ) -> Step:
        """``ref`` entered-in-error; without ``when`` the document had no time of its own."""
        b = self._base(when or "1970-01-01", ref, eid)
        return self.send(Retracted(**b, timed=when is not None))

    def patient_record(
        self, when: str | datetime | None = None, *, female: bool = False,
        deceased: bool = False, display: str | None = None, ref: str | None = None,
        eid: str | None = None,
    ) -> Step:  # fmt: skip
        b = self._base(when or "1970-01-01", ref or f"Patient/{self.patient}", eid)
        return self.send(PatientRecorded(**b, display=display, female=female,
                                         deceased=deceased, timed=when is not None))  # fmt: skip

    def die(
        self, when: str | datetime | None = None, *, ref: str | None = None,
        eid: str | None = None,
    ) -> Step:  # fmt: skip
        b = self._base(when or "1970-01-01", ref or f"Patient/{self.patient}", eid)
        return self.send(PatientDied(**b, timed=when is not None))

    # -- sessions -------------------------------------------------------------------------
    def attend(
        self, when: str | datetime, level: str | None = "iop", minutes: int = 180,
        appointments: Iterable[str] | None = None, *, bh: bool = True, eid: str | None = None,
        ref: str | None = None,
    ) -> Step:  # fmt: skip
        b = self._base(when, ref, eid)
        appts = tuple(appointments) if appointments is not None else (f"appt-{b['event_id']}",)
        return self.send(
            SessionAttended(**b, level=_lv(level), minutes=minutes, appointments=appts, bh=bh)
        )

    def no_show(
        self, when: str | datetime, level: str | None = "iop", *, bh: bool = True,
        eid: str | None = None,
    ) -> Step:  # fmt: skip
        return self.send(SessionMissed(**self._base(when, None, eid), level=_lv(level), bh=bh))

    def update(
        self, task_id: str, status: str, when: str | datetime, reason: str | None = None, *,
        owner: str | None = None, note: str | None = None, eid: str | None = None,
    ) -> Step:  # fmt: skip
        b = self._base(when, f"Task/{task_id}", eid)
        return self.send(
            TaskUpdated(**b, task_id=task_id, status=status, reason=reason, owner=owner, note=note)
        )

    def complete(self, code: str, when: str | datetime) -> Step:
        """A case manager completes the open Task with this code."""
        return self.update(self.open(code).id, Status.COMPLETED, when)

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

    def open(self, code: str) -> TaskRecord:
        """The one non-terminal Task with this code."""
        found = [tk for tk in self.tasks(code) if tk.open]
        assert len(found) == 1, f"{len(found)} open tasks with code {code}: {found}"
        return found[0]

    def codes(self, *, open_only: bool = False) -> set[str]:
        return {tk.code for tk in self.tasks() if tk.open or not open_only}

    def referrals(self) -> list[ReferralRecord]:
        return [o for o in self.final().values() if isinstance(o, ReferralRecord)]

    def active(self) -> list[tuple[str, str, str, str]]:
        """(rule, level, direction, priority) of every active ServiceRequest."""
        return [
            (r.rule, r.level.value, r.direction, r.priority)
            for r in self.referrals()
            if r.status == Status.ACTIVE
        ]

    def rules_emitted(self) -> set[str]:
        return {o.rule for o in self.outputs}

    def summary(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The shape of scenarios/*.expected.json: tasks and referrals, final states."""
        srs = {r.id: r for r in self.referrals()}
        tasks = []
        for tk in self.tasks():
            row: dict[str, Any] = {"patient": tk.patient, "code": tk.code, "status": tk.status,
                                   "priority": tk.priority}  # fmt: skip
            if tk.code == CareTask.FULFILL:
                assert tk.focus is not None
                row["target"] = srs[tk.focus.split("/", 1)[1]].level.value
            tasks.append(row)
        refs = [{"patient": r.patient, "level": r.level.value, "direction": r.direction,
                 "status": r.status} for r in srs.values()]  # fmt: skip
        return tasks, refs


def statuses(outputs: Iterable[Output]) -> list[tuple[str, str, str]]:
    """(kind, rule, status) of outputs in emission order ("SR" for ServiceRequests, else
    the Task's code)."""
    return [("SR" if isinstance(o, ReferralRecord) else o.code, o.rule, o.status) for o in outputs]
