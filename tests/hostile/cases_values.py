"""Right JSON types, unusable values: scores out of range, impossible or zoneless times,
missing or non-Patient subjects, unknown status codes, impossible durations, unusable
message Bundles, Bundles inside Bundles."""

from __future__ import annotations

from typing import Any

from tests.hostile.corpus_kit import DELETE, Line, Path, changed, expression, invalid, put
from tests.hostile.templates import LOINC, Doc, cc, template

OUT = "is outside"

#: (template, path, value, expected location (None: the changed field), phrase)
VALUES: list[tuple[str, Path, Any, Path | None, str]] = [
    # -- scores out of range, per instrument and value form
    ("obs", ("valueInteger",), 28, None, "28 is outside 0–27 for PHQ-9 total"),
    ("obs", ("valueInteger",), -1, None, "-1 is outside 0–27 for PHQ-9 total"),
    ("obs", ("valueInteger",), 2**63, None, OUT),
    ("obs-quantity", ("valueQuantity", "value"), 22, None, "22 is outside 0–21 for GAD-7 total"),
    ("obs-quantity", ("valueQuantity", "value"), 21.5, None, "is not a whole number"),
    ("obs-quantity", ("valueQuantity", "value"), -0.5, None, "is not a whole number"),
    ("obs-quantity", ("valueQuantity", "value"), 1e300, None, OUT),
    ("obs-string", ("valueString",), "13", None, "13 is outside 0–12 for AUDIT-C total"),
    ("obs-string", ("valueString",), "-2", None, "-2 is outside 0–12"),
    ("obs-string", ("valueString",), "four", None, "is not a whole number"),
    ("obs-string", ("valueString",), "", None, "is not a whole number"),
    ("obs-string", ("valueString",), "1 2", None, "is not a whole number"),
    ("obs-string", ("valueString",), "9" * 5000, None, "is not a whole number"),
    ("obs-item9", ("valueCodeableConcept",), cc(LOINC, "LA6572-7"), None, "no PHQ-9 item 9 answer"),
    ("obs-item9", ("valueCodeableConcept",), cc("urn:x", "LA6569-3"), None, "no PHQ-9 item 9"),
    ("obs-item9", ("valueCodeableConcept",), {"text": "sometimes"}, None, "no PHQ-9 item 9"),
    ("obs-cssrs", ("valueCodeableConcept",), {"text": "extreme"}, None, "no C-SSRS risk level"),
    ("obs-cssrs", ("valueCodeableConcept",), cc(LOINC, "LA0000-0"), None, "no C-SSRS risk level"),
    ("obs-cssrs", ("valueCodeableConcept",), {"coding": []}, None, "no C-SSRS risk level"),
    # -- a value form the instrument does not take, or no value
    ("obs", ("valueInteger",), DELETE, ("value[x]",), "required: a value for PHQ-9 total"),
    ("obs-cssrs", ("valueCodeableConcept",), DELETE, ("value[x]",), "required: a value for C-SSRS"),
    # -- impossible, zoneless or unrepresentable times
    ("obs", ("effectiveDateTime",), "2026-03-05T10:00:00+25:00", None, "not a valid date/time"),
    ("obs", ("effectiveDateTime",), "2026-03-05T23:59:60Z", None, "not a valid date/time"),
    ("obs", ("effectiveDateTime",), "2026-03-05T24:00:00Z", None, "not a valid date/time"),
    ("obs", ("effectiveDateTime",), "2026-00-10", None, "not a valid date/time"),
    ("obs", ("effectiveDateTime",), "0000-01-01", None, "not a valid date/time"),
    ("obs", ("effectiveDateTime",), "9999-12-31T23:00:00-05:00", None, "outside the range"),
    ("obs", ("effectiveDateTime",), "0001-01-01T00:00:00+01:00", None, "outside the range"),
    ("obs", ("effectiveDateTime",), "2026-03-05T10:00Z", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), "2026-03-05T10:00:00.Z", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), "2026-03-05T10:00:00+0100", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), "2026-03-05t10:00:00Z", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), " 2026-03-05T10:00:00Z", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), "2026", None, "is a partial date"),
    ("obs", ("effectiveDateTime",), "", None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), "x" * 100_000, None, "not a FHIR dateTime"),
    ("obs", ("effectiveDateTime",), DELETE, ("effective[x]",), "required: effectiveDateTime"),
    ("enc-visit", ("period", "start"), "2026-03-10T14:00:00", None, "has no time zone"),
    ("task", ("lastModified",), "2026-02-29T09:00:00Z", None, "not a valid date/time"),
    ("appt", ("start",), "2026-03-10T14:00:00.123", None, "has no time zone"),
    # -- no resolvable patient
    ("obs", ("subject",), DELETE, None, "required: a Patient reference"),
    ("obs", ("subject",), {"reference": "Group/g1"}, ("subject", "reference"), "is not a Patient"),
    (
        "obs",
        ("subject",),
        {"reference": "https://ehr.example.org/fhir/Group/g1"},
        ("subject", "reference"),
        "is not a Patient",
    ),
    ("obs", ("subject",), {"identifier": {"value": "MRN-77"}}, None, "a literal reference"),
    ("obs", ("subject",), {"display": "a patient"}, None, "a literal reference"),
    ("obs", ("subject",), {"reference": "Patient/"}, ("subject", "reference"), "no valid Patient"),
    ("obs", ("subject",), {"reference": "Patient/a b"}, ("subject", "reference"), "no valid"),
    ("obs", ("subject",), {"reference": "#p1"}, ("subject", "reference"), "does not resolve"),
    (
        "obs",
        ("subject",),
        {"reference": "Patient?identifier=x|1"},
        ("subject", "reference"),
        "not a literal reference",
    ),
    ("obs", ("subject",), {"reference": ""}, ("subject", "reference"), "not a literal reference"),
    ("enc-discharge", ("subject",), DELETE, None, "required: a Patient reference"),
    (
        "enc-discharge",
        ("subject",),
        {"reference": "Group/g1"},
        ("subject", "reference"),
        "is not a Patient",
    ),
    (
        "enc-visit",
        ("subject",),
        {"reference": "Group/g1"},
        ("subject", "reference"),
        "is not a Patient",
    ),
    (
        "episode",
        ("patient",),
        {"reference": "Group/g1"},
        ("patient", "reference"),
        "is not a Patient",
    ),
    ("episode", ("patient",), DELETE, None, "required: a Patient reference"),
    ("appt", ("participant",), [{"actor": {"reference": "Group/g1"}}], None, "no participant"),
    ("appt", ("participant",), [{"actor": {"display": "Pat"}}], None, "no participant"),
    ("appt", ("participant",), [], None, "no participant"),
    ("appt", ("participant",), DELETE, None, "no participant"),
    (
        "appt",
        ("participant",),
        [{"actor": {"reference": "Patient/s05"}, "status": "declined"}],
        None,
        "no participant",
    ),
    # -- missing required fields, unknown codes where the pipeline reads a status
    ("obs", ("code",), DELETE, None, "required"),
    ("obs", ("status",), DELETE, None, "required"),
    ("obs", ("status",), "Final", None, "is not an Observation status"),
    ("enc-discharge", ("class",), DELETE, None, "required"),
    ("enc-discharge", ("status",), DELETE, None, "required"),
    ("enc-discharge", ("status",), "discharged", None, "is not an R4 Encounter status"),
    ("appt", ("status",), DELETE, None, "required"),
    ("appt", ("status",), "Fulfilled", None, "is not an Appointment status"),
    ("appt", ("start",), DELETE, None, "required for a fulfilled Appointment"),
    ("episode", ("status",), DELETE, None, "required"),
    ("episode", ("status",), "activ", None, "is not an EpisodeOfCare status"),
    ("episode", ("period",), DELETE, ("period", "start"), "required for an enrollment"),
    ("episode-exit", ("period",), {}, ("period", "end"), "required (or period.start)"),
    ("task", ("status",), "done", None, "is not a Task status"),
    ("collection", ("type",), DELETE, None, "required"),
    ("collection", ("type",), "colection", None, "is not a Bundle type"),
    # -- impossible durations
    ("appt", ("minutesDuration",), 0, None, "is not a positive number of minutes"),
    ("appt", ("minutesDuration",), -30, None, "is not a positive number of minutes"),
    ("appt", ("minutesDuration",), 2**64 - 1, None, "longer than"),
    ("appt", ("minutesDuration",), 10**25, None, "expected an integer, got 1e+25"),
    ("appt-end", ("end",), "2026-03-10T13:59:00Z", None, "the end is before the start"),
    ("appt-end", ("end",), "2026-03-09T14:00:00Z", None, "the end is before the start"),
    ("enc-visit", ("length", "value"), -1, None, "is a negative duration"),
    ("enc-visit", ("length", "value"), 1e308, None, "longer than"),
    ("enc-visit", ("length", "value"), 2**63, None, "longer than"),
    (
        "enc-visit",
        ("length",),
        {"value": 3, "unit": "fortnight"},
        ("length", "code"),
        "unknown time unit",
    ),
    (
        "enc-visit",
        ("length",),
        {"value": 3, "code": "wk", "system": "urn:x"},
        ("length", "code"),
        "unknown time unit",
    ),
    ("enc-visit", ("length",), DELETE, None, None),  # completed below: period end < start
    # -- ids
    ("obs", ("id",), "", None, "is not a valid FHIR id"),
    ("obs", ("id",), "obs/1", None, "is not a valid FHIR id"),
    ("obs", ("id",), "ébauche", None, "is not a valid FHIR id"),
    ("obs", ("meta", "versionId"), "", None, "is not a valid FHIR id"),
    ("message", ("id",), "", None, "is not a valid FHIR id"),
]


