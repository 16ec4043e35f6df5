"""Wrong JSON types and unusable formats in every field the pipeline reads.

:data:`FIELDS` lists, per template, each field ingest reads and what kind of value it
must be; :data:`KINDS` gives, per kind, the wrong values tried and the phrase the
diagnostics must then contain. The expected location is the field itself, unless the
kind's entry names a deeper one (an array of strings where CodeableConcepts belong is
wrong at its first item).
"""

from __future__ import annotations

from typing import Any

from tests.hostile.corpus_kit import Line, Path, changed, expression, invalid, render
from tests.hostile.templates import template

STR = "expected a string"
#: kind → [(wrong value, phrase in the diagnostics, location suffix or None)]
KINDS: dict[str, list[tuple[Any, str, Path | None]]] = {
    "string": [(7, STR, None), (True, STR, None), ({"x": 1}, STR, None), (["x"], STR, None)],
    "object": [
        ("x", "expected an object", None),
        (7, "expected an object", None),
        (["x"], "expected an object", None),
    ],
    "entry": [("x", "expected an entry object", None), ([], "expected an entry object", None)],
    "reference": [
        ("Patient/s05", "expected a Reference object", None),
        (7, "expected a Reference object", None),
        ([{"reference": "Patient/s05"}], "expected a Reference object", None),
    ],
    "array": [
        ("x", "expected an array", None),
        (7, "expected an array", None),
        ({"x": 1}, "expected an array", None),
    ],
    "cc": [
        ("iop", "expected a CodeableConcept object", None),
        (7, "expected a CodeableConcept object", None),
        (True, "expected a CodeableConcept object", None),
    ],
    "cc-list": [
        ("iop", "expected a CodeableConcept object", None),
        (["iop"], "expected a CodeableConcept object", (0,)),
        ([7], "expected a CodeableConcept object", (0,)),
    ],
    "coding": [
        ("44261-6", "expected a Coding object", None),
        (7, "expected a Coding object", None),
    ],
    "class": [
        ("IMP", "expected an object", None),
        ([{"code": "IMP"}], "expected an R4 Coding object, got an array", None),
    ],
    "datetime": [
        (20260305, "expected a dateTime string", None),
        ({"value": "2026-03-05"}, "expected a dateTime string", None),
        ("2026-03-05T10:00:00", "has no time zone", None),
        ("2026-02-30", "is not a valid date/time", None),
        ("2026-03-05T25:00:00Z", "is not a valid date/time", None),
        ("2026-03", "is a partial date", None),
        ("03/05/2026", "is not a FHIR dateTime", None),
        ("2026-03-05 10:00:00Z", "is not a FHIR dateTime", None),
    ],
    "integer": [
        ("14", "expected an integer", None),
        (14.0, "expected an integer", None),
        (True, "expected an integer", None),
        ([14], "expected an integer", None),
    ],
    "number": [
        ("9", "expected a number", None),
        (True, "expected a number", None),
        ({"value": 9}, "expected a number", None),
    ],
    "id": [
        ("bad id!", "is not a valid FHIR id", None),
        ("x" * 65, "is not a valid FHIR id", None),
        (7, STR, None),
    ],
    "rank": [
        ("1", "expected a positive integer", None),
        (0, "expected a positive integer", None),
        (1.5, "expected a positive integer", None),
        (True, "expected a positive integer", None),
    ],
    "boolean": [("true", "expected true or false", None), (1, "expected true or false", None)],
    "human-name": [("Corpus Hostile", "expected a HumanName object", None)],
    "annotation": [("called back", "expected an Annotation object", None)],
}

CODING = (
    (("coding",), "array"),
    (("coding", 0), "coding"),
    (("coding", 0, "system"), "string"),
    (("coding", 0, "code"), "string"),
)


def _cc(prefix: Path) -> list[tuple[Path, str]]:
    return [((*prefix, *p), k) for p, k in CODING]


