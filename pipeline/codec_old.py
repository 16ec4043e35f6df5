"""Decoding of the state encodings before version 4 (versions 1–3), frozen as they were
written, so a stored state or a changelog record of an earlier worker still reads.

Version 3: short keys, times as integer epoch seconds (an ISO string when they carry
microseconds), records as positional arrays, ``seen``/``counted`` as base64 of packed
digests then values (``s2``/``a2``); version 1 and early 2: the digest sets without values
(``s``/``a``); version 1: PHQ-9 and C-SSRS lists (``q``/``r``) instead of ``obs``.
``encode_v3`` is the version-3 writer, kept so tests can make such states.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from pipeline.events import Contra
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord
from pipeline.packing import pad, trim
from pipeline.state import NEVER, Condition, Cooldown, Obs, PatientState

Json = Any


def _t(t: datetime | None) -> Json:
    if t is None:
        return None
    if t == NEVER:
        return "never"
    if t.microsecond:
        return t.astimezone(UTC).isoformat()
    return int(t.timestamp())


def _dt(v: Json) -> datetime | None:
    if v is None:
        return None
    if v == "never":
        return NEVER
    if isinstance(v, str):
        return datetime.fromisoformat(v)
    return datetime.fromtimestamp(v, UTC)


def _dt_req(v: Json) -> datetime:
    t = _dt(v)
    assert t is not None
    return t


def _task(t: TaskRecord) -> Json:
    target = t.target.value if t.target is not None else None
    return trim(
        [t.id, t.rule, t.code, t.status, t.priority, _t(t.authored), _t(t.due),
         t.description, t.focus, _t(t.last_modified), t.status_reason, target, t.owner,
         t.business_status, list(t.notes) or None, t.display, 1 if t.overdue else None]
    )  # fmt: skip


def _untask(v: Json, patient: str) -> TaskRecord:
    (i, rule, code, st, prio, auth, due, desc, focus, lm, reason, target, owner, business,
     notes, display, overdue) = pad(v, 17)  # fmt: skip
    return TaskRecord(
        i, patient, rule, code, st, prio, _dt_req(auth), _dt_req(due), desc, focus,
        _dt(lm), reason, Level(target) if target is not None else None, owner, business,
        tuple(notes or ()), display, bool(overdue),
    )  # fmt: skip


def _ref(r: ReferralRecord) -> Json:
    return trim(
        [r.id, r.rule, r.level.value, r.direction, r.status, r.priority, _t(r.authored),
         list(r.reasons), r.task_id, _t(r.last_modified), r.status_reason, r.performer,
         r.requester, r.display]
    )  # fmt: skip


def _unref(v: Json, patient: str) -> ReferralRecord:
    (i, rule, level, direction, st, prio, auth, reasons, task_id, lm, reason, performer,
     requester, display) = pad(v, 14)  # fmt: skip
    return ReferralRecord(
        i, patient, rule, Level(level), direction, st, prio, _dt_req(auth),
        tuple(reasons), task_id, _dt(lm), reason, performer, requester, display,
    )  # fmt: skip


def _pack(values: frozenset[int]) -> str:
    """Sorted big-endian unsigned 64-bit values, base64 (one ``struct`` call: the per-value
    ``to_bytes`` loop was a quarter of the codec's time in the worker)."""
    raw = struct.pack(f">{len(values)}Q", *sorted(values))
    return base64.b64encode(raw).decode("ascii")


def _unpack(text: str) -> frozenset[int]:
    raw = base64.b64decode(text)
    if len(raw) % 8:  # never written by _pack; read as before
        return frozenset(int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8))
    return frozenset(struct.unpack(f">{len(raw) // 8}Q", raw))


def _pack_pairs(values: dict[int, int]) -> str:
    """Digests (unsigned 64-bit) then their values (signed 64-bit), big-endian, base64."""
    n = len(values)
    raw = struct.pack(f">{n}Q{n}q", *values.keys(), *values.values())
    return base64.b64encode(raw).decode("ascii")


def _unpack_pairs(text: str) -> dict[int, int]:
    raw = base64.b64decode(text)
    n = len(raw) // 16
    items = struct.unpack(f">{n}Q{n}q", raw)
    return dict(zip(items[:n], items[n:], strict=True))


def _old_set(d: Json, key: str, value: int) -> dict[int, int]:
    """A version-1/early-2 digest set (no values) as a dict with one value for all."""
    return dict.fromkeys(_unpack(d[key]), value) if key in d else {}


def _obs(items: tuple[Obs, ...]) -> Json:
    return [[_t(o.time), o.value, o.ref, o.inst, o.version] for o in items]


def _unobs(v: Json) -> tuple[Obs, ...]:
    return tuple(Obs(_dt_req(o[0]), o[1], o[2], o[3], o[4]) for o in v)


def _v1_obs(d: Json) -> tuple[Obs, ...]:
    """The PHQ-9 and C-SSRS lists of a version-1 state, as version-2 observations."""
    old = [
        Obs(_dt_req(o[0]), o[1], o[2] if len(o) > 2 else None, inst)
        for key, inst in (("q", "phq9"), ("r", "cssrs"))
        for o in d.get(key, ())
    ]
    return tuple(sorted(old, key=lambda o: o.time))


