"""The ten public scenarios, translated by hand into normalized events (no FHIR), must give
the final Tasks and ServiceRequests of their expected.json (dead letters are the boundary's).

Event ids mimic contract §7 identities: a re-sent resource with the same content has the
same id (scenario 09's duplicate discharge); ``Appointment`` ids are what an attendance
stands for (scenario 10's Encounter for an already counted group session).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.compare import match
from tests.unit.core_kit import Journey

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "data"


def s01() -> list[Journey]:
    j = Journey("s01")
    j.admit("2026-03-01T08:00", eid="Encounter/s01-adm/v1")
    j.assess("2026-03-05T10:00", "phq9", 14)
    j.discharge("2026-03-08T15:00", "home", eid="Bundle/s01-msg-dc")
    j.attend("2026-03-10T14:00", "iop", 180, ["s01-appt-1"])
    return [j]


def s02() -> list[Journey]:
    j = Journey("s02")
    j.assess("2026-04-02T09:00", "phq9", 22)
    j.discharge("2026-04-06T12:00", "home")
    return [j]


def s03() -> list[Journey]:
    j = Journey("s03")
    j.discharge("2026-05-04T02:30", "aadvice")  # 2026-05-03T22:30-04:00
    return [j]


def s04() -> list[Journey]:
    a, b = Journey("s04a"), Journey("s04b")
    a.discharge("2026-06-05T08:00", "psy")
    b.admit("2026-05-25T08:00")
    b.discharge("2026-06-01T12:00", "home")
    b.admit("2026-06-03T20:00")
    b.discharge("2026-06-10T06:00", "exp")
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
    j.no_show("2026-06-03T09:00")
    j.no_show("2026-06-05T09:00")
    j.no_show("2026-06-08T09:00")
    return [j]


def s09() -> list[Journey]:
    j = Journey("s09")
    j.discharge("2026-07-01T12:00", "home", eid="Encounter|s09-enc|h1")
    j.assess("2026-07-02T11:00", "phq9", 8)
    step = j.discharge("2026-07-01T12:00", "home", eid="Encounter|s09-enc|h1")
    assert step.duplicate and not step.outputs
    return [j]


def s10() -> list[Journey]:
    a, b = Journey("s10a"), Journey("s10b")
    a.enroll("2026-08-03T00:00", "iop")
    b.enroll("2026-08-03T00:00", "iop")
    for d in ("03", "05", "07", "10", "12", "14"):
        appt = f"s10-grp-2026-08-{d}"
        for j in (a, b):
            j.attend(f"2026-08-{d}T13:00", "iop", 150, [appt], eid=f"Appointment|{appt}|h")
    a.attend("2026-08-03T13:00", "iop", 150, ["s10-grp-2026-08-03"])  # the Encounter
    return [a, b]


SCENARIOS = {
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
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_final_outputs(name: str) -> None:
    expected: dict[str, Any] = json.loads((DATA / f"{name}.expected.json").read_text())
    journeys = SCENARIOS[name]()
    tasks: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for j in journeys:
        if expected["until"] is not None and j.state is not None:
            j.tick(expected["until"].replace("Z", ""))
        jt, jr = j.summary()
        tasks += jt
        refs += jr
    assert match(expected["tasks"], tasks) == ([], [])
    assert match(expected["referrals"], refs) == ([], [])
