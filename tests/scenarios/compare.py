"""Final-state comparison of replay output with a scenario's expected.json, for tests that
hold ``carepath replay`` output as NDJSON lines (the Kafka scenario tests).

The semantics live in the plugin package (``agents.testing.compare`` and
``agents.testing.scenarios``, the same harness integrators get); this module adapts them to
output lines.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import orjson

from agents.testing import compare as _compare
from agents.testing import scenarios as _scenarios
from agents.testing.compare import Json, match, patient, summarize, task_code

__all__ = [
    "DATA",
    "Json",
    "final_states",
    "match",
    "patient",
    "problems",
    "scenario_names",
    "summarize",
    "task_code",
]

DATA = Path(__file__).parent / "data"


def final_states(lines: list[bytes]) -> OrderedDict[tuple[str, str], Json]:
    return _compare.final_states(orjson.loads(ln) for ln in lines if ln.strip())


def problems(expected: Json, out_lines: list[bytes], n_dead: int) -> list[str]:
    tasks, referrals = summarize(final_states(out_lines))
    summary = {"tasks": tasks, "referrals": referrals, "dead_letters": n_dead}
    return _scenarios.problems(expected, summary)


def scenario_names(directory: Path = DATA) -> list[str]:
    return _scenarios.scenario_names(directory)
