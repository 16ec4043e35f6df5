"""``carepath tasks``: the case manager's open worklist from ``care.tasks``.

The latest version of each Task (by id, in topic order), open ones only unless ``--all``,
sorted by priority (stat, asap, urgent, routine) and then due time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterable
from typing import Any

import orjson

from agents import kafka_io
from agents.settings import Settings
from pipeline.outputs import TERMINAL

PRIORITY = {"stat": 0, "asap": 1, "urgent": 2, "routine": 3}
Json = dict[str, Any]


def latest(values: Iterable[bytes]) -> list[Json]:
    tasks: dict[str, Json] = {}
    for v in values:
        doc = orjson.loads(v)
        if doc.get("resourceType") == "Task":
            tasks[doc["id"]] = doc
    return list(tasks.values())


def worklist(
    tasks: list[Json], include_closed: bool = False, patient: str | None = None
) -> list[Json]:
    rows = [t for t in tasks if include_closed or t.get("status") not in TERMINAL]
    if patient:
        rows = [t for t in rows if t.get("for", {}).get("reference") == f"Patient/{patient}"]
    return sorted(rows, key=lambda t: (PRIORITY.get(t.get("priority", ""), 9), _due(t), t["id"]))


def _due(t: Json) -> str:
    return str(t.get("restriction", {}).get("period", {}).get("end", ""))


def _code(t: Json) -> str:
    coding = (t.get("code", {}).get("coding") or [{}])[0]
    return str(coding.get("code", ""))


def _rule(t: Json) -> str:
    return str(((t.get("reasonCode", {}).get("coding") or [{}])[0]).get("code", ""))


def table(rows: list[Json]) -> str:
    width = shutil.get_terminal_size((160, 20)).columns
    head = ("DUE", "PRIORITY", "PATIENT", "TASK", "STATUS", "RULE", "DESCRIPTION")
    lines = [head]
    for t in rows:
        patient = t.get("for", {}).get("reference", "").removeprefix("Patient/")
        lines.append(
            (
                _due(t),
                t.get("priority", ""),
                patient,
                _code(t),
                t.get("status", ""),
                _rule(t),
                t.get("description", ""),
            )
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(head) - 1)]
    out = []
    for r in lines:
        text = "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
        out.append(text[:width])
    out.append(f"{len(rows)} task(s)")
    return "\n".join(out)


def print_worklist(settings: Settings, args: argparse.Namespace) -> int:
    if args.file:
        with open(args.file, "rb") as f:
            values: list[bytes] = [ln for ln in f if ln.strip()]
    else:
        values = [r.value for r in kafka_io.read_topic(settings.bootstrap, settings.topic_tasks)]
    rows = worklist(latest(values), args.all, args.patient)
    if args.json:
        for t in rows:
            sys.stdout.buffer.write(orjson.dumps(t) + b"\n")
    else:
        print(table(rows))
    return 0
