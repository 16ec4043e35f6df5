"""The rule tables of the README and docs/rules.md are the ones the code generates."""

from __future__ import annotations

from pathlib import Path

from scripts.readme_rules import refreshed

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_rule_table_is_current() -> None:
    text = README.read_text()
    assert refreshed(text) == text, "README rule table is stale: run `make readme`"
    assert "| T-DISCHARGE |" in text


def test_docs_rule_table_is_current() -> None:
    doc = ROOT / "docs" / "rules.md"
    text = doc.read_text()
    assert refreshed(text) == text, "docs/rules.md rule table is stale: run `make readme`"
    assert "| C-FOLLOWUP-LOST |" in text