FIELDS: list[tuple[str, Path, str]] = [
    *[
        ("obs", p, k)
        for p, k in [
            (("resourceType",), "string"),
            (("id",), "id"),
            (("meta",), "object"),
            (("meta", "versionId"), "id"),
            (("status",), "string"),
            (("code",), "cc"),
            *_cc(("code",)),
            (("subject",), "reference"),
            (("subject", "reference"), "string"),
            (("effectiveDateTime",), "datetime"),
            (("valueInteger",), "integer"),
        ]
    ],
    ("obs-period", ("effectivePeriod",), "object"),
    ("obs-period", ("effectivePeriod", "start"), "datetime"),
    ("obs-issued", ("issued",), "datetime"),
    ("obs-quantity", ("valueQuantity",), "object"),
    ("obs-quantity", ("valueQuantity", "value"), "number"),
    ("obs-string", ("valueString",), "string"),
    ("obs-item9", ("valueCodeableConcept",), "cc"),
    *[("obs-item9", p, k) for p, k in _cc(("valueCodeableConcept",))],
    ("obs-cssrs", ("valueCodeableConcept",), "cc"),
    ("obs-cssrs", ("valueCodeableConcept", "text"), "string"),
    *[
        ("enc-discharge", p, k)
        for p, k in [
            (("id",), "id"),
            (("meta", "versionId"), "id"),
            (("status",), "string"),
            (("class",), "class"),
            (("class", "system"), "string"),
            (("class", "code"), "string"),
            (("subject",), "reference"),
            (("subject", "reference"), "string"),
            (("period",), "object"),
            (("period", "end"), "datetime"),
            (("hospitalization",), "object"),
            (("hospitalization", "dischargeDisposition"), "cc"),
            *_cc(("hospitalization", "dischargeDisposition")),
        ]
    ],
    ("enc-admission", ("status",), "string"),
    ("enc-admission", ("period", "start"), "datetime"),
    ("enc-admission", ("subject",), "reference"),
    *[
        ("enc-visit", p, k)
        for p, k in [
            (("serviceType",), "cc"),
            *_cc(("serviceType",)),
            (("period", "start"), "datetime"),
            (("subject",), "reference"),
            (("length",), "object"),
            (("length", "value"), "number"),
            (("length", "code"), "string"),
            (("length", "unit"), "string"),
            (("length", "system"), "string"),
            (("appointment",), "array"),
            (("appointment", 0), "reference"),
            (("appointment", 0, "reference"), "string"),
        ]
    ],
    *[
        ("appt", p, k)
        for p, k in [
            (("id",), "id"),
            (("status",), "string"),
            (("participant",), "array"),
            (("participant", 0), "object"),
            (("participant", 0, "actor"), "reference"),
            (("participant", 0, "actor", "reference"), "string"),
            (("participant", 0, "status"), "string"),
            (("start",), "datetime"),
            (("minutesDuration",), "integer"),
            (("serviceType",), "cc-list"),
            *_cc(("serviceType", 0)),
        ]
    ],
    ("appt-end", ("end",), "datetime"),
    *[
        ("episode", p, k)
        for p, k in [
            (("id",), "id"),
            (("status",), "string"),
            (("type",), "cc-list"),
            *_cc(("type", 0)),
            (("patient",), "reference"),
            (("patient", "reference"), "string"),
            (("period",), "object"),
            (("period", "start"), "datetime"),
        ]
    ],
    ("episode-exit", ("period", "end"), "datetime"),
    *[
        ("task", p, k)
        for p, k in [
            (("id",), "string"),
            (("status",), "string"),
            (("for",), "reference"),
            (("for", "reference"), "string"),
            (("lastModified",), "datetime"),
            (("statusReason",), "object"),
            (("statusReason", "text"), "string"),
            (("meta", "versionId"), "id"),
        ]
    ],
    ("task-authored", ("authoredOn",), "datetime"),
    *[
        ("message", p, k)
        for p, k in [
            (("id",), "id"),
            (("type",), "string"),
            (("entry",), "array"),
            (("entry", 0), "entry"),
            (("entry", 0, "fullUrl"), "string"),
            (("entry", 0, "resource"), "object"),
            (("entry", 0, "resource", "resourceType"), "string"),
            (("entry", 0, "resource", "eventCoding"), "object"),
            (("entry", 0, "resource", "eventCoding", "system"), "string"),
            (("entry", 0, "resource", "eventCoding", "code"), "string"),
            (("entry", 0, "resource", "focus"), "array"),
            (("entry", 0, "resource", "focus", 0), "reference"),
            (("entry", 0, "resource", "focus", 0, "reference"), "string"),
            (("entry", 1, "fullUrl"), "string"),
            (("entry", 1, "resource"), "object"),
            (("entry", 1, "resource", "subject"), "reference"),
            (("entry", 1, "resource", "subject", "reference"), "string"),
            (("entry", 1, "resource", "period", "end"), "datetime"),
            (("entry", 2, "fullUrl"), "string"),
            (("entry", 2, "resource", "id"), "id"),
        ]
    ],
    *[
        ("enc-ed", p, k)
        for p, k in [
            (("class", "code"), "string"),
            (("period", "end"), "datetime"),
            (("diagnosis",), "array"),
            (("diagnosis", 0), "object"),
            (("diagnosis", 0, "rank"), "rank"),
            (("diagnosis", 0, "condition"), "reference"),
            (("diagnosis", 0, "condition", "reference"), "string"),
            (("contained",), "array"),
        ]
    ],
    ("enc-vr", ("class", "code"), "string"),
    ("enc-vr", ("serviceType",), "cc"),
    ("enc-vr", ("period", "start"), "datetime"),
    *[
        ("patient-died", p, k)
        for p, k in [
            (("id",), "id"),
            (("deceasedDateTime",), "datetime"),
            (("name",), "array"),
            (("name", 0), "human-name"),
            (("name", 0, "family"), "string"),
        ]
    ],
    ("patient-deceased", ("deceasedBoolean",), "boolean"),
    *[
        ("condition", p, k)
        for p, k in [
            (("id",), "id"),
            (("code",), "cc"),
            *_cc(("code",)),
            (("clinicalStatus",), "cc"),
            *_cc(("clinicalStatus",)),
            (("verificationStatus",), "cc"),
            (("subject",), "reference"),
            (("subject", "reference"), "string"),
            (("onsetDateTime",), "datetime"),
        ]
    ],
    *[
        ("task-owner", p, k)
        for p, k in [
            (("for", "identifier"), "object"),
            (("for", "identifier", "system"), "string"),
            (("for", "identifier", "value"), "string"),
            (("owner",), "object"),
            (("owner", "reference"), "string"),
            (("note",), "array"),
            (("note", 0), "annotation"),
            (("note", 0, "text"), "string"),
        ]
    ],
    *[
        ("collection", p, k)
        for p, k in [
            (("type",), "string"),
            (("entry",), "array"),
            (("entry", 0), "entry"),
            (("entry", 0, "fullUrl"), "string"),
            (("entry", 0, "resource"), "object"),
            (("entry", 0, "resource", "resourceType"), "string"),
            (("entry", 0, "resource", "valueInteger"), "integer"),
            (("entry", 0, "resource", "subject", "reference"), "string"),
            (("entry", 1, "resource", "id"), "id"),
        ]
    ],
]

