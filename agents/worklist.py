"""``carepath tasks``: the case manager's worklist from ``care.tasks`` (or a replay file).

The latest version of each Task (by id, in topic order), open ones only unless ``--all``,
most urgent priority first (stat, asap, urgent, routine), then by due time. A referral
Task shows the level it refers to (``refer to IOP``, from its ServiceRequest on
``care.referrals``); a patient shows by key (``for.identifier``) and name when known.
Rendering (table, CSV, JSON) is in :mod:`agents.worklist_view`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from agents import kafka_io
from agents.security import connection
from agents.settings import Settings
from agents.worklist_view import render
from pipeline.codes import PRIORITY_RANK, TERMINAL, Business, CareTask

Json = dict[str, Any]

#: How a target level reads in a Task label ("refer to IOP").
LEVEL_NAMES = {"inpatient": "inpatient", "php": "PHP", "iop": "IOP", "op": "OP"}


@dataclass(frozen=True, slots=True)
class Row:
    """One Task as the worklist shows it."""

    id: str
    due: str
    priority: str
    patient: str  # the patient key (``<source>|<id>`` or ``<id>``)
    display: str  # the patient's name, or ""
    task: str  # care-task code, or "refer to IOP" for a referral Task
    code: str
    target: str  # referral Tasks: the level code, else ""
    status: str
    business_status: str
    owner: str
    rule: str
    authored: str
    description: str

    @property
    def overdue(self) -> bool:
        return self.business_status == Business.OVERDUE


@dataclass(slots=True)
class Latest:
    """The latest Task of each id and the level of each ServiceRequest seen."""

    tasks: dict[str, Json]
    levels: dict[str, str]  # "ServiceRequest/<id>" → level code

    def add(self, values: Iterable[bytes]) -> Latest:
        for v in values:
            doc = orjson.loads(v)
            kind = doc.get("resourceType")
            if kind == "Task":
                self.tasks[doc["id"]] = doc
            elif kind == "ServiceRequest":
                self.levels[f"ServiceRequest/{doc['id']}"] = _first_code(doc.get("code"))
        return self

    def unknown_referrals(self) -> bool:
        """Whether some referral Task's ServiceRequest has not been seen."""
        return any(
            _first_code(t.get("code")) == CareTask.FULFILL and _focus(t) not in self.levels
            for t in self.tasks.values()
        )


def latest(values: Iterable[bytes]) -> Latest:
    return Latest({}, {}).add(values)


def _first_code(concept: Any) -> str:
    coding = ((concept or {}).get("coding") or [{}])[0]
    return str(coding.get("code", ""))


def _focus(t: Json) -> str:
    return str((t.get("focus") or {}).get("reference", ""))


def to_row(t: Json, levels: dict[str, str]) -> Row:
    code = _first_code(t.get("code"))
    target = levels.get(_focus(t), "") if code == CareTask.FULFILL else ""
    if code == CareTask.FULFILL:
        task = f"refer to {LEVEL_NAMES.get(target, target)}" if target else "refer"
    else:
        task = code
    subject = t.get("for") or {}
    owner = t.get("owner") or {}
    return Row(
        id=str(t.get("id", "")),
        due=str(((t.get("restriction") or {}).get("period") or {}).get("end", "")),
        priority=str(t.get("priority", "")),
        patient=patient_key(subject),
        display=str(subject.get("display", "")),
        task=task,
        code=code,
        target=target,
        status=str(t.get("status", "")),
        business_status=str((t.get("businessStatus") or {}).get("text", "")),
        owner=str(owner.get("display") or owner.get("reference") or ""),
        rule=_first_code(t.get("reasonCode")),
        authored=str(t.get("authoredOn", "")),
        description=str(t.get("description", "")),
    )


def patient_key(subject: Json) -> str:
    """The patient key of ``for``: its identifier's value, else the reference's id."""
    key = (subject.get("identifier") or {}).get("value")
    if key:
        return str(key)
    return str(subject.get("reference", "")).removeprefix("Patient/")


def _order(r: Row) -> tuple[int, str, str]:
    return (-PRIORITY_RANK.get(r.priority, -1), r.due, r.id)


def worklist(found: Latest, include_closed: bool = False, patient: str | None = None) -> list[Row]:
    """The rows to show, most urgent first; ``patient`` is a key or a ``Patient/<id>`` id."""
    rows = [
        to_row(t, found.levels)
        for t in found.tasks.values()
        if include_closed or t.get("status") not in TERMINAL
    ]
    if patient:
        rows = [r for r in rows if patient in (r.patient, r.patient.rpartition("|")[2])]
    return sorted(rows, key=_order)


def _values(settings: Settings, args: argparse.Namespace) -> Latest:
    if args.file:
        with open(args.file, "rb") as f:
            return latest(ln for ln in f if ln.strip())
    bootstrap = connection(settings)
    found = latest(r.value for r in kafka_io.read_topic(bootstrap, settings.topic_tasks))
    if found.unknown_referrals():  # only then: the referrals topic is the larger read
        found.add(r.value for r in kafka_io.read_topic(bootstrap, settings.topic_referrals))
    return found


def print_worklist(settings: Settings, args: argparse.Namespace) -> int:
    rows = worklist(_values(settings, args), args.all, args.patient)
    form = "csv" if args.csv else "json" if args.json else "wide" if args.wide else "table"
    sys.stdout.write(render(rows, form))
    return 0
