"""The project's scenario corpora and ``carepath replay`` run as a command, for the tests
that need files (the Kafka scenario tests, the hostile corpus).

The scenario format itself (rules file, ``source``, case-manager update lines) is the
plugin's (``agents.testing.scenarios``, ``agents.testing.inputs``): one harness for the
project and for integrators. Update lines are always resolved by embedded replay: ids are
the same in both modes, and a broker replay of the prefix would move the worker's patient
clocks before the real run.
"""

from __future__ import annotations

from pathlib import Path

from agents.cli import main
from agents.testing.inputs import UPDATE, UPDATE_KEYS, pick_task, update_spec, updated_task
from agents.testing.scenarios import Scenario, resolve_updates, scenarios
from tests.scenarios.compare import DATA

__all__ = [
    "CASES",
    "OWN",
    "UPDATE",
    "UPDATE_KEYS",
    "Scenario",
    "pick_task",
    "resolve_updates",
    "run_replay",
    "scenarios",
    "update_spec",
    "updated_task",
]

OWN = Path(__file__).parent / "own"
CASES = scenarios(DATA) + scenarios(OWN)


def run_replay(
    src: Path, until: str | None, tmp: Path, tag: str, extra: list[str] | None = None
) -> tuple[bytes, int]:
    """``carepath replay`` (embedded, the command's own code path): (output bytes, number of
    dead letters)."""
    out, dlq = tmp / f"{tag}.out", tmp / f"{tag}.dlq"
    argv = ["replay", str(src), "--out", str(out), "--dead-letter", str(dlq)]
    if until:
        argv += ["--until", until]
    assert main(argv + (extra or [])) == 0, f"replay of {src.name} failed"
    n_dead = sum(1 for ln in dlq.read_bytes().splitlines() if ln.strip()) if dlq.exists() else 0
    return out.read_bytes(), n_dead
