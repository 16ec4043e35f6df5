"""The image's ``HEALTHCHECK`` (``python -m agents.healthcheck``): ``/healthz`` of the
service this container runs, exit 0 when it answers 2xx, 1 otherwise.

``docker run IMAGE`` runs the worker, whose ``/healthz`` is on ``CAREPATH_WEB_PORT``
(6066); ``docker run IMAGE web`` runs the web service, whose ``/healthz`` is on the port of
``CAREPATH_WEB_LISTEN`` (8080 by default). Which one runs is read from the container's
first process (``/proc/1/cmdline``: the entrypoint ``carepath`` and its command). Only the
standard library and the environment: a check starts every 15 s and must stay cheap (no
settings model, no Faust import)."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

WORKER_PORT = "6066"
WEB_LISTEN = "127.0.0.1:8080"


def runs_web(cmdline: Sequence[str]) -> bool:
    """Whether the process is ``carepath web`` (the interpreter may come first: a console
    script starts as ``python /usr/local/bin/carepath web``)."""
    for i, arg in enumerate(cmdline[:2]):
        if Path(arg).name == "carepath":
            command = [a for a in cmdline[i + 1 :] if not a.startswith("-")]
            return command[:1] == ["web"]
    return False


def target(cmdline: Sequence[str], env: Mapping[str, str]) -> str:
    """The ``/healthz`` address to ask."""
    if runs_web(cmdline):
        listen = env.get("CAREPATH_WEB_LISTEN") or WEB_LISTEN
        port = listen.rsplit(":", 1)[-1]
    else:
        port = env.get("CAREPATH_WEB_PORT") or WORKER_PORT
    return f"http://127.0.0.1:{port}/healthz"


def first_process() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def main() -> int:
    url = target(first_process(), os.environ)
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
