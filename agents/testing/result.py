"""What a replay produced, in a shape a test can assert on.

``outputs`` are FHIR R4 dicts exactly as carepath publishes them (the last version of each
resource); ``tasks(...)`` and ``referrals(...)`` filter them by what an integrator asks about
(patient, code, status, priority, target level, rule); dead letters and ignored input come
with their reasons.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agents.testing.compare import (
    Json,
    direction_of,
    final_states,
    level_of,
    patient_key,
    ref_id,
    rule_of,
    summarize,
    task_code,
)

Place = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter (contract §6): ``reason`` is its diagnostics, ``record`` the whole
    dead-letter record; ``source`` says where the document came from (``{"file", "line"}``,
    ``{"document": n}`` for the n-th in-memory document, 1-based, or the Kafka position)."""

    reason: str
    expression: tuple[str, ...]
    code: str
    source: Place
    record: Json = field(repr=False)

    @classmethod
    def of(cls, record: Json) -> DeadLetter:
        issues = (record.get("error") or {}).get("issue") or [{}]
        return cls(
            reason="; ".join(str(i.get("diagnostics", "")) for i in issues),
            expression=tuple(e for i in issues for e in i.get("expression") or []),
            code=str(issues[0].get("code", "")),
            source=dict(record.get("source") or {}),
            record=record,
        )


@dataclass(frozen=True, slots=True)
class IgnoredItem:
    """A resource or event carepath passed over, with why (contract §3, §9)."""

    resource_type: str | None
    id: str | None
    reason: str
    source: Place


Filter = object  # a value, a collection of values (any of them), or a predicate
FILTERS = frozenset({"id", "patient", "code", "status", "priority", "target", "rule", "direction"})


def _matches(value: object, wanted: Filter) -> bool:
    if callable(wanted):
        return bool(wanted(value))
    if isinstance(wanted, Collection) and not isinstance(wanted, str | bytes):
        return value in wanted
    return value == wanted


class ReplayResult:
    """The outcome of one replay (embedded, or through Kafka with ``mode == "kafka"``).

    - ``emitted``: every published version, in emission order (what ``--out`` holds);
    - ``outputs``: the final version of every Task and ServiceRequest, in first-emission order;
    - ``tasks(**filters)`` / ``referrals(**filters)``: outputs by ``patient`` (the patient key
      ``source|id`` or the bare ``id``), ``code`` (a Task's care-task code or ``fulfill``; a
      referral's level), ``status``, ``priority``, ``target`` (the level a referral, or a
      referral Task, refers to), ``rule`` (the rule id in ``reasonCode``), ``direction``
      (referrals), ``id``. A filter value may be a collection (any of) or a predicate;
    - ``task(**filters)`` / ``referral(**filters)``: the one match (else ``LookupError``);
    - ``dead_letters`` and ``ignored``, each with its reason; ``summary()`` in the scenario
      format (what a ``NAME.expected.json`` would hold).
    """

    def __init__(
        self,
        emitted: list[Json],
        dead_letters: list[DeadLetter],
        ignored: list[IgnoredItem] | None,
        *,
        mode: str = "embedded",
        stats: str | None = None,
    ) -> None:
        self.emitted = emitted
        self.dead_letters = dead_letters
        self._ignored = ignored
        self.mode = mode
        self.stats = stats  # the replay's one-line summary (embedded)

    @property
    def ignored(self) -> list[IgnoredItem]:
        if self._ignored is None:
            raise RuntimeError(
                "ignored input is reported by embedded replay only (a worker counts it in "
                "its log): use carepath_replay to assert on ignored documents"
            )
        return self._ignored

    @cached_property
    def outputs(self) -> list[Json]:
        return list(final_states(self.emitted).values())

    @cached_property
    def _levels(self) -> dict[str, str | None]:
        return {d["id"]: level_of(d) for d in self.outputs if d["resourceType"] == "ServiceRequest"}

    def _fields(self, doc: Json) -> dict[str, object]:
        if doc["resourceType"] == "Task":
            code = task_code(doc)
            ref = doc.get("for")
            target = self._levels.get(ref_id(doc.get("focus"))) if code == "fulfill" else None
            direction = None
        else:
            code = target = level_of(doc)
            ref = doc.get("subject")
            direction = direction_of(doc)
        return {
            "id": doc.get("id"),
            "patient": {patient_key(ref), ref_id(ref)} - {None},
            "code": code,
            "status": doc.get("status"),
            "priority": doc.get("priority"),
            "target": target,
            "rule": rule_of(doc),
            "direction": direction,
        }

    def _select(self, rtype: str, filters: dict[str, Filter]) -> list[Json]:
        unknown = set(filters) - FILTERS
        if unknown:
            raise TypeError(
                f"unknown filter(s) {sorted(unknown)}: use patient, code, status, priority, "
                "target, rule, direction or id"
            )
        found = []
        for doc in self.outputs:
            if doc["resourceType"] != rtype:
                continue
            have = self._fields(doc)
            if all(_has(have, k, v) for k, v in filters.items()):
                found.append(doc)
        return found

    def tasks(self, **filters: Filter) -> list[Json]:
        return self._select("Task", filters)

    def referrals(self, **filters: Filter) -> list[Json]:
        return self._select("ServiceRequest", filters)

    def task(self, **filters: Filter) -> Json:
        return _one("Task", self.tasks(**filters), filters)

    def referral(self, **filters: Filter) -> Json:
        return _one("ServiceRequest", self.referrals(**filters), filters)

    def summary(self) -> Json:
        """``{"tasks": [...], "referrals": [...], "dead_letters": n}`` in the scenario
        format (fields as ``NAME.expected.json`` gives them)."""
        tasks, referrals = summarize(final_states(self.emitted))
        return {"tasks": tasks, "referrals": referrals, "dead_letters": len(self.dead_letters)}

    def __repr__(self) -> str:
        return (
            f"<ReplayResult {self.mode}: {len(self.outputs)} outputs, "
            f"{len(self.dead_letters)} dead letters>"
        )


def _has(have: dict[str, object], key: str, wanted: Filter) -> bool:
    value = have[key]
    if key == "patient":  # the key or the bare id
        assert isinstance(value, set)
        return any(_matches(v, wanted) for v in value)
    return _matches(value, wanted)


def _one(rtype: str, found: list[Json], filters: dict[str, Filter]) -> Json:
    if len(found) != 1:
        ids = ", ".join(f"{rtype}/{d['id']}" for d in found) or "none"
        raise LookupError(f"{len(found)} {rtype}s match {filters}: {ids}")
    return found[0]
