"""A deterministic synthetic patient population: FHIR R4 JSON documents in arrival order.

``generate(n_patients, seed)`` yields one document per item (bytes, ready for NDJSON or a
Kafka value). Patients follow realistic journeys, interleaved in time order:

- **inpatient stays**: admission (bare ``Encounter`` or Da Vinci ``notification-admit``
  message) and discharge (bare ``Encounter`` or ``notification-discharge`` message Bundle with
  ``urn:uuid:`` references), dispositions home / alt-home / oth / aadvice / a NUBC code /
  none, transfers (psy, other-hcf, snf, ...) and, rarely, ``exp``; then, usually, a step-down
  program; sometimes a readmission. The principal diagnosis (``reasonCode``, ICD-10-CM) is
  behavioral health for most stays (depression, bipolar, psychosis, alcohol, PTSD,
  intentional self-poisoning, suicidal ideation) and medical for about one in ten, which
  the rules pass over (rules.md §2);
- **programs** at php / iop / op: ``EpisodeOfCare`` enrollment (own code system, HCPCS or NUBC
  revenue codes, sometimes a date-only start), attendance 3–5 times a week at php/iop (1–2 at
  op) as fulfilled ``Appointment`` (``minutesDuration`` or ``end``), AMB ``Encounter`` with a
  level in ``serviceType`` (``length`` or period), or both (the Encounter references the
  Appointment); no-shows (some first sent ``booked``); program exits;
- **group cohorts**: 2–4 patients sharing group ``Appointment``s with several patient
  participants;
- **assessments**: weekly PHQ-9 and GAD-7 (``valueInteger``, ``valueQuantity``, numeric
  ``valueString``; sometimes ``effectivePeriod``; sometimes both in a ``collection`` Bundle
  with ``urn:uuid:`` subjects), PHQ-9 item 9 (integer or LOINC answer), C-SSRS now and then
  (low / moderate / rarely high; coded, text or string), AUDIT-C;
- **noise the pipeline ignores**: a bare ``Patient``, heart-rate and ``preliminary``
  Observations, cancelled and booked Appointments;
- about ``invalid_rate`` **invalid** documents: broken or non-UTF-8 JSON, not an object, no
  ``resourceType``, no or unusable subject, score out of range, time without a zone,
  non-numeric ``valueString``, message Bundle without a MessageHeader.

Deterministic for a seed: all randomness comes from ``random.Random`` objects seeded from it
(journeys and invalid documents from separate streams, so the valid documents do not depend
on ``invalid_rate``); no wall clock. Documents are rendered from pre-built ``%`` templates
(:mod:`agents.bench.templates`), several hundred thousand per second.

Command line: ``python -m agents.bench.population OUT.ndjson --patients N --seed S``.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agents.bench import templates as T

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
MINUTES_PER_DAY = 1440

Doc = tuple[int, str, str]  # (arrival minute, shape label, JSON text)
Formatter = Callable[[int], str]

_HM = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]

# (disposition system, code, weight); None system = no disposition at all
_DISPOSITIONS: list[tuple[str | None, str, float]] = [
    (T.DISPOSITION, "home", 62),
    (T.DISPOSITION, "alt-home", 4),
    (T.DISPOSITION, "oth", 2),
    (T.NUBC_UB92, "1", 4),
    (None, "", 3),
    (T.DISPOSITION, "aadvice", 8),
    (T.DISPOSITION, "psy", 8),
    (T.DISPOSITION, "other-hcf", 3),
    (T.DISPOSITION, "snf", 2),
    (T.DISPOSITION, "rehab", 1),
    (T.DISPOSITION, "long", 1),
    (T.DISPOSITION, "hosp", 1),
    (T.DISPOSITION, "exp", 1),
]
_TRANSFER = frozenset({"psy", "other-hcf", "snf", "rehab", "long", "hosp"})

# (ICD-10-CM principal diagnosis of a stay, weight): BH codes first, then medical ones
_DIAGNOSES: list[tuple[str, float]] = [
    ("F33.2", 25),
    ("F32.9", 15),
    ("F31.4", 8),
    ("F20.9", 6),
    ("F10.239", 6),
    ("F43.10", 5),
    ("T43.222A", 3),
    ("R45.851", 2),
    ("I21.4", 4),
    ("S72.001A", 3),
    ("J18.9", 3),
]
_REASONS = [(T.reason(code), w) for code, w in _DIAGNOSES]

# level -> [(serviceType/EpisodeOfCare.type CodeableConcept JSON, weight)]
_LEVEL_CODES: dict[str, list[tuple[str, float]]] = {
    "php": [
        (T.coding(T.LEVEL_SYSTEM, "php"), 60),
        (T.coding(T.HCPCS, "H0035"), 15),
        (T.coding(T.HCPCS, "S0201"), 5),
        (T.coding(T.REVENUE, "0912"), 10),
        (T.coding(T.REVENUE, "0913"), 10),
    ],
    "iop": [
        (T.coding(T.LEVEL_SYSTEM, "iop"), 60),
        (T.coding(T.HCPCS, "S9480"), 15),
        (T.coding(T.HCPCS, "H0015"), 5),
        (T.coding(T.REVENUE, "0905"), 10),
        (T.coding(T.REVENUE, "0906"), 10),
    ],
    "op": [(T.coding(T.LEVEL_SYSTEM, "op"), 100)],
}
# sessions per week (min, max), session minutes (choices), start hours
_SESSIONS = {
    "php": ((4, 5), (240, 270, 300, 330, 360), (8, 9)),
    "iop": ((3, 4), (150, 180, 180, 210), (9, 13, 17)),
    "op": ((1, 2), (45, 50, 60), (10, 14, 16)),
}
_INVALID_KINDS: list[tuple[str, float]] = [
    ("broken-json", 18),
    ("not-utf8", 3),
    ("not-object", 5),
    ("no-resource-type", 6),
    ("missing-subject", 14),
    ("subject-not-reference", 4),
    ("score-out-of-range", 16),
    ("no-zone", 16),
    ("bad-value-string", 6),
    ("group-subject", 6),
    ("message-no-header", 6),
]


class _Clock:
    """Minute offsets from ``start`` to FHIR dateTime strings, in a patient's site style."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        start = start.astimezone(UTC)
        self.day0 = start.date()
        self.offset = start.hour * 60 + start.minute
        self.weekday0 = self.day0.weekday()
        self._days: dict[int, str] = {}

    def day(self, d: int) -> str:
        s = self._days.get(d)
        if s is None:
            s = self._days[d] = (self.day0 + timedelta(days=d)).isoformat()
        return s

    def day_of(self, t: int) -> int:
        return (t + self.offset) // MINUTES_PER_DAY

    def minute_of_day(self, d: int) -> int:
        """The offset ``t`` of 00:00 UTC of day ``d``."""
        return d * MINUTES_PER_DAY - self.offset

    def weekday(self, d: int) -> int:
        return (self.weekday0 + d) % 7

    def zulu(self, t: int) -> str:
        d, m = divmod(t + self.offset, MINUTES_PER_DAY)
        return f"{self.day(d)}T{_HM[m]}:00Z"

    def formatter(self, style: int) -> Formatter:
        """0: ``Z``; 1: ``-05:00`` local time; 2: ``+00:00`` with milliseconds."""
        if style == 1:

            def local(t: int) -> str:
                d, m = divmod(t + self.offset - 300, MINUTES_PER_DAY)
                return f"{self.day(d)}T{_HM[m]}:00-05:00"

            return local
        if style == 2:

            def millis(t: int) -> str:
                d, m = divmod(t + self.offset, MINUTES_PER_DAY)
                return f"{self.day(d)}T{_HM[m]}:00.000+00:00"

            return millis
        return self.zulu


