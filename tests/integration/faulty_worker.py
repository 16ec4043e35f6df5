"""``carepath worker`` with faults injected, for live tests of the error policy (test code,
never installed; ``python -m tests.integration.faulty_worker``):

- ``CAREPATH_TEST_CRASH_PATIENT``: the process dies at once (``os._exit``, as a kill for
  memory or a fault in native code would; no exception, nothing committed) whenever the
  transition agent decides an event of that patient;
- ``CAREPATH_TEST_MAX_REQUEST``: the producer's request limit in bytes, so a patient's
  state outgrows what the changelog takes with a few hundred events instead of years.
"""

from __future__ import annotations

import os
import sys
from typing import Any

CRASH_EXIT = 70


def _inject() -> None:
    import agents.app as app

    crash = os.environ.get("CAREPATH_TEST_CRASH_PATIENT")
    if crash:
        decide = app.decide

        def crashing(state: Any, event: Any, rules: Any) -> Any:
            if getattr(event, "patient", None) == crash:
                os._exit(CRASH_EXIT)
            return decide(state, event, rules)

        app.decide = crashing  # type: ignore[assignment]
    limit = os.environ.get("CAREPATH_TEST_MAX_REQUEST")
    if limit:
        settings = app.faust_settings

        def limited(s: Any) -> dict[str, Any]:
            return {**settings(s), "producer_max_request_size": int(limit)}

        app.faust_settings = limited  # type: ignore[assignment]


def main() -> int:
    _inject()
    from agents.cli import main as cli

    return cli(["worker"])


if __name__ == "__main__":
    sys.exit(main())
