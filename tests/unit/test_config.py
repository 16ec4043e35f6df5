"""Rule configuration: defaults equal rules.md v2.2 (numbers and code lists), overrides
change behavior, bad files are refused with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.codes import CareTask, Status
from pipeline.config import (
    DEFAULT_RULES,
    NUBC_REVENUE,
    SERVICE_CATEGORY,
    SNOMED,
    RuleConfig,
    RulesFileError,
    load_rules,
    parse_rules,
)
from pipeline.events import Contra
from pipeline.scope import OUT_OF_SCOPE_STAY, bh_service, contra_kind, stay_scope
from tests.unit.core_kit import Journey, rules

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_the_rules_md_numbers() -> None:
    r = DEFAULT_RULES
    assert r == RuleConfig()
    tr = r.transition
    assert (tr.lookback_days, tr.php_phq9_min, tr.iop_phq9_min, tr.readmit_days) == (30, 20, 10, 30)
    assert (tr.op_worse_phq9_min, tr.op_worse_gad7_min, tr.iop_worse_phq9_min) == (15, 15, 20)
    assert (tr.better_phq9_below, tr.better_min_days_apart) == (10, 7)
    sc = r.screening
    assert (sc.si_item9_min, sc.sud_auditc_min, sc.sud_auditc_female_min, sc.sud_urgent_min) == (
        1,
        4,
        3,
        8,
    )
    assert (r.followup.window_days, r.followup.lost_days) == (7, 30)
    a = r.attendance
    assert (a.disengaged_no_shows, a.inactive_days, a.op_inactive_days, a.low_hours_weeks) == (
        3,
        14,
        90,
        2,
    )
    assert (a.iop_weekly_minutes, a.php_weekly_minutes, a.iop_max_weekly_minutes) == (
        540,
        1200,
        1140,
    )
    assert (a.iop_weekly_days, a.php_weekly_days, a.no_show_due_days) == (3, 4, 1)
    assert (r.recert.iop_days, r.recert.php_days, r.recert.php_every_days) == (60, 18, 30)
    assert r.recert.enabled
    d = r.dues
    assert (d.stat_hours, d.asap_days, d.urgent_days, d.routine_days) == (4, 1, 1, 7)
    rf = r.referral
    assert (rf.cooldown_days, rf.cooldown_phq9_rise, rf.expire_days) == (14, 5, 30)
    assert (rf.accept_hours_stat, rf.accept_hours_urgent, rf.accept_hours_routine) == (24, 72, 168)
    assert (r.contra.recent_days, r.history.retention_days) == (14, 400)
    assert (r.site.timezone, r.scope.stays, r.scope.bh_care_days) == ("UTC", "behavioral", 30)
    assert (r.identity.source_from_meta, r.identity.default_source) == (False, "")
    assert r.routing.escalation == "" and r.routing.programs == {}


def test_default_bh_services_are_the_rules_md_codes() -> None:
    """NUBC 0114/0124/0134/0144/0154/0204, HL7 service-category 22 (Mental Health) and 12
    (Drug/Alcohol), SNOMED CT 394587001 (Psychiatry)."""
    nubc = {f"{NUBC_REVENUE}|{c}" for c in ("0114", "0124", "0134", "0144", "0154", "0204")}
    assert set(DEFAULT_RULES.scope.services) == nubc | {
        f"{SERVICE_CATEGORY}|22",
        f"{SERVICE_CATEGORY}|12",
        f"{SNOMED}|394587001",
    }


@pytest.mark.parametrize(
    ("code", "bh"),
    [
        ("F33.2", True),
        ("F10.20", True),
        ("F99", True),
        ("F17.210", False),  # nicotine
        ("F05", False),  # delirium (organic)
        ("F01.50", False),
        ("R45.851", True),  # suicidal ideation
        ("R45.88", True),  # non-suicidal self-harm
        ("T14.91XA", True),  # suicide attempt
        ("X78.0XXA", True),  # intentional self-harm
        ("X84", False),
        ("T39.1X2A", True),  # intentional self-poisoning: 6th character 2
        ("T39.1X1A", False),  # accidental
        ("T51.0X2A", True),
        # the rules' "6th character is 2" leaves out codes whose intent is the 5th (T65.92-)
        ("T65.92XA", False),
        ("T66.XXXA", False),
        ("T71.112A", True),  # intentional asphyxiation
        ("T71.111A", False),
        ("M17.11", False),
        ("S93.401A", False),
        ("f33.2", True),  # compared without dots, upper-cased
    ],
)
def test_default_scope_diagnoses(code: str, bh: bool) -> None:
    in_scope, reason = stay_scope(DEFAULT_RULES, code, [], None)
    assert in_scope is bh
    assert reason.startswith("principal diagnosis" if bh else OUT_OF_SCOPE_STAY)


def test_stay_scope_by_service_level_or_setting() -> None:
    psych = [(SNOMED, "394587001")]
    assert stay_scope(DEFAULT_RULES, "M17.11", psych, None)[0]
    assert stay_scope(DEFAULT_RULES, None, [], "php")[0]
    assert not stay_scope(DEFAULT_RULES, None, [("http://x", "IMP")], None)[0]
    assert bh_service(DEFAULT_RULES, [("http://x", "1"), (SERVICE_CATEGORY, "22")]) == (
        f"{SERVICE_CATEGORY}|22"
    )
    assert bh_service(DEFAULT_RULES, [(SERVICE_CATEGORY, "10")]) is None  # dental
    everything = rules(scope={"stays": "all"})
    assert stay_scope(everything, "M17.11", [], None) == (True, "scope.stays = all")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("F20.9", Contra.PSYCHOSIS),
        ("F29", Contra.PSYCHOSIS),
        ("F30.2", Contra.PSYCHOSIS),
        ("F31.2", Contra.PSYCHOSIS),
        ("F31.5", Contra.PSYCHOSIS),
        ("F32.3", Contra.PSYCHOSIS),
        ("F33.3", Contra.PSYCHOSIS),
        ("F31.1", None),
        ("F33.2", None),
        ("F10.230", Contra.WITHDRAWAL),
        ("F11.13", Contra.WITHDRAWAL),
        ("F19.939", Contra.WITHDRAWAL),
        ("F10.20", None),
        ("F12.23", None),
    ],
)
def test_default_contraindication_lists(code: str, kind: Contra | None) -> None:
    assert contra_kind(DEFAULT_RULES, code) is kind


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, "")) == DEFAULT_RULES


def test_partial_override_keeps_other_defaults(tmp_path: Path) -> None:
    cfg = load_rules(write(tmp_path, "[transition]\nphp_phq9_min = 18\n"))
    assert cfg.transition.php_phq9_min == 18
    assert cfg.transition.iop_phq9_min == 10
    assert cfg.attendance == DEFAULT_RULES.attendance


def test_v2_sections_from_a_file(tmp_path: Path) -> None:
    text = """
