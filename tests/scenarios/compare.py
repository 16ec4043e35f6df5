"""Final-state comparison of replay output with a scenario's expected.json.

Same semantics as ``shared/tools/check_scenarios.py`` (see tests/scenarios/data/README.md):
the last line per (resourceType, id) is its state; tasks and referrals are compared as
exact multisets on the fields each expected entry gives; an output's patient is the patient
key it carries when that has a source part (``<source>|<id>``), else the ``Patient/<id>`` id.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

Json = dict[str, Any]
FULFILL = ("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")
DATA = Path(__file__).parent / "data"


def final_states(lines: list[bytes]) -> OrderedDict[tuple[str, str], Json]:
    last: OrderedDict[tuple[str, str], Json] = OrderedDict()
    for ln in lines:
        if ln.strip():
            doc = json.loads(ln)
            last[(doc["resourceType"], doc["id"])] = doc
    return last


def _ref_id(ref: Json | None) -> str:
    return str((ref or {}).get("reference", "")).rsplit("/", 1)[-1]


def patient(ref: Json | None) -> str:
    """The patient key (contract §2) of ``for``/``subject`` when it has a non-empty source
    part (``identifier.value`` = ``<source>|<id>``), else the id of the Patient reference."""
    idf = ref.get("identifier") if isinstance(ref, dict) else None
    value = idf.get("value") if isinstance(idf, dict) else None
    if isinstance(value, str) and "|" in value and value.split("|", 1)[0]:
        return value
    return _ref_id(ref)


def _codes(cc: Json | None) -> list[tuple[str, str]]:
    return [(c.get("system", ""), c.get("code")) for c in (cc or {}).get("coding", [])]


def task_code(doc: Json) -> str | None:
    """``fulfill`` for a referral Task, else its care-task code."""
    cs = _codes(doc.get("code"))
    if FULFILL in cs:
        return "fulfill"
    return next((c for s, c in cs if s.endswith("/care-task")), None)


def summarize(states: OrderedDict[tuple[str, str], Json]) -> tuple[list[Json], list[Json]]:
    srs: dict[str, Json] = {}
    for (rt, rid), doc in states.items():
        if rt == "ServiceRequest":
            cat = _codes((doc.get("category") or [{}])[0])
            direction = next((c for s, c in cat if s.endswith("/transition")), None)
            srs[rid] = {
                "patient": patient(doc.get("subject")),
                "level": _codes(doc.get("code"))[0][1],
                "direction": direction,
                "status": doc.get("status"),
            }
    tasks = []
    for (rt, _), doc in states.items():
        if rt != "Task":
            continue
        t: Json = {
            "patient": patient(doc.get("for")),
            "status": doc.get("status"),
            "priority": doc.get("priority"),
            "code": task_code(doc),
        }
        if t["code"] is None:  # no care-task code: the first code, as the shared checker
            t["code"] = next(iter(_codes(doc.get("code"))), ("", None))[1]
        if t["code"] == "fulfill":
            t["target"] = srs.get(_ref_id(doc.get("focus")), {}).get("level")
        tasks.append(t)
    return tasks, list(srs.values())


def match(expected: list[Json], actual: list[Json]) -> tuple[list[Json], list[Json]]:
    """(missing, unexpected): an exact multiset; fields an expected entry leaves out are
    not compared (as shared/tools/check_scenarios.py)."""
    left = list(actual)
    missing = []
    for e in expected:
        hit = next((a for a in left if all(a.get(k) == v for k, v in e.items())), None)
        if hit is None:
            missing.append(e)
        else:
            left.remove(hit)
    return missing, left


def problems(expected: Json, out_lines: list[bytes], n_dead: int) -> list[str]:
    tasks, srs = summarize(final_states(out_lines))
    found: list[str] = []
    for kind, exp, act in (
        ("task", expected["tasks"], tasks),
        ("referral", expected["referrals"], srs),
    ):
        missing, extra = match(exp, act)
        found += [f"missing {kind} {m}" for m in missing]
        found += [f"unexpected {kind} {x}" for x in extra]
    if n_dead != expected["dead_letters"]:
        found.append(f"dead letters {n_dead}, expected {expected['dead_letters']}")
    return found


def scenario_names(directory: Path = DATA) -> list[str]:
    return sorted(p.name[: -len(".ndjson")] for p in directory.glob("*.ndjson"))
