"""The external FHIR R4 corpus (shared/corpus/external: HL7 R4 core, US Core, Da Vinci,
SDOH/Gravity, Synthea) through ``carepath replay``, in two NDJSON files:

- *bundles whole*: every file as one line (re-serialized compactly, as NDJSON requires);
- *entries*: every entry resource of every Bundle on its own line, with references to
  another entry's ``fullUrl`` rewritten to ``Type/id`` (what a FHIR server does when it
  stores a transaction, and how a bulk export then reads).

Nothing crashes; the replay summary line is checked against a document-by-document count;
every dead letter is listed in :data:`JUSTIFIED` with its reason; the recognizable
resources (an independent, simpler scan) are all recognized, in every code-system and
value variant the data uses. The corpus is general-hospital data (Synthea, US Core): no
stay has a behavioral-health principal diagnosis in ICD-10-CM, so with the default scope
every stay is out of scope and nothing is emitted (rules.md §2), and with ``[scope] stays
= "all"`` (a BH-only feed) the same discharges and scores drive the rules. Builds on
``tests/unit/test_ingest_corpus.py`` (ingest alone).
"""

from __future__ import annotations

import re
from collections import Counter
from fnmatch import fnmatch
from typing import Any

import orjson
import pytest

from pipeline.events import PatientDischarged
from schemas.ingest import ingest
from tests.hostile.corpus_io import Replayed, Stream, replay
from tests.unit.test_ingest_corpus import CORPUS

pytestmark = pytest.mark.skipif(CORPUS is None, reason="shared/corpus/external not found")
SYNTHEA = "Exafluence-Inc+exf-qicore-synthea-dataset"
#: (file name pattern, diagnostics start, why it is right to dead-letter it)
JUSTIFIED: list[tuple[str, str, str]] = [
    (
        f"{SYNTHEA}/*/metadata/*.json",
        "no resourceType: ",
        "Synthea run metadata: JSON, but not a FHIR resource",
    ),
    *[
        (
            f"{SYNTHEA}/{name}.json",
            "the document is ",
            "a Synthea Bundle over the 1 MiB limit (contract §6); its entries replay one by one",
        )
        for name in (
            "synthea_data_california/fhir/hospitalInformation1753719443038",
            "synthea_data_new_york/fhir/4c40ad08-4a98-4395-bcb3-5c741e64efa9",
            "synthea_data_new_york/fhir/4d9dd02d-a8d6-b435-83c2-13cbdac86f9e",
            "synthea_data_new_york/fhir/b5bd0b1a-aa42-87a3-8414-6725f8a520ba",
            "synthea_data_new_york/fhir/d69f0917-eea1-af79-624f-1bd8b274b255",
            "synthea_data_new_york/fhir/e716e846-ce77-8b00-d760-24883ef00016",
        )
    ],
]
UNTIL = "2027-01-01T00:00:00Z"
INSTRUMENTS = {"44261-6", "44260-8", "70274-6", "75626-2", "93374-7"}
INPATIENT = {"IMP", "ACUTE", "NONAC"}
Json = dict[str, Any]


def _server_refs(value: Any, urls: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: urls.get(v, v) if k == "reference" and isinstance(v, str) else _server_refs(v, urls)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_server_refs(v, urls) for v in value]
    return value


def _entries(bundle: Json) -> list[Json]:
    entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
    urls = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in entries
        if "fullUrl" in e and "id" in e["resource"]
    }
    return [_server_refs(e["resource"], urls) for e in entries]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], Stream, Stream]:
    """File name per whole line, the whole documents, the unpacked entries."""
    assert CORPUS is not None
    names, whole, entries = [], [], []
    for path in sorted(CORPUS.rglob("*.json")) + sorted(CORPUS.rglob("*.ndjson")):
        data = path.read_bytes()
        docs = (
            [orjson.loads(ln) for ln in data.splitlines() if ln.strip()]
            if path.suffix == ".ndjson"
            else [orjson.loads(data)]
        )
        for doc in docs:
            names.append(str(path.relative_to(CORPUS)))
            whole.append(orjson.dumps(doc))
            if doc.get("resourceType") == "Bundle":
                entries += [orjson.dumps(r) for r in _entries(doc)]
    return names, Stream(whole, [None] * len(whole)), Stream(entries, [None] * len(entries))


