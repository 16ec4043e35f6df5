"""Compact JSON encoding of ``PatientState`` (Faust table value, changelog record).

Round trip is exact: ``decode_state(encode_state(s)) == s``. Short keys, empty fields
left out, times as integer epoch seconds (an ISO string when they carry microseconds),
records as positional arrays, the hash sets as one base64 string of packed 64-bit values.

JSON text by ``pydantic_core`` (pydantic's Rust core, already a dependency of the core's
configuration): the same bytes as ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))``, in a fifth of the time (6 vs 32 µs a bench state; the worker
encodes one state per event), and reads ``json.dumps`` output written before it.

Version 4 (issue 11, bench state 3.0 kB → see ``docs/benchmarks.md``) keeps the JSON and
makes it denser; every earlier version still decodes:

- times (epoch seconds) relative to the clock ``c``, so a time near it takes a few digits;
- the strings a state repeats (rule ids, care-task codes, statuses, priorities, levels,
  instruments…) as their index in :data:`WORDS` (append only), any other string as itself;
- UUID ids as 22 base64url characters (another id is written ``=`` + itself);
- ``seen``/``counted`` sorted by value, as delta-coded integers in the narrowest width
  that holds them, in units of their greatest common step (60 for whole minutes):
  ``[first value, unit, base64(width code, digests, deltas)]``; ``seen`` is read only
  through membership, its size and a stable sort by time, so the order changes nothing;
- the assessments (``obs``) as columns: time deltas, values, ids of ``Observation/…``
  references, instrument words, and content-hash versions packed 8 bytes each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import accumulate
from math import gcd
from operator import sub
from typing import Any

from pydantic_core import from_json, to_json

from pipeline import codec_old  # a module: codec_old imports pipeline.state too
from pipeline.events import Contra
from pipeline.levels import Level
from pipeline.outputs import ReferralRecord, TaskRecord
from pipeline.packing import (
    opt_unword,
    opt_word,
    pack_hashes,
    pack_ints,
    pad,
    trim,
    uid,
    unpack_hashes,
    unpack_ints,
    unuid,
    unword,
    word,
)
from pipeline.state import NEVER, Condition, Cooldown, Obs, PatientState

VERSION = 4
Json = Any
_OBS = "Observation/"


def _t(t: datetime | None, base: int) -> Json:
    """Epoch seconds minus ``base`` (an ISO string with microseconds, ``never``)."""
    if t is None:
        return None
    if t == NEVER:
        return "never"
    if t.microsecond:
        return t.astimezone(UTC).isoformat()
    return int(t.timestamp()) - base


def _dt(v: Json, base: int) -> datetime | None:
    if v is None:
        return None
    if v == "never":
        return NEVER
    if isinstance(v, str):
        return datetime.fromisoformat(v)
    return datetime.fromtimestamp(v + base, UTC)


def _dt_req(v: Json, base: int) -> datetime:
    t = _dt(v, base)
    assert t is not None
    return t


def _task(t: TaskRecord, b: int) -> Json:
    target = word(t.target.value) if t.target is not None else None
    return trim(
        [uid(t.id), word(t.rule), word(t.code), word(t.status), word(t.priority),
         _t(t.authored, b), _t(t.due, b), t.description, t.focus, _t(t.last_modified, b),
         t.status_reason, target, t.owner, opt_word(t.business_status), list(t.notes) or None,
         t.display, 1 if t.overdue else None]
    )  # fmt: skip


def _untask(v: Json, patient: str, b: int) -> TaskRecord:
    (i, rule, code, st, prio, auth, due, desc, focus, lm, reason, target, owner, business,
     notes, display, overdue) = pad(v, 17)  # fmt: skip
    return TaskRecord(
        unuid(i), patient, unword(rule), unword(code), unword(st), unword(prio),
        _dt_req(auth, b), _dt_req(due, b), desc, focus, _dt(lm, b), reason,
        Level(unword(target)) if target is not None else None, owner, opt_unword(business),
        tuple(notes or ()), display, bool(overdue),
    )  # fmt: skip


def _ref(r: ReferralRecord, b: int) -> Json:
    return trim(
        [uid(r.id), word(r.rule), word(r.level.value), word(r.direction), word(r.status),
         word(r.priority), _t(r.authored, b), list(r.reasons), uid(r.task_id),
         _t(r.last_modified, b), r.status_reason, r.performer, r.requester, r.display]
    )  # fmt: skip


def _unref(v: Json, patient: str, b: int) -> ReferralRecord:
    (i, rule, level, direction, st, prio, auth, reasons, task_id, lm, reason, performer,
     requester, display) = pad(v, 14)  # fmt: skip
    return ReferralRecord(
        unuid(i), patient, unword(rule), Level(unword(level)), unword(direction), unword(st),
        unword(prio), _dt_req(auth, b), tuple(reasons), unuid(task_id), _dt(lm, b), reason,
        performer, requester, display,
    )  # fmt: skip


def _short_ref(ref: str | None) -> str | None:
    """``Observation/<id>`` as ``<id>``; another reference (it has a ``/``) as itself."""
    if ref is not None and ref.startswith(_OBS) and "/" not in ref[12:]:
        return ref[12:]
    return ref


def _front(refs: list[str | None]) -> list[str | None]:
    """Each reference that shares at least 3 leading characters with the previous one as
    ``<shared count>~<rest>`` (``~`` is in no FHIR id or type): ``s7-000003-obs22`` after
    ``s7-000003-obs21`` is ``14~2``."""
    out: list[str | None] = []
    prev = ""
    for ref in refs:
        if ref is None:
            out.append(None)
            continue
        k = min(len(prev), len(ref)) if prev[:3] == ref[:3] else 0
        while k and prev[:k] != ref[:k]:  # ids that differ at the end: a step or two
            k -= 1
        out.append(f"{k}~{ref[k:]}" if k >= 3 else ref)
        prev = ref
    return out


def _unfront(refs: list[str | None]) -> list[str | None]:
    out: list[str | None] = []
    prev = ""
    for ref in refs:
        if ref is not None and "~" in ref:
            k, rest = ref.split("~", 1)
            ref = prev[: int(k)] + rest
        if ref is not None:
            prev = ref
        out.append(ref)
    return out


def _obs(items: tuple[Obs, ...], b: int) -> tuple[str, Json]:
    """``o4``: columns (first time, the unit of the steps between times, the steps,
    values, references front-coded, instruments, versions); ``o``: rows, for a time with
    microseconds or a reference without a ``/`` or with a ``~``."""
    plain = all(
        not o.time.microsecond and (o.ref is None or ("/" in o.ref and "~" not in o.ref))
        for o in items
    )
    if not plain:
        return "o", [[_t(o.time, b), o.value, o.ref, word(o.inst), o.version] for o in items]
    times = [int(o.time.timestamp()) for o in items]
    steps = list(map(sub, times[1:], times[:-1]))
    unit = gcd(*steps) or 1  # 60 when the times are whole minutes
    versions = [o.version for o in items]
    return "o4", [
        times[0] - b,
        unit,
        [d // unit for d in steps],
        [o.value for o in items],
        _front([_short_ref(o.ref) for o in items]),
        [word(o.inst) for o in items],
        pack_hashes(versions) or versions,
    ]


def _unobs4(v: Json, b: int) -> tuple[Obs, ...]:
    first, unit, steps, values, coded, insts, versions = v
    times = accumulate((d * unit for d in steps), initial=b + first)
    refs = _unfront(coded)
    if isinstance(versions, str):
        versions = unpack_hashes(versions)
    return tuple(
        Obs(datetime.fromtimestamp(t, UTC), value, ref if ref is None or "/" in ref
            else _OBS + ref, unword(inst), version)
        for t, value, ref, inst, version in zip(
            times, values, refs, insts, versions, strict=True
        )
    )  # fmt: skip


def _unobs(v: Json, b: int) -> tuple[Obs, ...]:
    return tuple(Obs(_dt_req(o[0], b), o[1], o[2], unword(o[3]), o[4]) for o in v)


def _weeks(weeks: tuple[tuple[int, int, int], ...]) -> Json:
    """Each week's Monday ordinal as the step from the previous one (the first as is)."""
    keys = [w[0] for w in weeks]
    steps = keys[:1] + list(map(sub, keys[1:], keys[:-1]))
    return [[k, w[1], w[2]] for k, w in zip(steps, weeks, strict=True)]


