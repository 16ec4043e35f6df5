"""Rule configuration: defaults equal rules.md, overrides change behavior, bad files are
refused with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.config import DEFAULT_RULES, RuleConfig, RulesFileError, load_rules, parse_rules
from tests.unit.core_kit import Journey


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_the_rules_md_numbers() -> None:
    r = DEFAULT_RULES
    assert r == RuleConfig()
    assert (r.transition.lookback_days, r.transition.php_phq9_min, r.transition.iop_phq9_min) == (
        30,
        20,
        10,
    )
    assert (r.transition.op_worse_phq9_min, r.transition.op_worse_gad7_min) == (15, 15)
    assert r.transition.iop_worse_phq9_min == 20
    assert (r.transition.better_phq9_below, r.transition.better_min_days_apart) == (10, 7)
    assert (r.screening.si_item9_min, r.screening.sud_auditc_min) == (1, 4)
    assert r.followup.window_days == 7
    a = r.attendance
    assert (a.disengaged_no_shows, a.inactive_days, a.low_hours_weeks) == (3, 14, 2)
    assert (a.iop_weekly_minutes, a.php_weekly_minutes, a.no_show_due_days) == (540, 1200, 1)
    assert (r.recert.iop_days, r.recert.php_days) == (60, 18)
    d = r.dues
    assert (d.stat_hours, d.asap_days, d.urgent_days, d.routine_days) == (4, 1, 1, 7)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, "")) == DEFAULT_RULES


def test_partial_override_keeps_other_defaults(tmp_path: Path) -> None:
    cfg = load_rules(write(tmp_path, "[transition]\nphp_phq9_min = 18\n"))
    assert cfg.transition.php_phq9_min == 18
    assert cfg.transition.iop_phq9_min == 10
    assert cfg.attendance == DEFAULT_RULES.attendance


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        DEFAULT_RULES.transition.lookback_days = 3


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


def test_override_changes_a_discharge_referral(tmp_path: Path) -> None:
    """PHQ-9 18 is IOP by default; with php_phq9_min = 18 the same discharge goes to PHP."""
    cfg = load_rules(write(tmp_path, "[transition]\nphp_phq9_min = 18\n"))
    for rules, level in ((DEFAULT_RULES, "iop"), (cfg, "php")):
        j = Journey(cfg=rules)
        j.assess("2026-03-05T10:00", "phq9", 18)
        j.discharge("2026-03-08T15:00")
        assert [r.level.value for r in j.referrals()] == [level]


def test_override_changes_deadlines(tmp_path: Path) -> None:
    cfg = load_rules(
        write(tmp_path, "[followup]\nwindow_days = 3\n[attendance]\ninactive_days = 5\n")
    )
    j = Journey(cfg=cfg)
    j.discharge("2026-03-08T15:00")
    assert j.task("follow-up-7d").due.isoformat() == "2026-03-12T00:00:00+00:00"
    j.tick("2026-03-12")
    assert j.task("follow-up-7d").status == "failed"
    j.enroll("2026-03-13T00:00", "iop")
    j.tick("2026-03-18")
    assert j.task("discharge-review").authored.isoformat() == "2026-03-18T00:00:00+00:00"


def test_override_changes_dues_and_thresholds(tmp_path: Path) -> None:
    cfg = load_rules(write(tmp_path, "[dues]\nstat_hours = 1\n[screening]\nsud_auditc_min = 3\n"))
    j = Journey(cfg=cfg)
    j.assess("2026-03-05T10:00", "cssrs", 3)
    j.assess("2026-03-05T10:00", "auditc", 3)
    assert j.task("crisis-evaluation").due.isoformat() == "2026-03-05T11:00:00+00:00"
    assert j.task("sud-assessment").status == "requested"
