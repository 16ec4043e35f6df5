"""The worklist as text: a table for a terminal (descriptions wrapped to its width, or one
line a task with ``--wide``), CSV for spreadsheets, NDJSON for scripts. Nothing is cut:
descriptions are complete sentences (contract §5)."""

from __future__ import annotations

import csv
import io
import shutil
import textwrap
from dataclasses import asdict
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from agents.worklist import Row

#: Columns of ``--csv`` and keys of ``--json``, in order.
FIELDS = (
    "id", "due", "priority", "patient", "display", "task", "code", "target", "status",
    "business_status", "overdue", "owner", "rule", "authored", "description",
)  # fmt: skip
#: The narrowest description column; on a narrower terminal descriptions go below their row.
MIN_DESCRIPTION = 40
GAP = "  "
BELOW = "    "  # indent of a description printed below its row


def render(rows: list[Row], form: str = "table", width: int | None = None) -> str:
    """``rows`` as ``table`` (wrapped to ``width``, default the terminal's), ``wide``,
    ``csv`` or ``json``."""
    if form == "csv":
        return csv_text(rows)
    if form == "json":
        return "".join(orjson.dumps(record(r)).decode() + "\n" for r in rows)
    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns
    return table(rows, None if form == "wide" else width)


def record(r: Row) -> dict[str, object]:
    data: dict[str, object] = asdict(r)
    data["overdue"] = r.overdue
    return {k: data[k] for k in FIELDS}


def csv_text(rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in rows:
        rec = record(r)
        rec["overdue"] = "yes" if r.overdue else ""
        writer.writerow([rec[k] for k in FIELDS])
    return buf.getvalue()


def _cells(r: Row, with_owner: bool) -> list[str]:
    patient = f"{r.patient} ({r.display})" if r.display else r.patient
    status = f"{r.status}/{r.business_status}" if r.business_status else r.status
    cells = ["!" if r.overdue else "", r.due, r.priority, patient, r.task, status]
    return [*cells, r.owner] if with_owner else cells


def table(rows: list[Row], width: int | None) -> str:
    """Aligned columns, the description last; ``width=None``: one line a task (``--wide``),
    else descriptions wrapped in their column to fit ``width`` (below their row when the
    column would be narrower than ``MIN_DESCRIPTION``)."""
    with_owner = any(r.owner for r in rows)
    head = ["!", "DUE", "PRIORITY", "PATIENT", "TASK", "STATUS"] + (["OWNER"] if with_owner else [])
    body = [_cells(r, with_owner) for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    indent = sum(widths) + len(GAP) * len(widths)
    below = width is not None and width - indent < MIN_DESCRIPTION
    lines = [_line(head, widths) + ("" if below else "DESCRIPTION")]
    for cells, r in zip(body, rows, strict=True):
        if width is None:
            lines.append(_line(cells, widths) + r.description)
        elif below:
            lines.append(_line(cells, widths))
            room = max(width - len(BELOW), MIN_DESCRIPTION)
            lines.extend(BELOW + c for c in textwrap.wrap(r.description, room))
        else:
            chunks = textwrap.wrap(r.description, width - indent) or [""]
            lines.append(_line(cells, widths) + chunks[0])
            lines.extend(" " * indent + c for c in chunks[1:])
    overdue = sum(r.overdue for r in rows)
    lines.append(f"{len(rows)} task(s)" + (f", {overdue} overdue" if overdue else ""))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    return "".join(c.ljust(w) + GAP for c, w in zip(cells, widths, strict=True))