class _Patient:
    __slots__ = ("fmt", "n", "noshow", "pid", "trend")

    def __init__(self, pid: str, fmt: Formatter, noshow: float, trend: float) -> None:
        self.pid = pid
        self.fmt = fmt
        self.n = 0
        self.noshow = noshow
        self.trend = trend

    def next_id(self, kind: str) -> str:
        self.n += 1
        return f"{self.pid}-{kind}{self.n}"


def _weights(pairs: Sequence[tuple[object, float]]) -> tuple[list[object], list[float]]:
    values = [v for v, _ in pairs]
    cum: list[float] = []
    total = 0.0
    for _, w in pairs:
        total += w
        cum.append(total)
    return values, cum


class _Builder:
    """Builds whole journeys (a patient, or a group cohort) as lists of documents."""

    def __init__(self, rng: random.Random, clock: _Clock, prefix: str) -> None:
        self.rng = rng
        self.clock = clock
        self.prefix = prefix
        self.cohorts = 0
        self._disp = _weights([((d[0], d[1]), d[2]) for d in _DISPOSITIONS])
        self._reasons = _weights(_REASONS)
        self._codes = {lv: _weights(c) for lv, c in _LEVEL_CODES.items()}

    # -- small pieces ------------------------------------------------------------------
    def _pick(self, table: tuple[list[object], list[float]]) -> object:
        return self.rng.choices(table[0], cum_weights=table[1])[0]

    def level_code(self, level: str) -> str:
        code = self._pick(self._codes[level])
        assert isinstance(code, str)
        return code

    def patient(self, i: int) -> _Patient:
        r = self.rng.random()
        style = 0 if r < 0.85 else (1 if r < 0.95 else 2)
        u = self.rng.random()
        noshow = 0.03 if u < 0.7 else (0.12 if u < 0.95 else 0.4)
        trend = self.rng.choice((-2.5, -2.0, -1.5, -1.0, -1.0, -0.5, 0.0, 1.0, 1.5, 2.5))
        return _Patient(f"{self.prefix}{i:06d}", self.clock.formatter(style), noshow, trend)

    def value(self, v: int) -> str:
        r = self.rng.random()
        if r < 0.7:
            return T.V_INT % v
        if r < 0.9:
            return T.V_QTY % v
        return T.V_STR % v

    def observation(
        self, p: _Patient, t: int, loinc: str, value: str, subject: str | None = None
    ) -> str:
        head = T.OBS_DT if self.rng.random() < 0.95 else T.OBS_PERIOD
        ref = subject or f"Patient/{p.pid}"
        return head % (p.next_id("obs"), "final", loinc, ref, p.fmt(t)) + value

    # -- assessments -------------------------------------------------------------------
    def weekly_assessments(self, p: _Patient, t: int, phq: int, out: list[Doc]) -> None:
        rng = self.rng
        gad = max(0, min(21, int(phq * 0.7) + rng.randint(-3, 3)))
        with_gad = rng.random() < 0.8
        if rng.random() < 0.1:  # both scores in one collection Bundle, urn:uuid subjects
            bid = p.next_id("col")
            urn = f"urn:uuid:pat-{bid}"
            entries = [
                T.ENTRY % (f"obs-{bid}-1", self.observation(p, t, T.PHQ9, T.V_INT % phq, urn))
            ]
            if with_gad:
                obs = self.observation(p, t + 2, T.GAD7, T.V_INT % gad, urn)
                entries.append(T.ENTRY % (f"obs-{bid}-2", obs))
            out.append((t + 5, "collection", T.COLLECTION % (bid, urn, p.pid, ",".join(entries))))
        else:
            out.append((t, "phq9", self.observation(p, t, T.PHQ9, self.value(phq))))
            if with_gad:
                out.append((t + 3, "gad7", self.observation(p, t + 3, T.GAD7, self.value(gad))))
        if rng.random() < 0.15:
            item9 = rng.choice((1, 1, 2, 3)) if phq >= 15 and rng.random() < 0.5 else 0
            if rng.random() < 0.5:
                out.append(
                    (t + 1, "item9", self.observation(p, t + 1, T.PHQ9_ITEM9, T.V_INT % item9))
                )
            else:
                doc = self.observation(p, t + 1, T.PHQ9_ITEM9, T.V_CC % T.ITEM9_CC[item9])
                out.append((t + 1, "item9-answer", doc))

    def cssrs(self, p: _Patient, t: int, phq: int, out: list[Doc]) -> None:
        r = self.rng.random()
        risk = "high" if r < 0.03 else ("moderate" if r < 0.15 + phq / 200 else "low")
        if self.rng.random() < 0.2:
            value = T.V_STR % risk
        else:
            value = T.V_CC % self.rng.choice(T.CSSRS_CC[risk])
        out.append((t, f"cssrs-{risk}", self.observation(p, t, T.CSSRS, value)))

    def auditc(self, p: _Patient, t: int, out: list[Doc]) -> None:
        v = self.rng.randint(0, 3) if self.rng.random() < 0.7 else self.rng.randint(4, 12)
        out.append((t, "auditc", self.observation(p, t, T.AUDITC, self.value(v))))

    # -- inpatient -----------------------------------------------------------------------
    def encounter_doc(
        self,
        p: _Patient,
        enc_id: str,
        span: tuple[int, int | None],
        disp: tuple[str | None, str],
        reason: str,
    ) -> tuple[str, str]:
        """(shape, document) of an admission (``span`` ends None) or a discharge;
        ``reason``: the ``reasonCode`` fragment (the principal diagnosis)."""
        start, end = span
        cls = "IMP" if self.rng.random() < 0.9 else self.rng.choice(("ACUTE", "NONAC"))
        message = self.rng.random() < (0.45 if end is None else 0.5)
        bid = p.next_id("msg")
        subject = f"urn:uuid:pat-{bid}" if message else f"Patient/{p.pid}"
        times = (p.fmt(start),) if end is None else (p.fmt(start), p.fmt(end))
        if end is None:
            enc = T.ENC_ADMIT % (enc_id, cls, subject, *times, reason)
        elif disp[0] is None:
            enc = T.ENC_DISCHARGE_NO_DISP % (enc_id, cls, subject, *times, reason)
        else:
            enc = T.ENC_DISCHARGE % (enc_id, cls, subject, *times, reason, *disp)
        kind = "admit" if end is None else "discharge"
        if not message:
            return f"encounter-{kind}", enc
        at = end if end is not None else start
        doc = T.MESSAGE % (
            bid,
            p.fmt(at + 4),
            f"urn:uuid:hdr-{bid}",
            f"hdr-{bid}",
            f"notification-{kind}",
            f"urn:uuid:enc-{bid}",
            f"urn:uuid:enc-{bid}",
            enc,
            f"urn:uuid:pat-{bid}",
            p.pid,
            f"MRN-{p.pid}",
        )
        return f"message-{kind}", doc

    def inpatient(self, p: _Patient, t0: int, out: list[Doc], depth: int = 0) -> None:
        rng = self.rng
        los = rng.randint(2, 14)
        t_adm = t0 + rng.randint(0, MINUTES_PER_DAY - 1)
        t_dc = t_adm + los * MINUTES_PER_DAY + rng.randint(-300, 300)
        enc_id = p.next_id("enc")
        phq = min(27, int(rng.triangular(4, 28, 21)))
        reason = self._pick(self._reasons)
        assert isinstance(reason, str)
        if rng.random() < 0.85:
            adm = self.encounter_doc(p, enc_id, (t_adm, None), (None, ""), reason)
            out.append((t_adm + 2, *adm))
        if rng.random() < 0.7:
            t_obs = t_adm + rng.randint(1, los) * MINUTES_PER_DAY - rng.randint(60, 600)
            self.weekly_assessments(p, t_obs, phq, out)
            if rng.random() < 0.35:
                self.cssrs(p, t_obs + 10, phq, out)
        system, code = self._disposition()
        out.append(
            (t_dc + 3, *self.encounter_doc(p, enc_id, (t_adm, t_dc), (system, code), reason))
        )
        if code == "exp":
            return
        if code in _TRANSFER:
            if rng.random() < 0.5 and depth < 2:
                self.inpatient(p, t_dc + rng.randint(3, 20) * MINUTES_PER_DAY, out, depth + 1)
            return
        follow = 0.75 if code != "aadvice" else 0.4
        if rng.random() < follow:
            level = "php" if phq >= 20 else ("iop" if phq >= 10 else "op")
            if rng.random() < 0.2:
                level = rng.choice(("php", "iop", "op"))
            start = t_dc + rng.randint(1, 6) * MINUTES_PER_DAY
            self.program(p, start, level, rng.randint(3, 8), phq, out, depth)
        elif rng.random() < 0.1 and depth < 2:
            self.inpatient(p, t_dc + rng.randint(10, 40) * MINUTES_PER_DAY, out, depth + 1)

    def _disposition(self) -> tuple[str | None, str]:
        system, code = self._pick(self._disp)  # type: ignore[misc]
        return system, code

    # -- programs ------------------------------------------------------------------------
    def episode(self, p: _Patient, level: str, t: int, end: int | None) -> tuple[int, str, str]:
        eid = p.next_id("eoc")
        if end is None:
            date_only = self.rng.random() < 0.2
            if date_only:
                d = self.clock.day_of(t)
                period = f'{{"start":"{self.clock.day(d)}"}}'
                t = self.clock.minute_of_day(d)
            else:
                period = f'{{"start":"{p.fmt(t)}"}}'
            doc = T.EPISODE % (eid, "active", self.level_code(level), f"Patient/{p.pid}", period)
            return t, "episode-active", doc
        period = f'{{"start":"{p.fmt(t)}","end":"{p.fmt(end)}"}}'
        doc = T.EPISODE % (eid, "finished", self.level_code(level), f"Patient/{p.pid}", period)
        return end, "episode-finished", doc

    def session_days(self, level: str, first_day: int, weeks: int) -> Iterator[int]:
        (lo, hi), _, _ = _SESSIONS[level]
        monday = first_day - self.clock.weekday(first_day)
        for w in range(weeks):
            k = self.rng.randint(lo, hi)
            for off in sorted(self.rng.sample(range(5), k)):
                d = monday + 7 * w + off
                if d >= first_day:
                    yield d

    def session_time(self, level: str, d: int) -> tuple[int, int]:
        _, minutes, hours = _SESSIONS[level]
        start = self.clock.minute_of_day(d) + self.rng.choice(hours) * 60 + self.rng.randint(0, 10)
        return start, self.rng.choice(minutes)

    def appointment(
        self,
        aid: str,
        status: str,
        level: str,
        p_fmt: Formatter,
        t: int,
        minutes: int,
        patients: str,
    ) -> str:
        head = T.APPOINTMENT % (aid, status, self.level_code(level), p_fmt(t))
        if self.rng.random() < 0.9:
            length = T.APPT_MINUTES % minutes
        else:
            length = T.APPT_END % p_fmt(t + minutes)
        staff = T.PRACTITIONER_PARTICIPANT % self.rng.randint(1, 40)
        return head + length + T.APPT_PARTICIPANTS % f"{patients},{staff}"

    def amb_encounter(
        self, p: _Patient, level: str, t: int, minutes: int, appointment: str | None
    ) -> str:
        doc = T.ENC_AMB % (
            p.next_id("amb"),
            self.level_code(level),
            f"Patient/{p.pid}",
            p.fmt(t),
            p.fmt(t + minutes),
        )
        if self.rng.random() < 0.6:
            doc += T.AMB_LENGTH % minutes
        if appointment is not None:
            doc += T.AMB_APPOINTMENT % appointment
        return doc + "}"

    def session(self, p: _Patient, level: str, t: int, minutes: int, out: list[Doc]) -> None:
        rng = self.rng
        me = T.PATIENT_PARTICIPANT % p.pid
        r = rng.random()
        if r < p.noshow:
            aid = p.next_id("appt")
            if rng.random() < 0.3:
                booked = self.appointment(aid, "booked", level, p.fmt, t, minutes, me)
                out.append((t - 2 * MINUTES_PER_DAY, "appointment-booked", booked))
            doc = self.appointment(aid, "noshow", level, p.fmt, t, minutes, me)
            out.append((t + 30, "appointment-noshow", doc))
            return
        if r < p.noshow + 0.02:
            doc = self.appointment(p.next_id("appt"), "cancelled", level, p.fmt, t, minutes, me)
            out.append((t - MINUTES_PER_DAY, "appointment-cancelled", doc))
            return
        u = rng.random()
        if u < 0.75:
            doc = self.appointment(p.next_id("appt"), "fulfilled", level, p.fmt, t, minutes, me)
            out.append((t + minutes, "appointment-fulfilled", doc))
        elif u < 0.95:
            doc = self.amb_encounter(p, level, t, minutes, None)
            out.append((t + minutes + 5, "encounter-amb", doc))
        else:
            aid = p.next_id("appt")
            doc = self.appointment(aid, "fulfilled", level, p.fmt, t, minutes, me)
            out.append((t + minutes, "appointment-fulfilled", doc))
            amb = self.amb_encounter(p, level, t, minutes, aid)
            out.append((t + minutes + 180, "encounter-amb-appointment", amb))

    def program(
        self,
        p: _Patient,
        t_start: int,
        level: str,
        weeks: int,
        phq: int,
        out: list[Doc],
        depth: int = 0,
        sessions: bool = True,
    ) -> None:
        rng = self.rng
        explicit = rng.random() < 0.75
        if explicit:
            out.append(self.episode(p, level, t_start, None))
        if rng.random() < 0.5:
            self.cssrs(p, t_start + 60, phq, out)
        if rng.random() < 0.4:
            self.auditc(p, t_start + 70, out)
        first_day = self.clock.day_of(t_start) + (1 if explicit else 0)
        last = t_start
        if sessions:
            for d in self.session_days(level, first_day, weeks):
                t, minutes = self.session_time(level, d)
                self.session(p, level, t, minutes, out)
                last = max(last, t + minutes)
        for w in range(weeks):
            d = first_day + 7 * w + rng.randint(0, 4)
            t = self.clock.minute_of_day(d) + rng.randint(10 * 60, 16 * 60)
            phq = max(0, min(27, round(phq + p.trend + rng.uniform(-2, 2))))
            self.weekly_assessments(p, t, phq, out)
            if rng.random() < 0.06:
                self.cssrs(p, t + 15, phq, out)
            if rng.random() < 0.03:
                self.auditc(p, t + 20, out)
            if rng.random() < 0.04:
                hr = self.observation(p, t + 30, T.HEART_RATE, T.V_HR % rng.randint(55, 110))
                out.append((t + 30, "observation-other", hr))
            if rng.random() < 0.01:
                head = T.OBS_DT % (
                    p.next_id("obs"),
                    "preliminary",
                    T.PHQ9,
                    f"Patient/{p.pid}",
                    p.fmt(t),
                )
                out.append((t + 1, "observation-preliminary", head + T.V_INT % phq))
            last = max(last, t)
        if p.trend > 0 and phq >= 20 and depth < 2 and rng.random() < 0.3:
            self.inpatient(p, last + rng.randint(1, 5) * MINUTES_PER_DAY, out, depth + 1)
        elif explicit and rng.random() < 0.7:
            out.append(self.episode(p, level, t_start, last + rng.randint(60, 2 * MINUTES_PER_DAY)))

    # -- journeys ------------------------------------------------------------------------
    def single(self, i: int, t0: int) -> tuple[list[_Patient], list[Doc]]:
        rng = self.rng
        p = self.patient(i)
        out: list[Doc] = []
        if rng.random() < 0.03:
            out.append((t0, "patient", T.PATIENT % (p.pid, f"MRN-{p.pid}")))
        r = rng.random()
        if r < 0.38:
            self.inpatient(p, t0, out)
        else:
            level = rng.choices(("php", "iop", "op"), (25, 45, 30))[0]
            phq = {"php": rng.randint(14, 26), "iop": rng.randint(9, 22), "op": rng.randint(3, 16)}
            start = t0 + rng.randint(8 * 60, 10 * 60)
            self.program(p, start, level, rng.randint(3, 10), phq[level], out)
        return [p], out

    def cohort(self, i: int, k: int, t0: int) -> tuple[list[_Patient], list[Doc]]:
        """``k`` patients in one program sharing group sessions."""
        rng = self.rng
        self.cohorts += 1
        gid = f"{self.prefix}g{self.cohorts:05d}"
        level = "iop" if rng.random() < 0.7 else "php"
        weeks = rng.randint(3, 8)
        first_day = self.clock.day_of(t0)
        first_day += (7 - self.clock.weekday(first_day)) % 7  # the next Monday
        t_start = self.clock.minute_of_day(first_day) + 8 * 60
        members = [self.patient(i + j) for j in range(k)]
        out: list[Doc] = []
        for p in members:
            phq = rng.randint(9, 24) if level == "iop" else rng.randint(14, 26)
            self.program(p, t_start, level, weeks, phq, out, depth=2, sessions=False)
        for n, d in enumerate(self.session_days(level, first_day + 1, weeks)):
            t, minutes = self.session_time(level, d)
            here = [p for p in members if rng.random() >= p.noshow]
            for p in members:
                if p not in here:
                    self.session_missed(p, level, t, minutes, out)
            if not here:
                continue
            aid = f"{gid}-{n + 1}"
            who = ",".join(T.PATIENT_PARTICIPANT % p.pid for p in here)
            doc = self.appointment(aid, "fulfilled", level, members[0].fmt, t, minutes, who)
            out.append((t + minutes, "appointment-group", doc))
            if rng.random() < 0.15:
                p = rng.choice(here)
                amb = self.amb_encounter(p, level, t, minutes, aid)
                out.append((t + minutes + 120, "encounter-amb-appointment", amb))
        return members, out

    def session_missed(self, p: _Patient, level: str, t: int, minutes: int, out: list[Doc]) -> None:
        me = T.PATIENT_PARTICIPANT % p.pid
        doc = self.appointment(p.next_id("appt"), "noshow", level, p.fmt, t, minutes, me)
        out.append((t + 30, "appointment-noshow", doc))