[site]
timezone = "America/New_York"
[scope]
stays = "all"
diagnoses = ["F20-F29", "!F21"]
[contra]
recent_days = 30
[referral]
cooldown_days = 7
[history]
retention_days = 365
[routing]
escalation = "Practitioner/on-call"
programs = { php = "Organization/php-north" }
"""
    cfg = load_rules(write(tmp_path, text))
    assert cfg.site.timezone == "America/New_York" and cfg.scope.stays == "all"
    assert cfg.scope.diagnoses == ("F20-F29", "!F21")
    assert (cfg.contra.recent_days, cfg.referral.cooldown_days) == (30, 7)
    assert cfg.history.retention_days == 365
    assert cfg.routing.programs == {"php": "Organization/php-north"}


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        DEFAULT_RULES.transition.lookback_days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[transition]\nphp_phq9_min = -1\n", "rules.toml: transition.php_phq9_min: must be ≥ 0"),
        ("[transition]\nfoo = 1\n", "rules.toml: transition.foo: unknown key"),
        ("bar = 1\n", "rules.toml: bar: unknown key"),
        ("[transition]\nlookback_days = 1.5\n", "transition.lookback_days: must be an integer"),
        ("[transition]\nlookback_days = true\n", "transition.lookback_days: must be an integer"),
        ('[dues]\nstat_hours = "4"\n', "dues.stat_hours: must be an integer"),
        ("transition = 3\n", "rules.toml: transition: must be a table"),
        ("[attendance]\ndisengaged_no_shows = 0\n", "attendance.disengaged_no_shows: must be ≥ 1"),
        ("[screening]\nsi_item9_min = 9\n", "screening.si_item9_min: must be ≤ 4"),
        (
            "[transition]\niop_phq9_min = 25\n",
            "transition.iop_phq9_min: must be ≤ transition.php_phq9_min",
        ),
        ("[transition\n", "rules.toml: invalid TOML"),
        ('[site]\ntimezone = "Mars/Base"\n', "site.timezone: 'Mars/Base' is not an IANA time zone"),
        ('[scope]\nstays = "some"\n', "scope.stays"),
        ('[scope]\ndiagnoses = ["F3*"]\n', "scope.diagnoses: 'F3*' is not an ICD-10-CM pattern"),
        ('[scope]\nservices = ["22"]\n', "scope.services: '22' must be 'system|code'"),
        ('[contra]\npsychosis = ["F2 0"]\n', "contra.psychosis"),
        ("[history]\nretention_days = 30\n", "history.retention_days: must be ≥ 31"),
        ('[routing]\nescalation = "on-call"\n', "routing.escalation: 'on-call' is not a FHIR"),
        ('[routing]\nprograms = { day = "Organization/x" }\n', "routing.programs.day"),
        ("[referral]\naccept_hours_stat = 0\n", "referral.accept_hours_stat: must be ≥ 1"),
    ],
)
def test_invalid_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RulesFileError) as err:
        load_rules(write(tmp_path, text))
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesFileError, match="cannot read"):
        load_rules(tmp_path / "nope.toml")


def test_parse_rules_from_data() -> None:
    assert parse_rules({"recert": {"iop_days": 30}}).recert.iop_days == 30
    with pytest.raises(RulesFileError, match=r"^rules: recert\.x: unknown key$"):
        parse_rules({"recert": {"x": 1}})


# -- overrides change behavior ----------------------------------------------------------
def test_override_changes_a_discharge_referral(tmp_path: Path) -> None:
    """PHQ-9 18 is IOP by default; with php_phq9_min = 18 the same discharge goes to PHP."""
    cfg = load_rules(write(tmp_path, "[transition]\nphp_phq9_min = 18\n"))
    for cfg_, level in ((DEFAULT_RULES, "iop"), (cfg, "php")):
        j = Journey(cfg=cfg_)
        j.assess("2026-03-05T10:00", "phq9", 18)
        j.discharge("2026-03-08T15:00")
        assert [r.level.value for r in j.referrals()] == [level]


def test_override_changes_deadlines(tmp_path: Path) -> None:
    cfg = load_rules(
        write(tmp_path, "[followup]\nwindow_days = 3\n[attendance]\ninactive_days = 5\n")
    )
    j = Journey(cfg=cfg)
    j.discharge("2026-03-08T15:00")
    assert j.task(CareTask.FOLLOWUP_7D).due.isoformat() == "2026-03-12T00:00:00+00:00"
    j.tick("2026-03-12")
    assert j.task(CareTask.FOLLOWUP_7D).status == Status.FAILED
    j.enroll("2026-03-13T00:00", "iop")
    j.tick("2026-03-18")
    assert j.task(CareTask.DISCHARGE_REVIEW).authored.isoformat() == "2026-03-18T00:00:00+00:00"


def test_override_changes_dues_and_thresholds(tmp_path: Path) -> None:
    cfg = load_rules(write(tmp_path, "[dues]\nstat_hours = 1\n[screening]\nsud_auditc_min = 3\n"))
    j = Journey(cfg=cfg)
    j.enroll("2026-03-01T00:00", "php")
    j.assess("2026-03-05T10:00", "cssrs", 3)
    j.assess("2026-03-05T10:00", "auditc", 3)
    assert j.task(CareTask.CRISIS).due.isoformat() == "2026-03-05T11:00:00+00:00"
    assert j.task(CareTask.SUD).status == Status.REQUESTED


def test_override_of_bh_care_days_and_contra_recent_days() -> None:
    cfg = rules(scope={"bh_care_days": 60}, contra={"recent_days": 30})
    j = Journey(cfg=cfg)
    j.ed_visit("2026-03-01T10:00")
    j.assess("2026-04-20T10:00", "cssrs", 2)  # 50 days after the ED visit
    assert j.task(CareTask.SAFETY_PLAN).open
    j = Journey(cfg=cfg)
    j.admit("2026-03-01T08:00")
    j.condition("2026-02-10T10:00", "psychosis")  # 26 days before the discharge
    j.discharge("2026-03-08T15:00")
    assert [r.level.value for r in j.referrals()] == ["php"]