#: Where the problem is reported somewhere else than the changed field, with why.
ELSEWHERE: dict[tuple[str, Path], Path] = {
    # the Patient entry's bad id/fullUrl makes the subject that points to it unresolvable
    ("message", ("entry", 2, "resource", "id")): ("entry", 1, "resource", "subject", "reference"),
    ("collection", ("entry", 1, "resource", "id")): (
        "entry",
        0,
        "resource",
        "subject",
        "reference",
    ),
}


#: Changed fields reported where :data:`ELSEWHERE` says and also at the field itself: a
#: collection's entries are each read on their own (contract §2), and a Patient entry is
#: an event of its own in v2 (contract §3: its name, its death), so its bad id is one dead
#: letter and the Observation whose subject points to it another.
ALSO_ITSELF: set[tuple[str, Path]] = {("collection", ("entry", 1, "resource", "id"))}


def field_cases() -> list[Line]:
    lines: list[Line] = []
    for name, path, kind in FIELDS:
        for i, (value, problem, deeper) in enumerate(KINDS[kind]):
            if path == ("resourceType",) and not isinstance(value, str | int | bool):
                continue  # covered by the document-level cases
            doc = changed(name, path, value)
            itself = (*path, *(deeper or ()))
            expr = expression(template(name), ELSEWHERE.get((name, path), itself))
            if path == ("resourceType",):
                expr, problem = None, "resourceType must be a string"
            also = None
            if (name, path) in ALSO_ITSELF:
                also = [(expression(template(name), itself), problem)]
            case = f"{name}:{render(path)}:{kind}{i}"
            lines.append(invalid(case, doc, expr, _why(problem, name, path), also))
    return lines


def _why(problem: str, name: str, path: Path) -> str:
    if (name, path) in ELSEWHERE:
        return "resolve"
    return problem