class _Invalid:
    """Invalid documents (contract §6), each naming a real patient of the stream."""

    def __init__(self, rng: random.Random, clock: _Clock) -> None:
        self.rng = rng
        self.clock = clock
        self.kinds = _weights(_INVALID_KINDS)
        self.n = 0

    def make(self, pid: str, t: int, near: str) -> tuple[str, bytes]:
        rng = self.rng
        kind = rng.choices(self.kinds[0], cum_weights=self.kinds[1])[0]
        assert isinstance(kind, str)
        self.n += 1
        oid = f"{pid}-bad{self.n}"
        when = self.clock.zulu(t)
        text: str
        if kind == "broken-json":
            text = near[: rng.randint(1, len(near) - 1)]
        elif kind == "not-utf8":
            return "invalid-" + kind, b"\xff\xfe" + near[:40].encode() + b"\xc3\x28"
        elif kind == "not-object":
            text = rng.choice(("[1, 2, 3]", '"an observation"', "42", "null"))
        elif kind == "no-resource-type":
            text = f'{{"id":"{oid}","status":"final","subject":{{"reference":"Patient/{pid}"}}}}'
        elif kind == "missing-subject":
            text = T.OBS_NO_SUBJECT % (oid, when) + T.V_INT % rng.randint(0, 27)
        elif kind == "subject-not-reference":
            text = T.OBS_DT % (oid, "final", T.PHQ9, "@", when) + T.V_INT % 5
            text = text.replace('{"reference":"@"}', f'"Patient/{pid}"')
        elif kind == "score-out-of-range":
            loinc, lo, hi = rng.choice(
                ((T.PHQ9, 28, 60), (T.GAD7, 22, 40), (T.AUDITC, 13, 30), (T.PHQ9_ITEM9, 4, 9))
            )
            text = T.OBS_DT % (oid, "final", loinc, f"Patient/{pid}", when) + T.V_INT % rng.randint(
                lo, hi
            )
        elif kind == "no-zone":
            text = T.OBS_DT % (oid, "final", T.GAD7, f"Patient/{pid}", when[:-1]) + T.V_INT % 7
        elif kind == "bad-value-string":
            value = T.V_STR % rng.choice(("twelve", "n/a", "high"))
            text = T.OBS_DT % (oid, "final", T.PHQ9, f"Patient/{pid}", when) + value
        elif kind == "group-subject":
            text = T.ENC_DISCHARGE % (
                oid,
                "IMP",
                f"Group/{pid}-family",
                when,
                self.clock.zulu(t + 600),
                T.BH_REASON,
                T.DISPOSITION,
                "home",
            )
        else:  # message-no-header
            enc = T.ENC_DISCHARGE % (
                oid,
                "IMP",
                f"Patient/{pid}",
                when,
                self.clock.zulu(t + 600),
                T.BH_REASON,
                T.DISPOSITION,
                "home",
            )
            text = T.MESSAGE_NO_HEADER % (f"{oid}-msg", when, f"urn:uuid:{oid}", enc)
        return "invalid-" + kind, text.encode()


