"""Why a valid resource is ignored (contract §3, §9): one short phrase naming the
resource, the field and why. Readers return the phrase instead of events; the dispatcher
records it as an :class:`~schemas.inbound.types.IgnoredResource`.

A reason quotes codes, code systems, statuses and ids, never other values of the
resource (no text, no display, no name, no score): it is logged and written to
``--ignored``.
"""

from __future__ import annotations

from typing import Final

from pipeline.events import Event

#: A reader's result: the events of a recognized resource, or why it is ignored.
Outcome = list[Event] | str

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
_NAMES: Final = {LOINC: "LOINC", SNOMED: "SNOMED", ICD10CM: "ICD-10-CM"}
_LONGEST = 40  # of a code or system quoted in a reason


def cut(text: str) -> str:
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def coding(system: str | None, code: str) -> str:
    """``LOINC 8867-4``, ``SNOMED 720433000``, ``urn:local x``, ``code x (no system)``."""
    if system is None:
        return f"code {cut(code)} (no system)"
    return f"{_NAMES.get(system) or cut(system)} {cut(code)}"


def first_code(codes: list[tuple[str | None, str | None]]) -> str | None:
    """:func:`coding` of the first coding that has a code."""
    for system, code in codes:
        if code is not None:
            return coding(system, code)
    return None


def named(rtype: str, rid: str | None) -> str:
    """``Encounter/e1`` (``Encounter`` without an id)."""
    return f"{rtype}/{rid}" if rid else rtype
