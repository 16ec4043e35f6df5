"""The eighteen public scenarios (rule pack v2.2), translated by hand into normalized events
(no FHIR), must give the final Tasks and ServiceRequests of their expected.json (dead
letters, ignored documents and out-of-scope sessions are the boundary's: they are left out
here, or sent as the ignored event the boundary makes of them).

Event ids mimic contract §7 identities: a re-sent resource with the same content has the
same id (scenario 09's duplicate discharge); ``Appointment`` ids are what an attendance
stands for (scenario 10's Encounter for an already counted group session). Stay events
carry the Encounter as ``ref`` so an admission and its discharge are one stay; ED visits
take ``period.end`` (contract §3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.codes import CareTask, Status
from tests.scenarios.compare import match
from tests.unit.core_kit import Journey

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "data"


def s01() -> list[Journey]:
    j = Journey("s01")
    j.admit("2026-03-01T08:00", ref="Encounter/s01-adm", eid="Encounter/s01-adm/v1")
    j.assess("2026-03-05T10:00", "phq9", 14)
    j.discharge("2026-03-08T15:00", "home", ref="Encounter/s01-adm", eid="Bundle/s01-msg-dc")
    j.attend("2026-03-10T14:00", "iop", 180, ["s01-appt-1"])
    return [j]


def s02() -> list[Journey]:
    j = Journey("s02")
    j.assess("2026-04-02T09:00", "phq9", 22)  # no level, not in BH care: recorded
    j.discharge("2026-04-06T12:00", "home", ref="Encounter/s02-enc")
    return [j]


def s03() -> list[Journey]:
    j = Journey("s03")
    j.discharge("2026-05-04T02:30", "aadvice")  # 2026-05-03T22:30-04:00
    return [j]


def s04() -> list[Journey]:
    a, b = Journey("s04a"), Journey("s04b")
    a.discharge("2026-06-05T08:00", "psy")
    b.stay("2026-05-25T08:00", "2026-06-01T12:00")
    b.stay("2026-06-03T20:00", "2026-06-10T06:00", "exp")
    b.no_show("2026-06-12T10:00", "iop")
    return [a, b]


def s05() -> list[Journey]:
    j = Journey("s05")
    j.enroll("2026-02-02T00:00", "iop")
    j.attend("2026-02-02T09:00")
    j.attend("2026-02-04T09:00")
    j.assess("2026-02-03T10:00", "phq9", 21)  # late
    j.attend("2026-02-06T09:00")
    j.attend("2026-02-09T09:00")
    j.assess("2026-02-10T10:00", "phq9", 23)
    j.attend("2026-02-11T09:00")
    j.attend("2026-02-13T09:00")
    j.assess("2026-02-12T10:00", "phq9", 24)  # late
    return [j]


def s06() -> list[Journey]:
    j = Journey("s06")
    j.enroll("2026-03-02T00:00", "php")
    phq = {"2026-03-03": 18, "2026-03-09": 9, "2026-03-16": 7}
    for d in ("02", "03", "04", "05", "06", "09", "10", "11", "12", "13", "16", "17", "18",
              "19", "20"):  # fmt: skip
        day = f"2026-03-{d}"
        j.attend(f"{day}T09:00", "php", 300)
        if day in phq:
            j.assess(f"{day}T15:00", "phq9", phq[day])
    return [j]


def s07() -> list[Journey]:
    j = Journey("s07")
    j.enroll("2026-01-05T00:00", "op")
    j.assess("2026-01-12T14:00", "phq9-item9", 1)
    j.assess("2026-01-12T15:00", "cssrs", 2)
    j.assess("2026-01-14T09:00", "cssrs", 3)
    j.assess("2026-01-14T09:30", "auditc", 6)
    return [j]


def s08() -> list[Journey]:
    j = Journey("s08")
    j.enroll("2026-06-01T00:00", "iop")
    j.attend("2026-06-01T09:00", "iop", 180, ["s08-a1"])
    j.no_show("2026-06-03T09:00")  # s08-a2 booked, then noshow: the noshow is the event
    j.no_show("2026-06-05T09:00")
    j.no_show("2026-06-08T09:00")
    return [j]


def s09() -> list[Journey]:
    j = Journey("s09")
    dc = {"ref": "Encounter/s09-enc", "eid": "Encounter|s09-enc|h1"}
    j.discharge("2026-07-01T12:00", "home", **dc)
    j.patient_record(ref="Patient/s09")  # a bare Patient: no time, no name, not deceased
    j.assess("2026-07-02T11:00", "phq9", 8)
    step = j.discharge("2026-07-01T12:00", "home", **dc)
    assert step.duplicate and not step.outputs
    return [j]


def s10() -> list[Journey]:
    a, b = Journey("s10a"), Journey("s10b")
    a.enroll("2026-08-03T00:00", "iop")  # NUBC 0905
    b.enroll("2026-08-03T00:00", "iop")  # HCPCS S9480
    for d in ("03", "05", "07", "10", "12", "14"):
        appt = f"s10-grp-2026-08-{d}"
        for j in (a, b):
            j.attend(f"2026-08-{d}T13:00", "iop", 150, [appt], eid=f"Appointment|{appt}|h")
    a.attend("2026-08-03T13:00", "iop", 150, ["s10-grp-2026-08-03"])  # the Encounter
    return [a, b]


def s11() -> list[Journey]:
    a, b, c = Journey("s11a"), Journey("s11b"), Journey("s11c")
    a.admit("2026-02-02T08:00", bh=False, ref="Encounter/s11a-knee")
    b.admit("2026-02-02T09:00", ref="Encounter/s11b-enc")
    c.enroll("2026-02-02T00:00", "iop")
    c.attend("2026-02-02T13:00", "iop", 180, ["s11c-a1"])
    b.assess("2026-02-03T10:00", "phq9", 16)
    c.attend("2026-02-04T13:00", "iop", 180, ["s11c-a2"])
    a.discharge("2026-02-05T10:00", bh=False, ref="Encounter/s11a-knee")
    c.admit("2026-02-05T07:00", bh=False, ref="Encounter/s11c-knee")
    b.discharge("2026-02-06T12:00", ref="Encounter/s11b-enc")
    c.discharge("2026-02-08T11:00", bh=False, ref="Encounter/s11c-knee")
    # the dermatology and dental sessions are out of scope: the boundary ignores them
    a.ed_visit("2026-02-10T21:00", bh=False, ref="Encounter/s11a-ed")  # a sprain
    c.attend("2026-02-10T13:00", "iop", 180, ["s11c-a3"])
    b.attend("2026-02-12T10:00", None, 50, ["s11b-visit"], bh=False)  # no service codes
    return [a, b, c]


def s12() -> list[Journey]:
    a, b = Journey("s12a"), Journey("s12b")
    b.enroll("2026-03-02T00:00", "op")
    a.ed_visit("2026-03-02T14:00", ref="Encounter/s12a-ed")  # F33.2: in BH care
    a.assess("2026-03-03T10:00", "cssrs", 3)
    b.assess("2026-03-03T10:00", "phq9", 22)
    a.attend("2026-03-03T15:00", "op", 45, ["s12a-bridge"])
    a.enroll("2026-03-04T00:00", "op")
    b.attend("2026-03-04T15:00", "op", 45, ["s12b-bridge"])
    a.admit("2026-03-04T08:00", ref="Encounter/s12a-adm")
    b.enroll("2026-03-05T00:00", "op")
    b.attend("2026-03-06T09:00", "php", 300, ["s12b-php1"])
    return [a, b]


def s13() -> list[Journey]:
    a, b, c = Journey("s13a"), Journey("s13b"), Journey("s13c")
    for j, phq in ((a, 8), (b, 12), (c, 8)):
        j.assess("2026-03-30T10:00", "phq9", phq)
    for j in (a, b, c):
        j.discharge("2026-04-01T12:00", ref=f"Encounter/{j.patient}-enc")
    a.attend("2026-04-03T16:00", "op", 45, [], ref="Encounter/s13a-vr1")  # telehealth
    b.attend("2026-04-21T10:00", "iop", 180, [], ref="Encounter/s13b-vr1")
    return [a, b, c]


def s14() -> list[Journey]:
    a, b = Journey("s14a"), Journey("s14b")
    a.enroll("2026-05-04T00:00", "op")
    b.enroll("2026-05-04T00:00", "op")
    a.assess("2026-05-05T10:00", "gad7", 17)
    b.assess("2026-05-05T10:00", "phq9", 16)
    b.update(b.open(CareTask.FULFILL).id, Status.REJECTED, "2026-05-06T09:00")
    return [a, b]


def s15() -> list[Journey]:
    a, b = Journey("s15a"), Journey("s15b")
    a.enroll("2026-06-01T00:00", "op")
    b.enroll("2026-06-01T00:00", "iop")
    a.assess("2026-06-02T10:00", "cssrs", 3, ref="Observation/s15a-c1")
    b.assess("2026-06-02T10:00", "phq9", 22, ref="Observation/s15b-q1")
    a.retract("Observation/s15a-c1", "2026-06-02T10:00")
    a.assess("2026-06-03T10:00", "phq9", 16, ref="Observation/s15a-q1")
    b.assess("2026-06-09T10:00", "phq9", 23, ref="Observation/s15b-q2")
    b.assess("2026-06-09T10:00", "phq9", 13, ref="Observation/s15b-q2", version="2")
    return [a, b]


def s16() -> list[Journey]:
    a, b, c = Journey("s16a"), Journey("s16b"), Journey("s16c")
    a.enroll("2026-07-06T00:00", "php")
    b.enroll("2026-07-06T00:00", "iop")
    c.enroll("2026-07-06T00:00", "iop")
    sessions = {
        a: ("06 07 08 09 10 13 14 15 16 17 20 21 22", "php", 300, 9),
        b: ("06 08 13 15 20 22", "iop", 90, 13),
        c: ("06 08 10 13 15 17 20 22", "iop", 180, 13),
    }
    for day in range(6, 23):
        for j, (days, level, minutes, hour) in sessions.items():
            if f"{day:02d}" in days.split():
                j.attend(f"2026-07-{day:02d}T{hour:02d}:00", level, minutes)
        if day == 20:
            c.assess("2026-07-20T15:00", "phq9-item9", 2)
        if day == 22:
            a.update(a.open(CareTask.RECERT).id, Status.COMPLETED, "2026-07-22T12:00")
    for day in ("23", "24"):
        a.attend(f"2026-07-{day}T09:00", "php", 300)
    b.exit("2026-07-24T12:00", "iop", finished=False)
    c.exit("2026-07-24T16:00", "iop", finished=True)
    for day in ("27", "28", "29", "30"):
        a.attend(f"2026-07-{day}T09:00", "php", 300)
    a.exit("2026-07-31T16:00", "php", finished=True)
    return [a, b, c]


def s17() -> list[Journey]:
    j = Journey("s17")
    j.admit("2026-05-01T09:00", ref="Encounter/s17-enc")
    j.assess("2026-05-04T10:00", "cssrs", 3)  # during the stay: recorded only
    j.discharge("2026-05-06T12:00", ref="Encounter/s17-enc")
    j.assess("2026-05-07T10:00", "cssrs", 3)
    j.assess("2026-05-08T10:00", "cssrs", 3)
    return [j]


def s18() -> list[Journey]:
    a, b = Journey("s18a"), Journey("s18b")
    b.enroll("2026-06-01T00:00", "iop")
    b.attend("2026-06-01T13:00", "iop", 180, ["s18b-a1"])
    a.ed_visit("2026-06-01T21:00", bh=False, ref="Encounter/s18a-ed")  # a sprain
    a.assess("2026-06-01T19:00", "phq9-item9", 2)
    a.assess("2026-06-01T19:00", "cssrs", 2)
    a.assess("2026-06-01T19:05", "auditc", 6)
    b.ed_visit("2026-06-04T02:00", ref="Encounter/s18b-ed")  # T39.1X2A self-poisoning
    b.attend("2026-06-05T13:00", "iop", 180, ["s18b-a2"])
    a.discharge("2026-06-15T12:00", ref="Encounter/s18a-enc")
    return [a, b]


SCENARIOS: dict[str, Callable[[], list[Journey]]] = {
    "01-discharge-home-to-iop": s01,
    "02-severe-discharge-to-php-followup-missed": s02,
    "03-left-against-advice": s03,
    "04-transfer-readmission-death": s04,
    "05-iop-worsening-to-php": s05,
    "06-php-improvement-to-iop": s06,
    "07-safety-signals-at-op": s07,
    "08-no-shows-and-low-hours": s08,
    "09-bad-input-mixed": s09,
    "10-group-sessions-billing-codes": s10,
    "11-non-bh-out-of-scope": s11,
    "12-step-up-not-cancelled-by-bridge": s12,
    "13-telehealth-30-day-follow-up": s13,
    "14-referral-stalled-then-expired": s14,
    "15-retraction": s15,
    "16-program-exit": s16,
    "17-repeat-cssrs-high-after-discharge": s17,
    "18-universal-ed-screening": s18,
}


def test_every_public_scenario_is_translated() -> None:
    names = {p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json")}
    assert names == set(SCENARIOS)


def expected(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((DATA / f"{name}.expected.json").read_text())
    return found


def run(name: str) -> list[Journey]:
    """The scenario's journeys, ticked to its ``until``."""
    until = expected(name)["until"]
    journeys = SCENARIOS[name]()
    for j in journeys:
        if until is not None and j.state is not None:
            j.tick(until.replace("Z", ""))
    return journeys


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_final_outputs(name: str) -> None:
    assert not (DATA / f"{name}.rules.toml").exists(), "translate its rules file too"
    tasks: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for j in run(name):
        jt, jr = j.summary()
        tasks += jt
        refs += jr
    assert match(expected(name)["tasks"], tasks) == ([], [])
    assert match(expected(name)["referrals"], refs) == ([], [])
