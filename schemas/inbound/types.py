"""Result types of the inbound boundary (re-exported by :mod:`schemas.ingest`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.events import Event


@dataclass(frozen=True, slots=True)
class Limits:
    """Document limits of contract §6: size in bytes, JSON nesting depth."""

    max_bytes: int = 1_048_576
    max_depth: int = 64


class Cut(bytes):
    """The first bytes of a document its reader did not hold whole because it is over the
    size limit (``carepath replay`` reads lines in chunks); ``size`` is the whole length.
    Ingest refuses it by that length; a dead letter keeps the bytes, cut at the limit."""

    size: int

    @classmethod
    def of(cls, head: bytes, size: int) -> Cut:
        cut = cls(head)
        cut.size = size
        return cut


@dataclass(frozen=True, slots=True)
class InvalidInput:
    """One problem → one dead-letter record (contract §6)."""

    #: what is wrong and where, e.g. ``Observation.valueInteger: 31 is outside 0–27 for
    #: PHQ-9 total``
    diagnostics: str
    #: FHIRPath-like location (``Bundle.entry[2].resource.subject``); ``None`` for
    #: document-level problems (not UTF-8, not JSON, too big…)
    expression: str | None
    #: the original document as it came (a Bundle entry's problem too: its dead letter
    #: carries the document, never a re-serialized entry)
    raw: bytes
    #: FHIR issue-type code for the OperationOutcome: ``structure`` (unparseable or wrong
    #: JSON type), ``required``, ``value``, ``too-long``, ``too-costly``, ``exception``
    code: str = "invalid"


@dataclass(frozen=True, slots=True)
class IgnoredResource:
    """A valid resource that is none of the recognized kinds, with why (contract §3, §9).

    ``reason`` is one short phrase naming the resource, the field and why, e.g.
    ``Observation.code: SNOMED 720433000 is not a recognized instrument (LOINC only)`` or
    ``Encounter/e1: out of scope: not a behavioral-health stay (…)``. It never quotes
    clinical values beyond codes (it is logged at debug and written to ``--ignored``).
    """

    resource_type: str
    id: str | None
    reason: str


#: Problems of one document kept in detail (its dead letter lists at most this many); the
#: rest are counted: a 200 KB Bundle of 100,000 bad entries costs 100 records' worth.
MAX_LISTED = 100


@dataclass(slots=True)
class Ingested:
    """What one inbound document yields."""

    #: normalized events in document order (a group Appointment with N patients → N)
    events: list[Event] = field(default_factory=list)
    #: resources that are valid FHIR but none of the recognized kinds (contract §3)
    ignored: list[IgnoredResource] = field(default_factory=list)
    #: its problems, the first :data:`MAX_LISTED` (all go into the document's one dead
    #: letter)
    errors: list[InvalidInput] = field(default_factory=list)
    #: problems found beyond those (counted only)
    unlisted: int = 0

    def error(self, err: InvalidInput) -> None:
        """Record a problem (kept while fewer than :data:`MAX_LISTED` are, else counted)."""
        if len(self.errors) < MAX_LISTED:
            self.errors.append(err)
        else:
            self.unlisted += 1
