"""Refresh the rule table in README.md from the code (``make readme``)."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

from agents.cli import main

BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def table() -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["rules"])
    return buf.getvalue()


def refreshed(text: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{BEGIN}\n{table()}{END}", text)


if __name__ == "__main__":
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    readme.write_text(refreshed(readme.read_text()))