def _unweeks(v: Json) -> tuple[tuple[int, int, int], ...]:
    keys = accumulate(w[0] for w in v)
    return tuple((k, w[1], w[2]) for k, w in zip(keys, v, strict=True))


def _contras(items: tuple[Condition, ...], b: int) -> Json:
    return [trim([c.ref, word(c.kind.value), _t(c.onset, b), _t(c.ended, b)]) for c in items]


def _uncontras(v: Json, b: int) -> tuple[Condition, ...]:
    return tuple(
        Condition(c[0], Contra(unword(c[1])), _dt_req(c[2], b), _dt(pad(c, 4)[3], b)) for c in v
    )


def _cools(items: tuple[Cooldown, ...], b: int) -> Json:
    return [[word(c.level.value), _t(c.time, b), c.phq9] for c in items]


def _uncools(v: Json, b: int) -> tuple[Cooldown, ...]:
    return tuple(Cooldown(Level(unword(c[0])), _dt_req(c[1], b), c[2]) for c in v)


def encode_state(s: PatientState) -> bytes:
    """Compact UTF-8 JSON of the state (version 4)."""
    clock = _t(s.clock, 0)
    b = clock if type(clock) is int else 0  # every other time is relative to the clock
    d: dict[str, Json] = {"v": VERSION, "p": s.patient, "c": clock}
    medical = [_t(s.medical[0], b), _t(s.medical[1], b)] if s.medical is not None else None
    obs_key, obs = _obs(s.obs, b) if s.obs else ("o4", None)
    optional: dict[str, Json] = {
        "l": word(s.level.value) if s.level is not None else None,
        "ls": _t(s.level_since, b),
        "pe": _ref(s.pending, b) if s.pending is not None else None,
        "t": [_task(t, b) for t in s.tasks.values()] or None,
        "x": {k: word(v) for k, v in s.closed.items()} or None,
        "s4": pack_ints(s.seen) if s.seen else None,
        "a4": pack_ints(s.counted) if s.counted else None,
        "sf": s.seen_floor,
        obs_key: obs,
        "ra": _t(s.resolved_at, b),
        "ci": _contras(s.contras, b) or None,
        "w": _weeks(s.weeks) or None,
        "la": _t(s.last_attended, b),
        "n": [_t(t, b) for t in s.no_shows] or None,
        "wd": _t(s.week_due, b),
        "id": _t(s.inactive_due, b),
        "le": _t(s.last_event, b) if s.last_event != NEVER else None,
        "st": [[str(k), f] for k, f in s.stays] or None,
        "ss": _t(s.stay_start, b),
        "ld": _t(s.last_discharge, b),
        "bc": _t(s.bh_contact, b),
        "md": medical,
        "ff": _t(s.followup_from, b),
        "fe": 1 if s.followup_ed else None,
        "lo": _t(s.lost_due, b),
        "sl": 1 if s.stalled else None,
        "cd": _cools(s.cooldowns, b) or None,
        "f": 1 if s.female else None,
        "dn": s.display,
        "d": 1 if s.deceased else None,
        "dr": s.death_ref,
        "lb": _t(s.last_bh, b),
        "lc": _t(s.left_care, b),
    }
    d.update((k, v) for k, v in optional.items() if v is not None)
    return to_json(d)