def generate_labeled(
    n_patients: int,
    seed: int,
    invalid_rate: float = 0.01,
    start: datetime = DEFAULT_START,
    *,
    span_days: int = 365,
    prefix: str | None = None,
) -> Iterator[tuple[str, bytes]]:
    """``(shape, document)`` pairs; see :func:`generate`. Shapes of invalid documents start
    with ``invalid-``; every other document is valid input (an event or ignored)."""
    if not 0 <= invalid_rate < 1:
        raise ValueError("invalid_rate must be in [0, 1)")
    clock = _Clock(start)
    builder = _Builder(random.Random(seed), clock, prefix if prefix is not None else f"s{seed}-")
    bad = _Invalid(random.Random(f"carepath-invalid-{seed}"), clock)
    p_bad = invalid_rate / (1 - invalid_rate)  # inserted per valid document
    bad_random = bad.rng.random
    span = span_days * MINUTES_PER_DAY
    heap: list[tuple[int, int, int, list[Doc], str]] = []
    i = seq = 0
    next_start = 0
    while True:
        if i < n_patients and (not heap or next_start <= heap[0][0]):
            k = builder.rng.randint(2, 4) if builder.rng.random() < 0.05 else 1
            k = min(k, n_patients - i)
            if k > 1:
                members, docs = builder.cohort(i, k, next_start)
            else:
                members, docs = builder.single(i, next_start)
            i += k
            next_start = i * span // max(n_patients, 1) + builder.rng.randint(0, 720)
            if docs:
                docs.sort(key=_first)
                seq += 1
                heapq.heappush(heap, (docs[0][0], seq, 0, docs, members[0].pid))
            continue
        if not heap:
            return
        _, s, pos, docs, pid = heap[0]
        t, shape, text = docs[pos]
        pos += 1
        if pos < len(docs):
            heapq.heapreplace(heap, (docs[pos][0], s, pos, docs, pid))
        else:
            heapq.heappop(heap)
        if p_bad and bad_random() < p_bad:
            yield bad.make(pid, t, text)
        yield shape, text.encode()


