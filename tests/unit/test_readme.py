"""The README's rule table is the one the code generates."""

from __future__ import annotations

from pathlib import Path

from scripts.readme_rules import refreshed

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_table_is_current() -> None:
    text = README.read_text()
    assert refreshed(text) == text, "README rule table is stale: run `make readme`"
    assert "| T-DISCHARGE |" in text
