"""Patient keys (contract §2, rules.md §8): ``<source>|<id>`` or the plain ``<id>``; the
source from the channel, else (``identity.source_from_meta``) ``meta.source``, else
``identity.default_source``; never ``MessageHeader.source.endpoint``; Task updates routed
by ``for.identifier``."""

from __future__ import annotations

import pytest

from pipeline.config import parse_rules
from pipeline.events import PatientRecorded, TaskUpdated
from schemas.inbound.context import normal_source
from tests.unit.ingest_docs import (
    KEY_SYSTEM,
    Doc,
    appointment,
    collection,
    condition,
    encounter,
    episode,
    error,
    message,
    observation,
    one,
    patient,
    run,
    task,
)

FROM_META = parse_rules({"identity": {"source_from_meta": True}})
DEFAULTED = parse_rules({"identity": {"default_source": "https://site.example.org"}})
BOTH = parse_rules(
    {"identity": {"source_from_meta": True, "default_source": "https://site.example.org"}}
)
A = "https://hospital-a.example.org/fhir"


def with_meta(doc: Doc, source: str) -> Doc:
    return {**doc, "meta": {**doc.get("meta", {}), "source": source}}


DOCS = [observation(), encounter(), episode(), condition(), patient(), encounter("EMER")]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d["resourceType"])
def test_without_a_source_the_key_is_the_plain_id(doc: Doc) -> None:
    assert one(doc).patient == "p1"
    assert one(with_meta(doc, A)).patient == "p1"  # meta.source is off by default


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d["resourceType"])
def test_channel_source_first(doc: Doc) -> None:
    assert one(doc, source="hosp-a").patient == "hosp-a|p1"
    assert one(with_meta(doc, A), source="hosp-a", rules=BOTH).patient == "hosp-a|p1"
    assert one(doc, source="").patient == "p1"  # an empty header is no source


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d["resourceType"])
def test_meta_source_when_switched_on_else_the_default(doc: Doc) -> None:
    assert one(with_meta(doc, A), rules=FROM_META).patient == f"{A}|p1"
    assert one(with_meta(doc, A), rules=BOTH).patient == f"{A}|p1"
    assert one(doc, rules=BOTH).patient == "https://site.example.org|p1"
    assert one(with_meta(doc, A), rules=DEFAULTED).patient == "https://site.example.org|p1"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("HTTPS://Hospital-A.Example.org/fhir/#8f2a", A),
        ("https://hospital-a.example.org/fhir/", A),
        ("https://hospital-a.example.org/FHIR", "https://hospital-a.example.org/FHIR"),
        ("urn:oid:2.16.840.1.113883.3.1", "urn:oid:2.16.840.1.113883.3.1"),
        ("hospital-b", "hospital-b"),
        ("#only-a-fragment", ""),
    ],
)
def test_meta_source_normalization(raw: str, normal: str) -> None:
    assert normal_source(raw) == normal
    key = one(with_meta(observation(), raw), rules=FROM_META).patient
    assert key == (f"{normal}|p1" if normal else "p1")


def test_bundle_meta_source_wins_over_the_entry_own() -> None:
    own = with_meta(observation(id="o1"), "https://own.example.org")
    bare = observation(id="o2")
    doc = with_meta(collection(own, bare), A)
    assert [e.patient for e in run(doc, rules=FROM_META).events] == [f"{A}|p1", f"{A}|p1"]
    doc = collection(own, bare)
    keys = [e.patient for e in run(doc, rules=FROM_META).events]
    assert keys == ["https://own.example.org|p1", "p1"]
    assert [e.patient for e in run(doc, rules=BOTH).events][1] == "https://site.example.org|p1"


def test_group_appointment_keys_every_patient() -> None:
    out = run(appointment(patients=("a", "b")), source="hosp-a")
    assert [e.patient for e in out.events] == ["hosp-a|a", "hosp-a|b"]


def test_message_source_is_the_bundle_then_the_focus_never_the_endpoint() -> None:
    doc = message()
    assert one(doc).patient == "p1"
    assert one(doc, rules=FROM_META).patient == "p1"  # the header endpoint is not a source
    focus = doc["entry"][1]["resource"]
    doc["entry"][1]["resource"] = with_meta(focus, "https://adt.example.org/")
    assert one(doc, rules=FROM_META).patient == "https://adt.example.org|p1"
    assert one(with_meta(doc, A), rules=FROM_META).patient == f"{A}|p1"
    assert one(with_meta(doc, A), rules=FROM_META, source="x").patient == "x|p1"


def test_message_and_bare_documents_of_one_hospital_are_one_patient() -> None:
    msg = with_meta(message(), A)
    bare = with_meta(observation(), A)
    assert one(msg, rules=FROM_META).patient == one(bare, rules=FROM_META).patient


def test_patient_resource_is_keyed_by_its_own_id() -> None:
    recorded = one(patient(id="p7"), source="hosp-a")
    assert isinstance(recorded, PatientRecorded) and recorded.patient == "hosp-a|p7"


def keyed_task(value: str, **fields: object) -> Doc:
    return task(
        **{
            "for": {"reference": "Patient/p1", "identifier": {"system": KEY_SYSTEM, "value": value}}
        },
        **fields,
    )


@pytest.mark.parametrize("value", ["https://hospital-a.example.org/fhir|p1", "p1", "a|b|p1"])
def test_task_update_routed_by_the_key_whatever_the_channel(value: str) -> None:
    update = one(keyed_task(value), source="case-manager-system", rules=BOTH)
    assert isinstance(update, TaskUpdated) and update.patient == value


def test_task_update_without_the_key_uses_the_reference_and_source() -> None:
    other_system = task(
        **{"for": {"reference": "Patient/p1", "identifier": {"system": "urn:mrn", "value": "9"}}}
    )
    assert one(other_system, source="hosp-a").patient == "hosp-a|p1"
    only_key = task(**{"for": {"identifier": {"system": KEY_SYSTEM, "value": "s|p1"}}})
    assert one(only_key).patient == "s|p1"


@pytest.mark.parametrize("value", ["|p1", "s|bad id", "s|", "x" * 400 + "|p1"])
def test_a_malformed_key_is_invalid_input(value: str) -> None:
    err = error(keyed_task(value))
    assert err.expression == "Task.for.identifier.value"
    assert "is not a patient key (<source>|<id> or <id>)" in err.diagnostics


def test_meta_source_of_the_wrong_type_is_invalid_when_read() -> None:
    doc = {**observation(), "meta": {"source": 7}}
    assert one(doc).patient == "p1"  # not read with source_from_meta off
    assert error(doc, rules=FROM_META).diagnostics == (
        "Observation.meta.source: expected a string, got 7"
    )
    bundle = {**collection(observation()), "meta": {"source": ["x"]}}
    assert error(bundle, rules=FROM_META).diagnostics == (
        "Bundle.meta.source: expected a string, got an array"
    )


def test_settings_derived_values_are_built_once_per_rules_object() -> None:
    from schemas.inbound.context import env_of
    from schemas.ingest import DEFAULT_BASE

    env = env_of(FROM_META, DEFAULT_BASE)
    assert env_of(FROM_META, DEFAULT_BASE) is env
    assert env.from_meta and env.key_system == KEY_SYSTEM
    assert env_of(DEFAULTED, DEFAULT_BASE) is not env
