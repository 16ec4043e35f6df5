"""Scope read at the boundary (rules.md §2, §7; contract §3): stays carry whether they are
behavioral health and why; sessions are BH, attendance only, or ignored."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import DEFAULT_RULES, parse_rules
from pipeline.events import (
    EdVisited,
    PatientAdmitted,
    PatientDischarged,
    Scoped,
    SessionAttended,
    SessionMissed,
)
from pipeline.levels import Level
from pipeline.scope import OUT_OF_SCOPE_SESSION, OUT_OF_SCOPE_STAY
from tests.unit.ingest_docs import (
    ICD10CM,
    LOC,
    NUBC_REVENUE,
    SERVICE_CATEGORY,
    SNOMED,
    V3,
    Doc,
    appointment,
    cc,
    collection,
    diagnosed,
    encounter,
    ignored,
    message,
    one,
    run,
)

HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def scope(doc: Doc, **options: Any) -> tuple[bool, str]:
    event = one(doc, **options)
    assert isinstance(event, Scoped)
    return event.bh, event.scope


@pytest.mark.parametrize(
    ("code", "bh"),
    [
        ("F33.2", True),
        ("F332", True),  # compared without dots
        ("F10.239", True),
        ("F17.210", False),  # nicotine
        ("F05", False),  # delirium (organic, F01-F09)
        ("R45.851", True),  # suicidal ideation
        ("T14.91XA", True),  # suicide attempt
        ("T39.012A", True),  # intentional self-poisoning (6th character 2)
        ("T39.011A", False),  # accidental poisoning
        ("X78.0XXA", True),  # intentional self-harm
        ("M17.11", False),
    ],
)
def test_principal_diagnosis_decides_a_stay(code: str, bh: bool) -> None:
    got, why = scope(diagnosed(encounter(), code))
    assert got is bh
    if bh:
        assert why == f"principal diagnosis {code}"
    else:
        assert why.startswith(f"{OUT_OF_SCOPE_STAY} (principal diagnosis {code}")


def test_rank_one_is_the_principal_diagnosis_whatever_the_order() -> None:
    enc = encounter(
        contained=[
            {"resourceType": "Condition", "id": "knee", "code": cc(ICD10CM, "M17.11")},
            {"resourceType": "Condition", "id": "smoker", "code": cc(ICD10CM, "F17.210")},
            {"resourceType": "Condition", "id": "mdd", "code": cc(ICD10CM, "F33.2")},
        ],
        diagnosis=[
            {"condition": {"reference": "#mdd"}, "rank": 2},
            {"condition": {"reference": "#knee"}, "rank": 1},
            {"condition": {"reference": "#smoker"}, "rank": 3},
        ],
    )
    bh, why = scope(enc)
    assert not bh and "principal diagnosis M17.11" in why
    enc["diagnosis"] = [{"condition": {"reference": "#mdd"}}, {"condition": {"reference": "#knee"}}]
    assert scope(enc) == (True, "principal diagnosis F33.2")  # no rank: the first


def test_diagnosis_resolved_to_a_condition_entry_of_the_collection() -> None:
    dx = {"resourceType": "Condition", "id": "dx1", "code": cc(ICD10CM, "F20.9")}
    enc = encounter(diagnosis=[{"condition": {"reference": "urn:uuid:e0"}}])
    out = run(collection(dx, enc))
    stays = [e for e in out.events if isinstance(e, PatientDischarged)]
    assert [(s.bh, s.scope) for s in stays] == [(True, "principal diagnosis F20.9")]


def test_only_icd10cm_codings_count_and_unresolvable_conditions_give_none() -> None:
    snomed_dx = {"resourceType": "Condition", "id": "dx", "code": cc(SNOMED, "35489007")}
    enc = encounter(contained=[snomed_dx], diagnosis=[{"condition": {"reference": "#dx"}}])
    assert scope(enc)[1].startswith(f"{OUT_OF_SCOPE_STAY} (no principal diagnosis")
    elsewhere = encounter(diagnosis=[{"condition": {"reference": "Condition/on-server"}}])
    assert scope(elsewhere)[0] is False


def test_reason_code_when_there_is_no_diagnosis() -> None:
    enc = encounter(reasonCode=[cc(ICD10CM, "F31.2"), cc(ICD10CM, "M17.11")])
    assert scope(enc) == (True, "principal diagnosis F31.2")
    enc = encounter(reasonCode=[cc(ICD10CM, "M17.11"), cc(ICD10CM, "F31.2")])
    assert scope(enc)[0] is False


def test_message_condition_entries_count_for_scope_only() -> None:
    doc = message()
    doc["entry"].append(
        {
            "fullUrl": "urn:uuid:cond-1",
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "code": cc(ICD10CM, "F20.9"),  # also a psychosis code: still no condition event
                "encounter": {"reference": "urn:uuid:enc-1"},
                "subject": {"reference": "urn:uuid:pat-1"},
                "onsetDateTime": "2026-03-01T08:00:00Z",
            },
        }
    )
    assert scope(doc) == (True, "principal diagnosis F20.9")
    doc["entry"][-1]["resource"]["encounter"] = {"reference": "Encounter/other"}
    assert scope(doc)[0] is False


def test_message_focus_diagnosis_resolves_inside_the_message() -> None:
    enc = {
        **encounter(),
        "subject": {"reference": "urn:uuid:pat-1"},
        "diagnosis": [{"condition": {"reference": "urn:uuid:dx"}, "rank": 1}],
    }
    doc = message(enc=enc)
    dx = {"resourceType": "Condition", "id": "dx", "code": cc(ICD10CM, "F32.3")}
    doc["entry"].append({"fullUrl": "urn:uuid:dx", "resource": dx})
    assert scope(doc) == (True, "principal diagnosis F32.3")


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("serviceType", cc(SNOMED, "394587001"), f"behavioral-health service {SNOMED}|394587001"),
        ("type", [cc(NUBC_REVENUE, "0114")], f"behavioral-health service {NUBC_REVENUE}|0114"),
        ("type", [cc(NUBC_REVENUE, "0204")], f"behavioral-health service {NUBC_REVENUE}|0204"),
        ("serviceType", cc(HCPCS, "H0035"), "level of care H0035"),
        ("serviceType", cc(LOC, "inpatient"), "level of care inpatient"),
    ],
)
def test_service_and_level_codes_make_a_stay_bh(field: str, value: object, why: str) -> None:
    assert scope(encounter(**{field: value})) == (True, why)
    ed = one(encounter("EMER", **{field: value}))
    assert isinstance(ed, EdVisited) and ed.bh


@pytest.mark.parametrize("cls", ["IMP", "ACUTE", "NONAC"])
def test_the_inpatient_class_alone_is_not_bh(cls: str) -> None:
    bh, why = scope(encounter(cls, serviceType=cc(V3, cls)))
    assert not bh and why.startswith(OUT_OF_SCOPE_STAY)


def test_scope_all_takes_every_stay() -> None:
    rules = parse_rules({"scope": {"stays": "all"}})
    assert scope(encounter(), rules=rules) == (True, "scope.stays = all")
    assert scope(encounter("EMER"), rules=rules) == (True, "scope.stays = all")


def test_configured_diagnoses_and_services() -> None:
    rules = parse_rules({"scope": {"diagnoses": ["M17"], "services": [f"{SERVICE_CATEGORY}|22"]}})
    assert scope(diagnosed(encounter(), "M17.11"), rules=rules)[0] is True
    assert scope(diagnosed(encounter(), "F33.2"), rules=rules)[0] is False
    mental_health = encounter(type=[cc(SERVICE_CATEGORY, "22")])
    assert scope(mental_health, rules=rules) == (
        True,
        f"behavioral-health service {SERVICE_CATEGORY}|22",
    )
    assert scope(mental_health)[0] is (f"{SERVICE_CATEGORY}|22" in DEFAULT_RULES.scope.services)


def test_default_services_are_the_published_service_category_codes() -> None:
    services = DEFAULT_RULES.scope.services
    assert f"{SERVICE_CATEGORY}|22" in services and f"{SERVICE_CATEGORY}|12" in services
    assert f"{SERVICE_CATEGORY}|14" not in services  # Emergency Department
    assert f"{SERVICE_CATEGORY}|25" not in services  # Respite/Carer Support


def test_stays_of_every_kind_carry_their_scope() -> None:
    dx = diagnosed(encounter(status="in-progress"), "F33.2")
    admitted = one(dx)
    assert isinstance(admitted, PatientAdmitted) and admitted.bh
    discharged = one(diagnosed(encounter(), "M17.11"))
    assert isinstance(discharged, PatientDischarged) and not discharged.bh
    ed = one(diagnosed(encounter("OBSENC"), "T39.012A"))
    assert isinstance(ed, EdVisited) and ed.scope == "principal diagnosis T39.012A"


# -- sessions ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["fulfilled", "noshow"])
def test_appointment_scope(status: str) -> None:
    with_level = one(appointment(status))
    assert isinstance(with_level, SessionAttended | SessionMissed) and with_level.bh
    psych = one(appointment(status, serviceType=None, specialty=[cc(SNOMED, "394587001")]))
    assert isinstance(psych, SessionAttended | SessionMissed)
    assert psych.bh and psych.level is None
    plain = one(appointment(status, serviceType=None))
    assert isinstance(plain, SessionAttended | SessionMissed) and not plain.bh
    text_only = one(appointment(status, serviceType=[{"text": "check-in"}]))
    assert isinstance(text_only, SessionAttended | SessionMissed) and not text_only.bh


@pytest.mark.parametrize(
    "codes",
    [
        {"serviceType": [cc(SNOMED, "394582007")]},  # dermatology
        {"serviceCategory": [cc(SERVICE_CATEGORY, "10")], "serviceType": None},  # dental
        {"serviceType": [{"coding": [{"code": "DERM"}]}]},  # a code without a system
    ],
)
def test_appointment_with_only_other_service_codes_is_ignored(codes: Doc) -> None:
    reason = ignored(appointment(**codes))
    assert reason.startswith(f"Appointment/appt-1: {OUT_OF_SCOPE_SESSION} (")


def test_a_level_wins_over_other_codes() -> None:
    doc = appointment(serviceType=[cc(SNOMED, "394582007"), cc(LOC, "op")])
    event = one(doc)
    assert isinstance(event, SessionAttended) and event.bh and event.level is Level.OP


@pytest.mark.parametrize("cls", ["AMB", "VR"])
def test_ambulatory_and_telehealth_encounters_need_a_bh_code(cls: str) -> None:
    by_level = one(encounter(cls, serviceType=cc(LOC, "iop")))
    assert isinstance(by_level, SessionAttended) and by_level.level is Level.IOP and by_level.bh
    by_type = one(encounter(cls, type=[cc(LOC, "op")]))
    assert isinstance(by_type, SessionAttended) and by_type.level is Level.OP
    by_service = one(encounter(cls, type=[cc(SNOMED, "394587001")]))
    assert isinstance(by_service, SessionAttended) and by_service.level is None and by_service.bh
    reason = ignored(encounter(cls, serviceType=cc(SNOMED, "394582007")))
    assert reason.startswith(f"Encounter/enc-1: {OUT_OF_SCOPE_SESSION}")
