"""The image's ``HEALTHCHECK`` (``python -m agents.healthcheck``): ``/healthz`` of the
service this container runs, exit 0 when it answers 2xx, 1 otherwise.

``docker run IMAGE`` runs the worker, whose ``/healthz`` is on ``CAREPATH_WEB_PORT``
(6066; ``off``: no endpoint, so the check fails); ``docker run IMAGE web`` runs the web
service, whose ``/healthz`` is on the port of ``CAREPATH_WEB_LISTEN`` (8080 by default).
Which one runs is read from the container's first process (``/proc/1/cmdline``: the
entrypoint ``carepath`` and its command). The ports come from the settings models, the one
place the environment is read; no Faust import (a check starts every 15 s)."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path


def runs_web(cmdline: Sequence[str]) -> bool:
    """Whether the process is ``carepath web`` (the interpreter may come first: a console
    script starts as ``python /usr/local/bin/carepath web``)."""
    for i, arg in enumerate(cmdline[:2]):
        if Path(arg).name == "carepath":
            command = [a for a in cmdline[i + 1 :] if not a.startswith("-")]
            return command[:1] == ["web"]
    return False


def target(cmdline: Sequence[str], worker_port: int | None, web_listen: str) -> str | None:
    """The ``/healthz`` address to ask (``None``: the worker's endpoints are off)."""
    if runs_web(cmdline):
        return f"http://127.0.0.1:{web_listen.rsplit(':', 1)[-1]}/healthz"
    return None if worker_port is None else f"http://127.0.0.1:{worker_port}/healthz"


def first_process() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def main() -> int:
    from agents.settings import Settings
    from agents.web.settings import WebSettings

    url = target(first_process(), Settings().web_port, WebSettings().listen)
    if url is None:
        print("CAREPATH_WEB_PORT is off: the worker serves no /healthz", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
