"""Reading outputs the way the public scenario format does, and showing a comparison.

The semantics of ``shared/tools/check_scenarios.py`` (scenarios/README.md): the last
version per (resourceType, id) is a resource's state; Tasks and ServiceRequests are compared
as exact multisets on the fields each expected entry gives; an output's patient is the patient
key it carries when that has a source part (``<source>|<id>``), else the ``Patient/<id>`` id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

Json = dict[str, Any]
FULFILL = ("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")
#: the order fields are shown in (others follow in their own order)
FIELD_ORDER = ("patient", "code", "target", "level", "direction", "status", "priority")


def final_states(docs: Iterable[Json]) -> OrderedDict[tuple[str, str], Json]:
    """The last version of every resource, in the order each first appeared."""
    last: OrderedDict[tuple[str, str], Json] = OrderedDict()
    for doc in docs:
        last[(doc["resourceType"], doc["id"])] = doc
    return last


def ref_id(ref: Json | None) -> str:
    """The id part of a reference (``Patient/p1`` → ``p1``)."""
    return str((ref or {}).get("reference", "")).rsplit("/", 1)[-1]


def patient_key(ref: Json | None) -> str | None:
    """The patient key a ``for``/``subject`` carries (``identifier.value``), if any."""
    idf = ref.get("identifier") if isinstance(ref, dict) else None
    value = idf.get("value") if isinstance(idf, dict) else None
    return value if isinstance(value, str) else None


def patient(ref: Json | None) -> str:
    """The patient key (contract §2) of ``for``/``subject`` when it has a non-empty source
    part (``<source>|<id>``), else the id of the Patient reference."""
    value = patient_key(ref)
    if value is not None and "|" in value and value.split("|", 1)[0]:
        return value
    return ref_id(ref)


def codes(cc: Json | None) -> list[tuple[str, str]]:
    return [(c.get("system", ""), c.get("code")) for c in (cc or {}).get("coding", [])]


def task_code(doc: Json) -> str | None:
    """``fulfill`` for a referral Task, else its care-task code."""
    cs = codes(doc.get("code"))
    if FULFILL in cs:
        return "fulfill"
    return next((c for s, c in cs if s.endswith("/care-task")), None)


def rule_of(doc: Json) -> str | None:
    """The rule id an output carries in ``reasonCode`` (``{base}/CodeSystem/rule``)."""
    reason = doc.get("reasonCode")
    concepts = reason if isinstance(reason, list) else [reason]
    for cc in concepts:
        for system, code in codes(cc if isinstance(cc, dict) else None):
            if system.endswith("/CodeSystem/rule"):
                return code
    return None


def direction_of(doc: Json) -> str | None:
    """``step-up`` / ``step-down`` of a ServiceRequest."""
    cat = codes((doc.get("category") or [{}])[0])
    return next((c for s, c in cat if s.endswith("/transition")), None)


def level_of(doc: Json) -> str | None:
    """The level a ServiceRequest refers to (its ``code``)."""
    found = codes(doc.get("code"))
    return found[0][1] if found else None


def summarize(states: OrderedDict[tuple[str, str], Json]) -> tuple[list[Json], list[Json]]:
    """(tasks, referrals) as the scenario format describes them."""
    srs: dict[str, Json] = {}
    for (rt, rid), doc in states.items():
        if rt == "ServiceRequest":
            srs[rid] = {
                "patient": patient(doc.get("subject")),
                "level": level_of(doc),
                "direction": direction_of(doc),
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
            t["code"] = next(iter(codes(doc.get("code"))), ("", None))[1]
        if t["code"] == "fulfill":
            t["target"] = srs.get(ref_id(doc.get("focus")), {}).get("level")
        tasks.append(t)
    return tasks, list(srs.values())


def pair(
    expected: list[Json], actual: list[Json]
) -> tuple[list[tuple[Json, Json]], list[Json], list[Json]]:
    """(matched pairs, missing, extra): an exact multiset; fields an expected entry leaves
    out are not compared (as shared/tools/check_scenarios.py)."""
    left = list(actual)
    pairs, missing = [], []
    for e in expected:
        hit = next((a for a in left if all(a.get(k) == v for k, v in e.items())), None)
        if hit is None:
            missing.append(e)
        else:
            left.remove(hit)
            pairs.append((e, hit))
    return pairs, missing, left


def match(expected: list[Json], actual: list[Json]) -> tuple[list[Json], list[Json]]:
    """(missing, extra) of :func:`pair`."""
    _, missing, extra = pair(expected, actual)
    return missing, extra


def cell(entry: Json | None) -> str:
    """``patient=p1 code=fulfill target=iop status=requested``."""
    if entry is None:
        return ""
    keys = [k for k in FIELD_ORDER if k in entry] + [k for k in entry if k not in FIELD_ORDER]
    return " ".join(f"{k}={entry[k]}" for k in keys)


def _near_misses(
    missing: list[Json], extra: list[Json]
) -> tuple[list[tuple[Json, Json]], list[Json], list[Json]]:
    """Pairs of a missing and an extra entry with the same patient and code (the closest
    by fields in common), and what is left of each."""
    left, near, alone = list(extra), [], []
    for m in missing:
        same = [x for x in left if all(x.get(k) == m.get(k) for k in ("patient", "code"))]
        if not same or "patient" not in m:
            alone.append(m)
            continue
        best = max(same, key=lambda x: sum(x.get(k) == v for k, v in m.items()))
        left.remove(best)
        near.append((m, best))
    return near, alone, left


def side_by_side(kind: str, expected: list[Json], actual: list[Json]) -> list[str]:
    """Expected and actual multisets in two columns. ``MISSING`` marks an expected entry
    nothing matched, ``EXTRA`` an actual entry nothing expected, ``DIFFERS`` a missing and an
    extra entry of the same patient and code, side by side."""
    pairs, missing, extra = pair(expected, actual)
    near, missing, extra = _near_misses(missing, extra)
    rows: list[tuple[str, Json | None, Json | None]] = [("", e, a) for e, a in pairs]
    rows += [("DIFFERS", m, x) for m, x in near]
    rows += [("MISSING", m, None) for m in missing] + [("EXTRA", None, x) for x in extra]
    n_missing, n_extra = len(missing) + len(near), len(extra) + len(near)
    verdict = "all match" if not (n_missing or n_extra) else f"{n_missing} missing, {n_extra} extra"
    head = f"{kind} ({len(expected)} expected, {len(actual)} actual): {verdict}"
    if not rows:
        return [head]
    width = max(len("expected"), *(len(cell(e)) for _, e, _ in rows))
    lines = [head, f"  {'':7}  {'expected':<{width}} | actual"]
    lines += [f"  {mark:7}  {cell(e):<{width}} | {cell(a)}".rstrip() for mark, e, a in rows]
    return lines