def _swapped() -> list[Line]:
    """A value form the instrument does not take, instead of the one it does."""
    cases = [
        ("obs", "valueInteger", "valueBoolean", True, "valueBoolean is not accepted"),
        ("obs-cssrs", "valueCodeableConcept", "valueInteger", 3, "valueInteger is not"),
        ("obs-quantity", "valueQuantity", "valueRange", {"low": {"value": 1}}, "valueRange"),
        ("obs-item9", "valueCodeableConcept", "valueBoolean", False, "valueBoolean"),
    ]
    lines = []
    for name, old, new, value, problem in cases:
        doc = put(changed(name, (old,), DELETE), (new,), value)
        lines.append(invalid(f"{name}:{new}", doc, expression(doc, (new,)), problem))
    return lines


def _messages() -> list[tuple[str, Doc, Path, str]]:
    """Message Bundles without a usable MessageHeader or focus."""
    hdr: Path = ("entry", 0, "resource")
    cases: list[tuple[str, Doc, Path, str]] = []

    def msg(name: str, path: Path, value: Any, where: Path, problem: str) -> None:
        cases.append((name, changed("message", path, value), where, problem))

    msg("no-entries", ("entry",), [], ("entry",), "needs a MessageHeader first entry")
    msg("no-entry", ("entry",), DELETE, ("entry",), "needs a MessageHeader first entry")
    msg(
        "header-not-first",
        ("entry", 0),
        template("message")["entry"][1],
        ("entry", 0),
        "not a MessageHeader",
    )
    msg(
        "first-without-resource",
        ("entry", 0),
        {"fullUrl": "urn:uuid:x"},
        ("entry", 0),
        "no resource",
    )
    msg("no-event", (*hdr, "eventCoding"), DELETE, (*hdr, "eventCoding"), "required")
    msg("no-focus", (*hdr, "focus"), DELETE, (*hdr, "focus"), "required")
    msg("empty-focus", (*hdr, "focus"), [], (*hdr, "focus"), "required")
    msg(
        "focus-dangling",
        (*hdr, "focus"),
        [{"reference": "urn:uuid:nowhere"}],
        (*hdr, "focus", 0, "reference"),
        "does not resolve to an Encounter",
    )
    msg(
        "focus-patient",
        (*hdr, "focus"),
        [{"reference": "urn:uuid:hx-pat"}],
        (*hdr, "focus", 0, "reference"),
        "does not resolve to an Encounter",
    )
    msg(
        "focus-no-reference",
        (*hdr, "focus"),
        [{"display": "the stay"}],
        (*hdr, "focus", 0, "reference"),
        "required",
    )
    msg("no-type", ("type",), DELETE, ("type",), "required")
    msg(
        "no-end",
        ("entry", 1, "resource", "period"),
        {"start": "2026-03-01T08:00:00Z"},
        ("entry", 1, "resource", "period", "end"),
        "required for a discharge",
    )
    msg(
        "no-subject",
        ("entry", 1, "resource", "subject"),
        DELETE,
        ("entry", 1, "resource", "subject"),
        "required: a Patient reference",
    )
    msg(
        "subject-group",
        ("entry", 2, "resource"),
        {"resourceType": "Group", "id": "g1"},
        ("entry", 1, "resource", "subject", "reference"),
        "is not a Patient",
    )
    msg(
        "subject-dangling",
        ("entry", 1, "resource", "subject"),
        {"reference": "urn:uuid:x"},
        ("entry", 1, "resource", "subject", "reference"),
        "does not resolve",
    )
    admit = changed("message", (*hdr, "eventCoding", "code"), "notification-admit")
    cases.append(
        (
            "admit-no-start",
            put(admit, ("entry", 1, "resource", "period"), {}),
            ("entry", 1, "resource", "period", "start"),
            "required for an admission",
        )
    )
    anon = changed("message", ("id",), DELETE)
    cases.append(
        (
            "identifier-value",
            put(anon, ("identifier",), {"value": 7}),
            ("identifier", "value"),
            "expected a string",
        )
    )
    return cases