def _first(doc: Doc) -> int:
    return doc[0]


def generate(
    n_patients: int,
    seed: int,
    invalid_rate: float = 0.01,
    start: datetime = DEFAULT_START,
    *,
    span_days: int = 365,
    prefix: str | None = None,
) -> Iterator[bytes]:
    """One FHIR R4 JSON document per item, in arrival order, for ``n_patients`` patients.

    ``start`` is the first day of the stream; journeys begin over ``span_days`` after it
    and last up to a few months. Patient keys are ``<prefix><index:06d>`` (default prefix
    ``s<seed>-``). About ``invalid_rate`` of the documents are invalid input.
    """
    for _, doc in generate_labeled(
        n_patients, seed, invalid_rate, start, span_days=span_days, prefix=prefix
    ):
        yield doc


def write_ndjson(
    path: str | Path,
    n_patients: int,
    seed: int,
    invalid_rate: float = 0.01,
    start: datetime = DEFAULT_START,
) -> int:
    """Write the population as NDJSON (one document per line); return the line count.

    Broken-JSON documents never contain a newline, so every document stays one line.
    """
    n = 0
    with open(path, "wb") as f:
        buf: list[bytes] = []
        for doc in generate(n_patients, seed, invalid_rate, start):
            buf.append(doc)
            if len(buf) >= 4096:
                f.write(b"\n".join(buf) + b"\n")
                n += len(buf)
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")
            n += len(buf)
    return n


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.bench.population", description=__doc__)
    ap.add_argument("out", help="NDJSON file to write")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--invalid-rate", type=float, default=0.01)
    ap.add_argument("--start", default=DEFAULT_START.date().isoformat(), help="YYYY-MM-DD (UTC)")
    args = ap.parse_args(argv)
    start = datetime.combine(date.fromisoformat(args.start), datetime.min.time(), tzinfo=UTC)
    n = write_ndjson(args.out, args.patients, args.seed, args.invalid_rate, start)
    print(f"{n} documents for {args.patients} patients -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