@pytest.fixture(scope="module")
def replays(
    corpus: tuple[list[str], Stream, Stream], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Replayed]:
    tmp = tmp_path_factory.mktemp("real-world")
    _, whole, entries = corpus
    every_stay = tmp / "all-stays.rules.toml"
    every_stay.write_text('[scope]\nstays = "all"\n')
    return {
        "whole": replay(whole, tmp, "whole", UNTIL),
        "entries": replay(entries, tmp, "entries", UNTIL),
        "entries, every stay": replay(
            entries, tmp, "entries-all", UNTIL, ("--rules", str(every_stay))
        ),
    }


def summary(text: str) -> dict[str, int]:
    m = re.search(
        r"replay: (\d+) documents: (\d+) recognized, (\d+) ignored, (\d+) "
        r"dead-lettered; events: (.*?); ignored resources (\d+), events (\d+); "
        r"duplicates (\d+); dead letters (\d+); outputs (\d+)",
        text,
    )
    assert m is not None, text
    counts = dict(
        zip(
            ["documents", "recognized", "ignored", "dead-lettered"],
            map(int, m.groups()[:4]),
            strict=True,
        )
    )
    for part in m[5].split(", "):
        kind, n = part.rsplit(" ", 1)
        counts[kind] = int(n)
    counts["ignored events"] = int(m[7])
    counts["dead letters"] = int(m[9])
    counts["outputs"] = int(m[10])
    return counts


def by_document(stream: Stream) -> Counter[str]:
    """The summary's counts, worked out again one document at a time with ingest alone."""
    counts: Counter[str] = Counter(documents=len(stream.lines))
    for raw in stream.lines:
        out = ingest(raw)
        counts["dead-lettered" if out.errors else "recognized" if out.events else "ignored"] += 1
        counts.update(type(e).__name__ for e in out.events)
    return counts


def test_bundles_whole(
    corpus: tuple[list[str], Stream, Stream], replays: dict[str, Replayed]
) -> None:
    names, whole, _ = corpus
    got = replays["whole"]
    print(f"\nbundles whole: {got.summary.strip()}")
    unjustified = []
    for rec in got.dead:
        name = names[rec["source"]["line"] - 1]
        diagnostics = rec["error"]["issue"][0]["diagnostics"]
        if not any(
            fnmatch(name, pat) and diagnostics.startswith(start) for pat, start, _ in JUSTIFIED
        ):
            unjustified.append((name, diagnostics))
    assert unjustified == []
    assert len(got.dead) == 8  # every JUSTIFIED entry is used: 2 metadata files, 6 Bundles
    assert {names[r["source"]["line"] - 1] for r in got.dead} == {
        n for n in names if any(fnmatch(n, p) for p, _, _ in JUSTIFIED)
    }
    s, again = summary(got.summary), by_document(whole)
    assert (s["documents"], s["recognized"], s["ignored"], s["dead-lettered"]) == (
        again["documents"],
        again["recognized"],
        again["ignored"],
        again["dead-lettered"],
    )
    assert (s["admission"], s["discharge"], s["assessment"]) == (
        again["PatientAdmitted"],
        again["PatientDischarged"],
        again["AssessmentRecorded"],
    )
    assert (s["documents"], s["dead letters"], s["task-update"]) == (141, 8, 14)


