"""carepath in an integrator's test suite: replay FHIR documents in-process and assert on
the Tasks, ServiceRequests, dead letters and ignored input they produce.

The pytest plugin (:mod:`agents.testing.plugin`, loaded by the ``pytest11`` entry point
``carepath``) gives these to tests as fixtures; they work without pytest as well::

    from agents.testing import replay
    result = replay([discharge, phq9], until="2026-05-01T00:00:00Z")
    assert result.tasks(patient="p1", code="follow-up-7d", status="requested")

Names are imported on first use, so loading the plugin costs pytest nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.testing.inputs import task_update
    from agents.testing.result import DeadLetter, IgnoredItem, ReplayResult
    from agents.testing.run import replay
    from agents.testing.scenarios import Scenario, check_scenario, scenarios

__all__ = [
    "DeadLetter",
    "IgnoredItem",
    "ReplayResult",
    "Scenario",
    "check_scenario",
    "replay",
    "scenarios",
    "task_update",
]

_WHERE = {
    "task_update": "agents.testing.inputs",
    "DeadLetter": "agents.testing.result",
    "IgnoredItem": "agents.testing.result",
    "ReplayResult": "agents.testing.result",
    "replay": "agents.testing.run",
    "Scenario": "agents.testing.scenarios",
    "check_scenario": "agents.testing.scenarios",
    "scenarios": "agents.testing.scenarios",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agents.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
