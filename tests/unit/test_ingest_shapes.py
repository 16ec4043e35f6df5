"""Every recognized kind from each accepted shape (contract §2–3), identity (§7), groups."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from pipeline.events import (
    AssessmentRecorded,
    ConditionRecorded,
    Disposition,
    EdVisited,
    Instrument,
    PatientAdmitted,
    PatientDischarged,
    PatientRecorded,
    ProgramEnrolled,
    ProgramExited,
    SessionAttended,
    SessionMissed,
    TaskUpdated,
)
from pipeline.levels import Level
from tests.unit.ingest_docs import (
    LOC,
    Doc,
    appointment,
    cc,
    collection,
    condition,
    encounter,
    episode,
    ignored,
    message,
    observation,
    one,
    patient,
    run,
    task,
)

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
T1 = datetime(2026, 3, 8, 15, tzinfo=UTC)

KINDS: list[tuple[Doc, type, datetime]] = [
    (encounter(status="in-progress"), PatientAdmitted, T0),
    (encounter(), PatientDischarged, T1),
    (episode(), ProgramEnrolled, datetime(2026, 2, 2, tzinfo=UTC)),
    (episode(status="finished", period={"end": "2026-03-08T15:00:00Z"}), ProgramExited, T1),
    (observation(), AssessmentRecorded, datetime(2026, 3, 5, 10, tzinfo=UTC)),
    (appointment(), SessionAttended, datetime(2026, 3, 10, 14, tzinfo=UTC)),
    (encounter("AMB", serviceType=cc(LOC, "iop")), SessionAttended, T0),
    (appointment("noshow"), SessionMissed, datetime(2026, 3, 10, 14, tzinfo=UTC)),
    (task(), TaskUpdated, datetime(2026, 3, 9, 9, tzinfo=UTC)),
    (encounter("EMER"), EdVisited, T1),
    (encounter("OBSENC", period={"start": "2026-03-01T08:00:00Z"}), EdVisited, T0),
    (encounter("VR", serviceType=cc(LOC, "op")), SessionAttended, T0),
    (condition(), ConditionRecorded, datetime(2026, 3, 4, 9, tzinfo=UTC)),
]
IDS = [
    f"{d['resourceType']}-{d['class']['code'] if 'class' in d else ''}-{k.__name__}"
    for d, k, _ in KINDS
]


@pytest.mark.parametrize(("doc", "kind", "time"), KINDS, ids=IDS)
def test_bare_resource(doc: Doc, kind: type, time: datetime) -> None:
    event = one(doc)
    assert type(event) is kind
    assert (event.patient, event.time) == ("p1", time)
    assert event.ref == f"{doc['resourceType']}/{doc['id']}"
    assert event.event_id.startswith(f"{doc['resourceType']}/{doc['id']}#")


@pytest.mark.parametrize(("doc", "kind", "time"), KINDS, ids=IDS)
def test_collection_entry_with_urn_uuid_patient(doc: Doc, kind: type, time: datetime) -> None:
    key = "patient" if doc["resourceType"] == "EpisodeOfCare" else "subject"
    key = "for" if doc["resourceType"] == "Task" else key
    if doc["resourceType"] == "Appointment":
        doc = {**doc, "participant": [{"actor": {"reference": "urn:uuid:e0"}}]}
    else:
        doc = {**doc, key: {"reference": "urn:uuid:e0"}}
    pat = {"resourceType": "Patient", "id": "p1"}
    for kind_of_bundle in ("collection", "batch", "transaction"):
        out = run(collection(pat, doc, kind=kind_of_bundle))
        assert out.errors == [] and out.ignored == []
        [recorded, event] = out.events
        assert isinstance(recorded, PatientRecorded) and recorded.patient == "p1"
        assert type(event) is kind and event.patient == "p1" and event.time == time
        assert event.event_id.startswith(f"{doc['resourceType']}/{doc['id']}#")
        assert event.ref == f"{doc['resourceType']}/{doc['id']}"


@pytest.mark.parametrize("event", ["notification-admit", "notification-discharge"])
def test_message_bundle(event: str) -> None:
    got = one(message(event))
    assert type(got) is (PatientAdmitted if event == "notification-admit" else PatientDischarged)
    assert (got.event_id, got.patient, got.ref) == ("Bundle/msg-1", "p1", "Encounter/enc-1")
    assert got.time == (T0 if event == "notification-admit" else T1)


def test_message_identity_falls_back_to_identifier_then_hash() -> None:
    doc = message()
    del doc["id"]
    with_ident = {**doc, "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:m1"}}
    assert one(with_ident).event_id == "urn:uuid:m1"
    hashed = one(doc).event_id
    assert hashed.startswith("Bundle#") and len(hashed) == len("Bundle#") + 16
    assert one(doc).event_id == hashed


@pytest.mark.parametrize(
    "focus", ["Encounter/enc-1", "https://adt.example.org/fhir/Encounter/enc-1"]
)
def test_message_focus_by_literal_reference(focus: str) -> None:
    doc = message()
    doc["entry"][0]["resource"]["focus"] = [{"reference": focus}]
    assert one(doc).patient == "p1"


@pytest.mark.parametrize("event", ["notification-transfer", "notification-referral"])
def test_message_with_other_event_is_ignored(event: str) -> None:
    assert ignored(message(event))


def test_message_with_event_uri_is_ignored() -> None:
    doc = message()
    header = doc["entry"][0]["resource"]
    del header["eventCoding"]
    header["eventUri"] = "http://example.org/fhir/message-events/patient-link"
    assert ignored(doc)


def test_identity_uses_version_id_when_present() -> None:
    doc = observation(meta={"versionId": "3"})
    assert one(doc).event_id == "Observation/obs-1/_history/3"


def test_identity_hash_is_content_and_key_order_independent() -> None:
    a = observation()
    b = dict(reversed(list(a.items())))
    assert one(a).event_id == one(b).event_id
    assert one(a).event_id != one(observation(valueInteger=15)).event_id


def test_resource_without_id_has_type_hash_identity_and_no_ref() -> None:
    doc = observation()
    del doc["id"]
    event = one(doc)
    assert event.ref is None and event.event_id.startswith("Observation#")


def test_resent_appointment_with_new_status_is_a_new_event() -> None:
    assert ignored(appointment("booked"))
    assert one(appointment("noshow")).event_id != one(appointment("fulfilled")).event_id


def test_group_appointment_gives_one_event_per_patient_in_order() -> None:
    out = run(appointment(patients=("a", "b", "c")))
    assert [e.patient for e in out.events] == ["a", "b", "c"]
    assert len({e.event_id for e in out.events}) == 1
    assert all(isinstance(e, SessionAttended) and e.appointments == ("appt-1",) for e in out.events)


def test_group_appointment_skips_declined_and_non_patient_actors() -> None:
    doc = appointment(patients=("a", "b"))
    doc["participant"][1]["status"] = "declined"
    doc["participant"].append({"actor": {"reference": "Location/room-2"}})
    doc["participant"].append({"actor": {"display": "Phone Call"}})
    assert [e.patient for e in run(doc).events] == ["a"]


def test_collection_entries_keep_their_own_identity_and_order() -> None:
    docs = (observation(id="o1"), encounter(status="in-progress"), task(), patient(), condition())
    out = run(collection(*docs))
    refs = ["Observation/o1", "Encounter/enc-1", "Task/task-1", "Patient/p1", "Condition/cond-1"]
    assert [e.ref for e in out.events] == refs
    assert out.events[0].event_id == one(observation(id="o1")).event_id


def test_nested_message_bundle_in_a_collection() -> None:
    out = run(collection(message()))
    assert [e.event_id for e in out.events] == ["Bundle/msg-1"]


def test_transaction_entry_without_resource_is_skipped() -> None:
    doc = collection(observation())
    doc["entry"].append({"request": {"method": "DELETE", "url": "Observation/x"}})
    out = run(doc)
    assert len(out.events) == 1 and out.ignored == [] and out.errors == []


@pytest.mark.parametrize("kind", ["document", "transaction-response", "batch-response"])
def test_other_bundle_types_are_ignored(kind: str) -> None:
    assert ignored(collection(observation(), kind=kind))


def test_absolute_patient_reference() -> None:
    ref = "https://ehr.example.org/fhir/Patient/p1/_history/2"
    assert one(observation(subject={"reference": ref})).patient == "p1"


def test_values_carried() -> None:
    dc = one(
        encounter(
            hospitalization={
                "dischargeDisposition": cc(
                    "http://terminology.hl7.org/CodeSystem/discharge-disposition", "aadvice"
                )
            }
        )
    )
    assert isinstance(dc, PatientDischarged)
    assert (dc.disposition, dc.disposition_code) == (Disposition.AGAINST_ADVICE, "aadvice")
    ev = one(episode())
    assert isinstance(ev, ProgramEnrolled) and ev.level is Level.IOP
    a = one(observation())
    assert isinstance(a, AssessmentRecorded) and (a.instrument, a.value) == (Instrument.PHQ9, 14)
    t = one(task(statusReason={"text": "patient moved"}))
    assert isinstance(t, TaskUpdated)
    assert (t.task_id, t.status, t.reason) == ("task-1", "accepted", "patient moved")


def test_document_bytes_round_trip_through_orjson() -> None:
    assert one(orjson.dumps(observation())) == one(observation())
