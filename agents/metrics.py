"""The worker's Prometheus metrics (issue 12, "observable"), served on ``/metrics`` by
:mod:`agents.ops_server`.

Every label is from a small fixed set, or a rule id, a topic and partition, or an ignored
reason's class (:func:`agents.reporting.reason_class`: ids and codes taken out, at most
:data:`MAX_REASONS` of them): never a patient id, an event id or a clinical value.

- ``carepath_documents_total{outcome}``: ``care.inbound`` documents by what the boundary made
  of them: ``accepted`` (at least one event), ``ignored`` (valid, nothing recognized),
  ``dead_letter`` (invalid, or the ingest agent failed on it: its dead letter);
- ``carepath_ignored_total{reason}``: ignored resources and events by reason class;
- ``carepath_dead_letters_total{stage, reason}``: dead-letter records by the stage that wrote
  them (``ingest``, ``transitions``, or ``documents`` for a record put together from a
  document's parts, ``agents.documents``: by its first part's reason) and reason
  (:data:`DEAD_LETTER_REASONS`);
- ``carepath_events_total{kind}``: events the transition agent applied, by kind (``tick``
  for a clock tick);
- ``carepath_outputs_total{resource, rule}``: Tasks and ServiceRequests sent (acknowledged
  by Kafka), by rule;
- ``carepath_processing_seconds{stage}``: the time a message takes in its agent, from the
  moment the agent takes it to the last acknowledgement of what it sent (retries included);
  the time it waited in Kafka is the consumer lag's part;
- ``carepath_consumer_lag{topic, partition}`` and ``carepath_consumer_next_offset``: per
  assigned partition of ``care.inbound``, ``care.events`` and ``<app id>-documents``, the
  partition's end offset (the consumer's high watermark) minus the next offset the worker
  will process;
- ``carepath_ready``: 1 when ``/readyz`` answers 200.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

OUTCOMES = ("accepted", "ignored", "dead_letter")
STAGES = ("ingest", "transitions", "documents")
#: The stage of a record the documents agent put together from a document's parts.
DOCUMENTS_STAGE = STAGES[2]
#: Why a record went to ``care.deadletter``: the boundary refused the document, the rules
#: refused an event, the state would be too large, the agent raised twice, or the worker
#: stopped twice on the message (``agents.policy``).
INVALID, REJECTED, TOO_LONG, INTERNAL, STOPPED = (
    "invalid",
    "rejected",
    "too-long",
    "internal-error",
    "stopped",
)
DEAD_LETTER_REASONS = (INVALID, REJECTED, TOO_LONG, INTERNAL, STOPPED)
#: Distinct ignored-reason labels kept; any further reason class counts as ``other``.
MAX_REASONS = 64
OTHER = "other"
#: Seconds: a message takes well under a millisecond; a slow broker makes it seconds.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass(frozen=True, slots=True)
class Position:
    """An assigned partition: its end offset and the next offset the worker will process
    (``None``: not known yet)."""

    topic: str
    partition: int
    end: int | None
    next: int | None


class WorkerMetrics:
    """The counters the pipeline records into, in a registry of their own (tests build
    many). Children of fixed label sets are made once: the hot path only increments."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        documents = Counter(
            "carepath_documents", "care.inbound documents by outcome", ["outcome"], registry=r
        )
        self._documents = {o: documents.labels(o) for o in OUTCOMES}
        self._ignored = Counter(
            "carepath_ignored",
            "ignored resources and events by reason class (no ids, no codes)",
            ["reason"],
            registry=r,
        )
        self._reasons: set[str] = set()
        letters = Counter(
            "carepath_dead_letters",
            "dead-letter records by stage and reason",
            ["stage", "reason"],
            registry=r,
        )
        self._letters = {
            (s, why): letters.labels(s, why) for s in STAGES for why in DEAD_LETTER_REASONS
        }
        self._events = Counter(
            "carepath_events",
            "events applied by the transition agent, by kind",
            ["kind"],
            registry=r,
        )
        self._outputs = Counter(
            "carepath_outputs",
            "Tasks and ServiceRequests sent, by rule",
            ["resource", "rule"],
            registry=r,
        )
        seconds = Histogram(
            "carepath_processing_seconds",
            "time a message takes in its agent (retries and Kafka acknowledgements included)",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self._seconds = [seconds.labels(s) for s in STAGES]  # by agents.poison slot
        #: (topic, partition) -> the offset after the last message processed there
        self.next_offsets: dict[tuple[str, int], int] = {}
        #: the assigned partitions, refreshed before each scrape (``agents.ops_server``)
        self.positions: list[Position] = []
        self.ready: Callable[[], bool] = lambda: False
        r.register(_Consumer(self))

    def document(self, outcome: str) -> None:
        self._documents[outcome].inc()

    def ignored(self, reason_class: str) -> None:
        reasons = self._reasons
        if reason_class not in reasons:
            if len(reasons) >= MAX_REASONS:
                reason_class = OTHER
            else:
                reasons.add(reason_class)
        self._ignored.labels(reason_class).inc()

    def dead_letter(self, stage: str, reason: str) -> None:
        self._letters[stage, reason].inc()

    def event(self, kind: str) -> None:
        self._events.labels(kind).inc()

    def output(self, resource: str, rule: str) -> None:
        self._outputs.labels(resource, rule).inc()

    def processed(self, slot: int, topic: str, partition: int, offset: int, seconds: float) -> None:
        """A message of the agent in ``slot`` (``agents.poison.INGEST``/``TRANSITIONS``/
        ``DOCUMENTS``) is
        done: its processing time, and the partition's next offset."""
        self._seconds[slot].observe(seconds)
        self.next_offsets[topic, partition] = offset + 1

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions revoked: their next offsets are another worker's now."""
        for tp in partitions:
            self.next_offsets.pop(tp, None)


class _Consumer(Collector):
    """Lag, next offsets and readiness, read when ``/metrics`` is scraped."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "carepath_consumer_lag",
            "end offset minus the next offset the worker will process",
            labels=["topic", "partition"],
        )
        at = GaugeMetricFamily(
            "carepath_consumer_next_offset",
            "the next offset the worker will process",
            labels=["topic", "partition"],
        )
        for p in self.metrics.positions:
            labels = [p.topic, str(p.partition)]
            if p.next is not None:
                at.add_metric(labels, p.next)
                if p.end is not None:
                    lag.add_metric(labels, max(0, p.end - p.next))
        yield lag
        yield at
        ready = GaugeMetricFamily("carepath_ready", "1 when /readyz answers 200")
        ready.add_metric([], 1 if self.metrics.ready() else 0)
        yield ready
