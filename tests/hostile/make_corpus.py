"""Deterministic generator of the hostile input corpus (contract §6).

``python -m tests.hostile.make_corpus DIR`` writes, for each group, ``DIR/<group>.ndjson``
(one document per line) and ``DIR/<group>.expected.json`` (one entry per line: ``null``
for a valid line, else ``{"case", "expression", "problem"}``: the FHIRPath-like location
the dead letter must name, ``null`` for a document-level problem, and a phrase its
diagnostics must contain). The tests generate into a temporary directory (a session
fixture): the files hold documents over the 1 MiB limit, so they are not committed.

Groups:

- ``fields``: every field the pipeline reads, in every template that reads it, replaced
  by values of the wrong JSON type or an unusable format (:data:`FIELDS`);
- ``values``: scores out of range per instrument and value form, impossible and zoneless
  timestamps in every time field, missing and non-Patient subjects, unusable messages;
- ``bytes``: truncated documents, non-UTF-8 bytes, nesting past the depth limit,
  documents over the size limit, and large ones just under it that are invalid;
- ``tasks``: valid events that make the pipeline emit Tasks (their ids computed by
  running the engine), then status updates the Task state machine forbids, interleaved
  with legal ones;
- ``limits`` (issue 11): sentinel and far-future dates in every time field, duplicate
  JSON keys, a Bundle of 100,000 bad entries (one record), a valid 1 MiB document.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from tests.hostile.cases_bytes import byte_cases
from tests.hostile.cases_fields import field_cases
from tests.hostile.cases_limits import limit_cases
from tests.hostile.cases_tasks import task_cases
from tests.hostile.cases_values import value_cases

#: (raw line, expectation or None for a valid line)
Line = tuple[bytes, dict[str, Any] | None]
GROUPS = {
    "fields": field_cases,
    "values": value_cases,
    "bytes": byte_cases,
    "tasks": task_cases,
    "limits": limit_cases,
}


def write(directory: Path) -> dict[str, int]:
    """Write every group into ``directory``; the number of invalid lines per group."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for group, make in GROUPS.items():
        lines: list[Line] = make()
        names = [e["case"] for _, e in lines if e]
        assert len(names) == len(set(names)), f"duplicate case names in {group}"
        for raw, _ in lines:
            assert b"\n" not in raw and raw.strip(), "one non-blank NDJSON line per case"
        (directory / f"{group}.ndjson").write_bytes(b"".join(r + b"\n" for r, _ in lines))
        expected = [e for _, e in lines]
        (directory / f"{group}.expected.json").write_bytes(
            orjson.dumps(expected, option=orjson.OPT_INDENT_2)
        )
        counts[group] = len(names)
    return counts


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    print(write(target))
