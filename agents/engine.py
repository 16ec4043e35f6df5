"""The in-process pipeline: the same ingest and transition code the Kafka agents run.

Used by ``carepath replay`` (embedded mode) and the benchmarks; the Faust agents call the
same ``ingest`` and ``decide``/``advance`` functions one message at a time.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from agents.reporting import Ignored, from_ref, reason_class, top_reasons
from pipeline.config import RuleConfig
from pipeline.decide import Step, advance, decide
from pipeline.events import KIND
from pipeline.outputs import Output, Rejected
from pipeline.state import PatientState
from schemas.ingest import Ingested, InvalidInput, Limits, ingest

log = logging.getLogger("carepath.replay")


@dataclass(slots=True)
class Stats:
    """What a replay saw. Documents fall in exactly one class: ``dead_lettered`` (at least
    one dead letter), else ``recognized`` (at least one event, contract §3), else
    ``ignored_documents`` (valid FHIR, nothing recognized). ``ignored`` counts resources
    (a Bundle's entries one by one), ``ignored_events`` the events the rules pass over (an
    update of a Task the pipeline never emitted, anything after a death); ``reasons``
    counts both by :func:`~agents.reporting.reason_class`. ``dead_letters`` counts records:
    one per dead-lettered document, listing all its problems (``problems``)."""

    documents: int = 0
    recognized: int = 0
    ignored_documents: int = 0
    dead_lettered: int = 0
    events: Counter[str] = field(default_factory=Counter)
    ignored: int = 0
    ignored_events: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    dead_letters: int = 0
    problems: int = 0
    outputs: int = 0
    #: patients a tick could not advance (an internal error; they keep their state)
    tick_failures: int = 0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.events.items())) or "none"
        return (
            f"{self.documents} documents: {self.recognized} recognized, "
            f"{self.ignored_documents} ignored, {self.dead_lettered} dead-lettered; "
            f"events: {kinds}; ignored resources {self.ignored}, events {self.ignored_events}; "
            f"duplicates {self.duplicates}; dead letters {self.dead_letters}; "
            f"outputs {self.outputs}; ignored by reason: {top_reasons(self.reasons)}"
        )


@dataclass(slots=True)
class Result:
    """What one inbound document produced. Its problems (the boundary's, then the core's
    refusals of its events) make one dead-letter record: ``agents.replay.dead_letter``."""

    outputs: list[Output] = field(default_factory=list)
    errors: list[InvalidInput | Rejected] = field(default_factory=list)
    #: ignored resources (boundary) and events (rules), with their reasons
    ignored: list[Ignored] = field(default_factory=list)
    #: problems the boundary counted without keeping them (``Ingested.unlisted``)
    unlisted: int = 0


def _internal(event_id: str, error: Exception) -> Rejected:
    """An event ``decide`` raised on: a dead letter of its document (the type only: an
    exception's message may quote clinical values)."""
    return Rejected(event_id, f"internal error while applying an event: {type(error).__name__}", "")


#: ``freeze_every`` for batch replays (``carepath replay``, ``carepath bench``).
REPLAY_FREEZE_EVERY = 50_000


class Engine:
    """Patient states in a dict, fed one raw document at a time.

    ``freeze_every``: call ``gc.freeze()`` every that many documents (0: never). The
    states are long-lived and acyclic, yet every full collection of the cyclic GC walks
    all of them: at 60,000 patients the GC took 31% of a replay's CPU (``carepath bench``,
    gc callbacks). Frozen objects are skipped by the collector; reference counting still
    frees a state when ``decide`` replaces it. It is process-wide, so only batch entry
    points turn it on.
    """

    def __init__(
        self,
        rules: RuleConfig,
        limits: Limits,
        base: str,
        *,
        freeze_every: int = 0,
        source: str | None = None,
        reference: datetime | None = None,
    ) -> None:
        self.rules = rules
        self.limits = limits
        self.base = base
        self.freeze_every = freeze_every
        self.source = source  # the channel source of every document (contract §2)
        self.reference = reference
        self.states: dict[str, PatientState] = {}
        self.stats = Stats()

    def feed(self, raw: bytes) -> Result:
        """Ingest one document and apply its events. One flat loop with local names: this
        is the replay hot path (``carepath bench`` measures it)."""
        stats = self.stats
        stats.documents += 1
        if self.freeze_every and stats.documents % self.freeze_every == 0:
            gc.freeze()
        rules = self.rules
        ing: Ingested = ingest(
            raw, self.limits, self.base, rules=rules, source=self.source, reference=self.reference
        )
        result = Result(errors=list(ing.errors), unlisted=ing.unlisted) if ing.errors else Result()
        outputs, errors, skipped = result.outputs, result.errors, result.ignored
        states, kinds = self.states, stats.events
        duplicates = 0
        for item in ing.ignored:
            skipped.append(Ignored(item.resource_type, item.id, item.reason))
        for event in ing.events:
            key = event.patient
            try:
                step: Step = decide(states.get(key), event, rules)
            except Exception as e:  # a bug must not stop the replay (DESIGN.md convention 8)
                errors.append(_internal(event.event_id, e))
                continue
            states[key] = step.state
            kinds[KIND[type(event)]] += 1
            duplicates += step.duplicate
            if step.ignored:
                stats.ignored_events += 1
                skipped.append(from_ref(event.ref, step.reason))
            if step.outputs:
                outputs.extend(step.outputs)
            if step.rejected is not None:
                errors.append(step.rejected)
        if skipped:
            stats.ignored += len(ing.ignored)
            stats.reasons.update(reason_class(i.reason) for i in skipped)
        stats.duplicates += duplicates
        stats.outputs += len(outputs)
        if errors:
            stats.dead_letters += 1
            stats.problems += len(errors) + result.unlisted
            stats.dead_lettered += 1
        elif ing.events:
            stats.recognized += 1
        else:
            stats.ignored_documents += 1
        return result

    def tick(self, now: datetime, patients: Iterable[str] | None = None) -> list[Output]:
        """Move every patient's clock (or the given ones') to ``now``, in key order."""
        outputs: list[Output] = []
        for key in sorted(self.states if patients is None else patients):
            try:
                step = advance(self.states[key], now, self.rules)
            except Exception as e:  # one patient's bug must not stop the others' tick
                self.stats.tick_failures += 1
                log.error("unexpected %s while advancing a patient's clock", type(e).__name__)
                continue
            self.states[key] = step.state
            outputs.extend(step.outputs)
        self.stats.outputs += len(outputs)
        return outputs
