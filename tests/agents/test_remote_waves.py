"""``replay --broker`` on a partitioned ``care.inbound`` (issue 12), without a broker: the
documents of every scenario, keyed and read as the command keys and reads them, are cut into
waves in which each patient's documents share one partition, so a patient's documents are
ingested in file order; with one partition nothing waits. The worker test of the same claim
is ``tests/integration/test_worker_scenarios.py`` (kind ``inbound-partitions``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents import kafka_io
from agents.remote import Record, _first_patient, _waves
from agents.replay import read_lines
from pipeline.config import DEFAULT_RULES
from schemas.ingest import Limits
from tests.scenarios.runner import CASES, Scenario

LIMITS = Limits(max_bytes=1 << 20, max_depth=64)
BASE = "http://carepath.example.org/fhir"


def _documents(scn: Scenario) -> tuple[list[Record], list[set[bytes]]]:
    """The records and patients ``replay --broker`` reads (default rules, as the scenario's
    source; a scenario's own rules do not change who a document concerns here)."""
    until = datetime.fromisoformat(scn.until) if scn.until else datetime.now(UTC)
    records: list[Record] = []
    concerned: list[set[bytes]] = []
    for _, _, raw in read_lines([str(scn.ndjson)], LIMITS.max_bytes):
        key, concerns = _first_patient(raw, LIMITS, BASE, DEFAULT_RULES, scn.source, until)
        records.append((key, raw, []))
        concerned.append(concerns)
    return records, concerned


@pytest.mark.parametrize("scn", CASES, ids=[s.name for s in CASES])
@pytest.mark.parametrize("n", [1, 3, 4])
def test_each_wave_keeps_a_patient_on_one_partition(scn: Scenario, n: int) -> None:
    records, concerned = _documents(scn)
    parts = list(range(n))
    waves = _waves(records, concerned, parts)
    assert [i for wave in waves for i in wave] == list(range(len(records)))  # file order
    for wave in waves:
        where: dict[bytes, set[int]] = {}
        for i in wave:
            key = records[i][0]
            if key is not None:
                for patient in concerned[i]:
                    where.setdefault(patient, set()).add(kafka_io.partition_of(key, parts))
        assert all(len(p) == 1 for p in where.values()), where
    if n == 1 or all(len(c) < 2 for c in concerned):
        assert len(waves) == 1  # nothing to wait for


def test_a_group_document_waits_for_its_other_patients() -> None:
    """o12: patient o12b's ED visit (partition 1 of 3), then a collection Bundle keyed by
    o12a (partition 2) with o12b's screen in it, then a group session keyed by o12a: the
    Bundle waits until the ED visit is ingested; the session goes with the Bundle."""
    scn = next(s for s in CASES if s.name.startswith("o12-"))
    records, concerned = _documents(scn)
    assert [len(c) for c in concerned] == [1, 2, 3]
    assert _waves(records, concerned, [0, 1, 2]) == [[0], [1, 2]]