def _contras(items: tuple[Condition, ...]) -> Json:
    return [trim([c.ref, c.kind.value, _t(c.onset), _t(c.ended)]) for c in items]


def _uncontras(v: Json) -> tuple[Condition, ...]:
    return tuple(
        Condition(c[0], Contra(c[1]), _dt_req(c[2]), _dt(c[3]) if len(c) > 3 else None) for c in v
    )


def _cools(items: tuple[Cooldown, ...]) -> Json:
    return [[c.level.value, _t(c.time), c.phq9] for c in items]


def _uncools(v: Json) -> tuple[Cooldown, ...]:
    return tuple(Cooldown(Level(c[0]), _dt_req(c[1]), c[2]) for c in v)


def encode_v3(s: PatientState) -> bytes:
    """The version-3 compact UTF-8 JSON of the state."""
    d: dict[str, Json] = {"v": 3, "p": s.patient, "c": _t(s.clock)}
    medical = [_t(s.medical[0]), _t(s.medical[1])] if s.medical is not None else None
    optional: dict[str, Json] = {
        "l": s.level.value if s.level is not None else None,
        "ls": _t(s.level_since),
        "pe": _ref(s.pending) if s.pending is not None else None,
        "t": [_task(t) for t in s.tasks.values()] or None,
        "x": s.closed or None,
        "s2": _pack_pairs(s.seen) if s.seen else None,
        "a2": _pack_pairs(s.counted) if s.counted else None,
        "sf": s.seen_floor,
        "o": _obs(s.obs) or None,
        "ra": _t(s.resolved_at),
        "ci": _contras(s.contras) or None,
        "w": [list(w) for w in s.weeks] or None,
        "la": _t(s.last_attended),
        "n": [_t(t) for t in s.no_shows] or None,
        "wd": _t(s.week_due),
        "id": _t(s.inactive_due),
        "le": _t(s.last_event) if s.last_event != NEVER else None,
        "st": [[str(k), f] for k, f in s.stays] or None,
        "ss": _t(s.stay_start),
        "ld": _t(s.last_discharge),
        "bc": _t(s.bh_contact),
        "md": medical,
        "ff": _t(s.followup_from),
        "fe": 1 if s.followup_ed else None,
        "lo": _t(s.lost_due),
        "sl": 1 if s.stalled else None,
        "cd": _cools(s.cooldowns) or None,
        "f": 1 if s.female else None,
        "dn": s.display,
        "d": 1 if s.deceased else None,
        "dr": s.death_ref,
        "lb": _t(s.last_bh),
        "lc": _t(s.left_care),
    }
    d.update((k, v) for k, v in optional.items() if v is not None)
    return to_json(d)


def decode_old(d: Json) -> PatientState:
    """The state of a parsed version 1–3 encoding (a version-1 state reads with v2
    defaults)."""
    p = d["p"]
    tasks = (_untask(v, p) for v in d.get("t", ()))
    md = d.get("md")
    return PatientState(
        patient=p,
        level=Level(d["l"]) if "l" in d else None,
        level_since=_dt(d.get("ls")),
        pending=_unref(d["pe"], p) if "pe" in d else None,
        clock=_dt_req(d["c"]),
        tasks={t.id: t for t in tasks},
        closed=dict(d.get("x", {})),
        seen=_unpack_pairs(d["s2"]) if "s2" in d else _old_set(d, "s", 0),
        counted=_unpack_pairs(d["a2"]) if "a2" in d else _old_set(d, "a", 0),
        obs=_unobs(d["o"]) if "o" in d else _v1_obs(d),
        resolved_at=_dt(d.get("ra")) if d.get("v", 1) >= 2 else None,
        contras=_uncontras(d.get("ci", ())),
        weeks=tuple((w[0], w[1], w[2] if len(w) > 2 else 0) for w in d.get("w", ())),
        last_attended=_dt(d.get("la")),
        no_shows=tuple(_dt_req(t) for t in d.get("n", ())),
        week_due=_dt(d.get("wd")),
        inactive_due=_dt(d.get("id")),
        last_event=_dt(d.get("le")) or NEVER,
        stays=tuple((int(k), f) for k, f in d.get("st", ())),
        stay_start=_dt(d.get("ss")),
        last_discharge=_dt(d.get("ld")),
        bh_contact=_dt(d.get("bc")),
        medical=(_dt_req(md[0]), _dt(md[1])) if md else None,
        followup_from=_dt(d.get("ff")),
        followup_ed=bool(d.get("fe")),
        lost_due=_dt(d.get("lo")),
        stalled=bool(d.get("sl")),
        cooldowns=_uncools(d.get("cd", ())),
        female=bool(d.get("f")),
        display=d.get("dn"),
        deceased=bool(d.get("d")),
        death_ref=d.get("dr"),
        seen_floor=d.get("sf"),
        last_bh=_dt(d.get("lb")),
        left_care=_dt(d.get("lc")),
    )
