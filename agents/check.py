"""``carepath check FILE.ndjson ...``: what carepath makes of each document of a feed, before
any rule runs: what an interface analyst runs before sending a file.

Every document is read by the same boundary code as ``replay`` and the worker
(``schemas.ingest``) and gets one verdict (as ``replay``'s summary counts them):

- ``invalid``: at least one problem that would be a dead letter (contract §6), with its
  diagnostics and where;
- ``recognized``: at least one event (contract §3): its kind, the patient key it is filed
  under, the resource it came from and, for a stay, its scope decision;
- ``ignored``: valid FHIR with nothing recognized, each resource with its reason.

The rules do not run, so what only the patient's history can tell (a duplicate, a Task
update for a Task never emitted, a death of a patient never seen) is not judged here; the
rules file still sets what the boundary reads (site time zone, identity, scope lists).
Nothing of a document's content is printed beyond ids, codes and reasons. Exit status 1
when any document is invalid, else 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from agents.replay import read_lines
from agents.reporting import reason_class, top_reasons
from pipeline.config import RuleConfig
from pipeline.events import KIND, CareEvent, Scoped
from schemas.ingest import Ingested, Limits, ingest


@dataclass(slots=True)
class Tally:
    documents: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    problems: int = 0

    def summary(self) -> str:
        v = self.verdicts
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.events.items())) or "none"
        return (
            f"{self.documents} document{'' if self.documents == 1 else 's'}: "
            f"{v['recognized']} recognized, {v['ignored']} ignored, "
            f"{v['invalid']} invalid ({self.problems} problems); events: {kinds}; "
            f"ignored by reason: {top_reasons(self.reasons)}"
        )


def verdict(ing: Ingested) -> str:
    if ing.errors:
        return "invalid"
    return "recognized" if ing.events else "ignored"


def event_text(ev: CareEvent) -> str:
    text = f"{KIND[type(ev)]}, patient key {ev.patient}"
    if ev.ref:
        text += f", from {ev.ref}"
    if isinstance(ev, Scoped):
        text += f" ({ev.scope})" if ev.bh else f" ({ev.scope}; the rules pass it over)"
    return text


def details(ing: Ingested) -> list[tuple[str, str]]:
    """(verdict, text) per problem, event and ignored resource, in that order."""
    lines = []
    for err in ing.errors:
        where = f" [{err.expression}]" if err.expression else ""
        lines.append(("invalid", f"{err.diagnostics}{where}"))
    lines += [("recognized", event_text(ev)) for ev in ing.events]
    for item in ing.ignored:
        name = "/".join(p for p in (item.resource_type, item.id) if p) or "resource"
        reason = item.reason if item.reason.startswith(name) else f"{name}: {item.reason}"
        lines.append(("ignored", reason))
    return lines


def as_json(where: dict[str, Any], ing: Ingested) -> bytes:
    doc = {
        "source": where,
        "verdict": verdict(ing),
        "invalid": [
            {"diagnostics": e.diagnostics, "expression": e.expression, "code": e.code}
            for e in ing.errors
        ],
        "events": [
            {"kind": KIND[type(ev)], "patient": ev.patient, "ref": ev.ref} for ev in ing.events
        ],
        "ignored": [
            {"resourceType": i.resource_type, "id": i.id, "reason": i.reason} for i in ing.ignored
        ],
    }
    return orjson.dumps(doc) + b"\n"


def check(
    paths: list[str],
    rules: RuleConfig,
    limits: Limits,
    base: str,
    out: IO[str],
    *,
    source: str | None = None,
    json_lines: bool = False,
) -> Tally:
    """Print a verdict per document of ``paths`` to ``out``; return the counts."""
    tally = Tally()
    for path, n, raw in read_lines(paths):
        ing = ingest(raw, limits, base, rules=rules, source=source)
        tally.documents += 1
        tally.verdicts[verdict(ing)] += 1
        tally.problems += len(ing.errors)
        tally.events.update(KIND[type(ev)] for ev in ing.events)
        tally.reasons.update(reason_class(i.reason) for i in ing.ignored)
        if json_lines:
            out.write(as_json({"file": path, "line": n}, ing).decode())
            continue
        (_, first), *rest = details(ing) or [("", "nothing in it")]
        out.write(f"{path}:{n}: {verdict(ing)}: {first}\n")
        out.writelines(f"    {tag}: {text}\n" for tag, text in rest)
    return tally