def test_entries_one_per_line(
    corpus: tuple[list[str], Stream, Stream], replays: dict[str, Replayed]
) -> None:
    _, _, entries = corpus
    got = replays["entries"]
    print(f"\nentries: {got.summary.strip()}")
    assert got.dead == []
    s, again = summary(got.summary), by_document(entries)
    assert (s["documents"], s["recognized"], s["ignored"]) == (
        again["documents"],
        again["recognized"],
        again["ignored"],
    )
    assert s["dead-lettered"] == 0 and s["documents"] > 12_000
    # rules.md §2: no stay here is behavioral health, so each is passed over by the rules
    # and the assessments are only recorded (no patient is in BH care): nothing comes out
    stays = again["PatientAdmitted"] + again["PatientDischarged"] + again["EdVisited"]
    assert stays >= 70 and s["ignored events"] == stays
    assert got.out == b"" and s["outputs"] == 0
    # the same feed declared behavioral-health only: real discharges and scores drive the rules
    every = replays["entries, every stay"]
    print(f"entries, every stay in scope: {every.summary.strip()}")
    assert every.dead == []
    # passed over: only a Da Vinci example Encounter (sent twice) older than the retention window
    assert summary(every.summary)["ignored events"] == 2
    assert every.out.count(b"\n") > 100


def _recognizable(res: Json) -> str | None:
    """The kind a resource must yield, by a deliberately simpler reading than ingest's."""
    rtype, status = res.get("resourceType"), res.get("status")
    if rtype == "Observation" and status in ("final", "amended", "corrected"):
        codes = {c.get("code") for c in res.get("code", {}).get("coding", [])}
        has_value = any(k.startswith("value") for k in res)
        return "assessment" if codes & INSTRUMENTS and has_value else None
    cls = res.get("class", {}).get("code") if rtype == "Encounter" else None
    if cls in INPATIENT and status == "finished" and res.get("period", {}).get("end"):
        return "discharge"
    if (
        cls in INPATIENT
        and status in ("in-progress", "arrived")
        and res.get("period", {}).get("start")
    ):
        return "admission"
    return None


def test_every_recognizable_entry_is_recognized(
    corpus: tuple[list[str], Stream, Stream], replays: dict[str, Replayed]
) -> None:
    _, _, entries = corpus
    expected = Counter(k for raw in entries.lines if (k := _recognizable(orjson.loads(raw))))
    s = summary(replays["entries"].summary)
    print(f"\nrecognizable entries: {dict(expected)}")
    assert {k: s.get(k, 0) for k in expected} == dict(expected)
    assert expected["assessment"] >= 90 and expected["discharge"] >= 40


def test_code_system_variants_in_the_data(corpus: tuple[list[str], Stream, Stream]) -> None:
    """Discharge dispositions as NUBC ``1``/``01`` in three systems and scores as
    ``valueQuantity`` (Synthea, UCUM ``{score}`` or ``1``) or ``valueString`` (US Core)."""
    _, whole, entries = corpus
    dispositions: Counter[tuple[str, str | None, str | None]] = Counter()
    forms: Counter[str] = Counter()
    for raw in whole.lines + entries.lines:
        doc = orjson.loads(raw)
        for event in ingest(raw).events:
            if isinstance(event, PatientDischarged):
                enc = (
                    doc
                    if doc["resourceType"] == "Encounter"
                    else next(
                        e["resource"] for e in doc["entry"] if e["resource"]["id"] == event.ref[10:]
                    )
                )
                system = next(
                    (
                        c.get("system")
                        for c in enc.get("hospitalization", {})
                        .get("dischargeDisposition", {})
                        .get("coding", [])
                    ),
                    None,
                )
                dispositions[(event.disposition.value, system, event.disposition_code)] += 1
        if doc.get("resourceType") == "Observation" and _recognizable(doc):
            forms.update(k for k in doc if k.startswith("value"))
    print(f"\ndispositions {dict(dispositions)}\nvalue forms {dict(forms)}")
    assert dispositions[("community", "http://terminology.hl7.org/CodeSystem/nubc-UB92", "1")]
    assert dispositions[("community", "http://www.nubc.org/patient-discharge", "01")] >= 14
    assert {d for d, _, _ in dispositions} == {"community"}
    assert forms["valueQuantity"] >= 90 and forms["valueString"] >= 1