def decode_state(raw: bytes) -> PatientState:
    """The state ``encode_state`` wrote, or one of an earlier version (1–3)."""
    d = from_json(raw)
    if d.get("v", 1) < 4:
        return codec_old.decode_old(d)
    p, clock = d["p"], d["c"]
    b = clock if type(clock) is int else 0
    md = d.get("md")
    obs = _unobs4(d["o4"], b) if "o4" in d else _unobs(d.get("o", ()), b)
    return PatientState(
        patient=p,
        level=Level(unword(d["l"])) if "l" in d else None,
        level_since=_dt(d.get("ls"), b),
        pending=_unref(d["pe"], p, b) if "pe" in d else None,
        clock=_dt_req(clock, 0),
        tasks={t.id: t for t in (_untask(v, p, b) for v in d.get("t", ()))},
        closed={k: unword(v) for k, v in d.get("x", {}).items()},
        seen=unpack_ints(d["s4"]) if "s4" in d else {},
        counted=unpack_ints(d["a4"]) if "a4" in d else {},
        obs=obs,
        resolved_at=_dt(d.get("ra"), b),
        contras=_uncontras(d.get("ci", ()), b),
        weeks=_unweeks(d.get("w", ())),
        last_attended=_dt(d.get("la"), b),
        no_shows=tuple(_dt_req(t, b) for t in d.get("n", ())),
        week_due=_dt(d.get("wd"), b),
        inactive_due=_dt(d.get("id"), b),
        last_event=_dt(d.get("le"), b) or NEVER,
        stays=tuple((int(k), f) for k, f in d.get("st", ())),
        stay_start=_dt(d.get("ss"), b),
        last_discharge=_dt(d.get("ld"), b),
        bh_contact=_dt(d.get("bc"), b),
        medical=(_dt_req(md[0], b), _dt(md[1], b)) if md else None,
        followup_from=_dt(d.get("ff"), b),
        followup_ed=bool(d.get("fe")),
        lost_due=_dt(d.get("lo"), b),
        stalled=bool(d.get("sl")),
        cooldowns=_uncools(d.get("cd", ()), b),
        female=bool(d.get("f")),
        display=d.get("dn"),
        deceased=bool(d.get("d")),
        death_ref=d.get("dr"),
        seen_floor=d.get("sf"),
        last_bh=_dt(d.get("lb"), b),
        left_care=_dt(d.get("lc"), b),
    )
