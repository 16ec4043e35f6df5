"""Output records on Kafka (contract §1, §5): keyed by resource id, and each carries its
patient key back, which is how ``replay --broker`` finds its patients' outputs."""

from __future__ import annotations

import orjson

from schemas.outbound import DEFAULT_BASE, output_key, patient_key_of, render
from tests.unit.test_outbound import _referral, _task


def test_outputs_are_keyed_by_resource_id() -> None:
    task, referral = _task(), _referral()
    assert output_key(task) == f"Task/{task.id}".encode()
    assert output_key(referral) == f"ServiceRequest/{referral.id}".encode()


def test_each_output_carries_its_patient_key() -> None:
    for out in (_task(patient="https://a.example.org|p1"), _referral(patient="p2")):
        doc = orjson.loads(render(out, DEFAULT_BASE))
        assert patient_key_of(doc) == out.patient


def test_no_patient_key_without_an_identifier() -> None:
    assert patient_key_of({"resourceType": "Task", "for": {"reference": "Patient/p1"}}) is None
    assert patient_key_of({"resourceType": "ServiceRequest", "subject": "Patient/p1"}) is None
    assert patient_key_of({"resourceType": "Task"}) is None
