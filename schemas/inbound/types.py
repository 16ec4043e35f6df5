"""Result types of the inbound boundary (re-exported by :mod:`schemas.ingest`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.events import Event


@dataclass(frozen=True, slots=True)
class Limits:
    """Document limits of contract §6: size in bytes, JSON nesting depth."""

    max_bytes: int = 1_048_576
    max_depth: int = 64


@dataclass(frozen=True, slots=True)
class InvalidInput:
    """One problem → one dead-letter record (contract §6)."""

    #: what is wrong and where, e.g. ``Observation.valueInteger: 31 is outside 0–27 for
    #: PHQ-9 total``
    diagnostics: str
    #: FHIRPath-like location (``Bundle.entry[2].resource.subject``); ``None`` for
    #: document-level problems (not UTF-8, not JSON, too big…)
    expression: str | None
    #: the offending document, or the offending Bundle entry re-serialized
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


@dataclass(slots=True)
class Ingested:
    """What one inbound document yields."""

    #: normalized events in document order (a group Appointment with N patients → N)
    events: list[Event] = field(default_factory=list)
    #: resources that are valid FHIR but none of the recognized kinds (contract §3)
    ignored: list[IgnoredResource] = field(default_factory=list)
    #: each becomes one dead letter
    errors: list[InvalidInput] = field(default_factory=list)