def _nested() -> list[Line]:
    """A Bundle inside a collection reports its problems at its place in the outer one."""
    inner = changed("message", ("entry", 0, "resource", "focus"), [])
    outer = put(template("collection"), ("entry",), [{"resource": inner}])
    where = "Bundle.entry[0].resource.entry[0].resource.focus"
    deep = put(
        template("collection"),
        ("entry",),
        [{"resource": changed("collection", ("entry", 0, "resource", "valueInteger"), 99)}],
    )
    deep_where = "Bundle.entry[0].resource.entry[0].resource.valueInteger"
    return [
        invalid("nested-message", outer, where, "required"),
        invalid("nested-collection", deep, deep_where, "99 is outside"),
    ]


def value_cases() -> list[Line]:
    lines: list[Line] = []
    for n, (name, path, value, where, problem) in enumerate(VALUES):
        doc = changed(name, path, value)
        if problem is None:  # the visit without length: minutes from a reversed period
            doc = put(doc, ("period", "end"), "2026-03-10T13:00:00Z")
            where, problem = ("period", "end"), "the end is before the start"
        expr = expression(doc, where or path)
        lines.append(invalid(f"{name}:{n}", doc, expr, problem))
    for name, doc, where, problem in _messages():
        lines.append(invalid(f"message:{name}", doc, expression(doc, where), problem))
    return lines + _swapped() + _nested()
