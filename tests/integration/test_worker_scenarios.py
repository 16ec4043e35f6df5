"""Every scenario through a real worker on a real broker with ``carepath replay --broker``:
the same final Tasks, ServiceRequests and dead-letter counts as embedded replay. Rules file,
source and case-manager update lines as in the embedded tests (``tests.scenarios.runner``;
update lines are resolved by embedded replay of the lines before them).

Each kind of deployment runs the whole suite through one worker (issue 12):

- ``plaintext``: the defaults (one ``care.inbound`` partition);
- ``inbound-partitions``: ``CAREPATH_INBOUND_PARTITIONS`` > 1, documents keyed by patient
  (``replay --broker`` keys them as publishers must, README "Keying care.inbound"), and
  documents about several patients (group sessions, collection Bundles) among them;
- ``sasl_ssl``: a broker from ``carepath broker up --secure`` (SASL_SSL, SCRAM-SHA-512), the
  worker and the client with nothing but its ``client.env`` settings.

``replay --broker`` writes its files ``0600`` like embedded replay, and the worker's
``care.deadletter`` holds at most one record per document (both checked on every run).
The five scenarios with a rules file of their own start a worker each; in the two added
kinds they are ``slow`` (``make test-slow``, ``tests/integration/conftest.py``), keeping the
default suite under CI's 20 minutes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from agents import kafka_io
from agents.cli import main
from tests.integration.secure import SecureBroker
from tests.integration.worker import Worker, running_worker
from tests.scenarios.compare import DATA, problems, scenario_names
from tests.scenarios.runner import CASES, Scenario, resolve_updates, run_replay

pytestmark = pytest.mark.integration

KINDS = ("plaintext", "inbound-partitions", "sasl_ssl")
#: Partitions of ``care.inbound`` in the ``inbound-partitions`` kind: with 3, scenario 10's two
#: patients and o12's first two are on different partitions (test_the_partitions_split_groups)
INBOUND_PARTITIONS = 3


@dataclass(frozen=True)
class Deployment:
    kind: str
    bootstrap: str
    #: the ``CAREPATH_*`` settings of the worker and of the client besides topics and group
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module", params=KINDS)
def deployment(request: pytest.FixtureRequest) -> Deployment:
    kind = request.param
    if kind == "sasl_ssl":
        broker: SecureBroker = request.getfixturevalue("secure_kafka")
        address = broker.client["CAREPATH_BROKER"].removeprefix("kafka://")
        return Deployment(kind, address, dict(broker.client))
    bootstrap: str = request.getfixturevalue("kafka_bootstrap")
    if kind == "inbound-partitions":
        return Deployment(kind, bootstrap, {"CAREPATH_INBOUND_PARTITIONS": str(INBOUND_PARTITIONS)})
    return Deployment(kind, bootstrap)


@pytest.fixture(scope="module")
def worker(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with running_worker(deployment.bootstrap, tmp_path_factory.mktemp("w"), **deployment.env) as w:
        wanted = INBOUND_PARTITIONS if deployment.kind == "inbound-partitions" else 1
        inbound = kafka_io.end_offsets(w.wenv.target, w.wenv.topic("care.inbound"))
        assert len(inbound) == wanted
        yield w


def _broker_replay(
    worker: Worker, src: Path, until: str | None, tmp: Path, extra: list[str]
) -> tuple[list[bytes], int]:
    out, dlq = tmp / "k.out", tmp / "k.dlq"
    out.write_bytes(b"an earlier run\n")
    out.chmod(0o644)
    argv = [
        "replay",
        str(src),
        "--out",
        str(out),
        "--dead-letter",
        str(dlq),
        "--broker",
        f"kafka://{worker.wenv.bootstrap}",
        "--timeout",
        "90",
    ]
    if until:
        argv += ["--until", until]
    env = worker.wenv.env()
    umask = os.umask(0o022)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            if k.startswith("CAREPATH_"):
                mp.setenv(k, v)
        try:
            assert main(argv + extra) == 0, worker.tail()
        except TimeoutError as e:
            raise AssertionError(f"{e}\n--- worker log ---\n{worker.tail(200)}") from e
        finally:
            os.umask(umask)
    for path in (out, dlq):  # patient data: owner only, whatever the umask (issue 11)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path.name, path.stat().st_mode)
    n_dead = sum(1 for ln in dlq.read_bytes().splitlines() if ln.strip()) if dlq.exists() else 0
    return out.read_bytes().splitlines(), n_dead


@pytest.mark.parametrize("scn", CASES, ids=[s.name for s in CASES])
def test_kafka_equals_embedded(worker: Worker, scn: Scenario, tmp_path: Path) -> None:
    """Final state per resource id is identical in both modes, and matches the scenario's
    expected Tasks, ServiceRequests and dead-letter count (01 and 09 among them)."""
    src = resolve_updates(scn, tmp_path)
    extra = scn.rules_args() + scn.source_args()  # the client keys patients by the rules too
    embedded, _ = run_replay(src, scn.until, tmp_path, "e", extra)
    if scn.rules:  # a worker reads its rules at start: give this one its own worker
        rules = {**worker.wenv.extra, "CAREPATH_RULES": str(scn.rules)}
        with running_worker(worker.wenv.bootstrap, tmp_path, **rules) as w:
            kafka, n_dead = _broker_replay(w, src, scn.until, tmp_path, extra)
    else:
        w = worker
        kafka, n_dead = _broker_replay(worker, src, scn.until, tmp_path, extra)
    k, e = _final(kafka), _final(embedded.splitlines())
    diff = {i: (k.get(i), e.get(i)) for i in set(k) | set(e) if k.get(i) != e.get(i)}
    assert diff == {}, f"{sorted(diff)} differ\n--- worker log ---\n{w.tail()}"
    found = problems(scn.expected, kafka, n_dead)
    assert not found, "\n".join(found)
    _one_record_per_document(w)


def _one_record_per_document(worker: Worker) -> None:
    """On the worker's ``care.deadletter`` itself, not only in ``replay --broker``'s merged
    file: no two records name the same inbound document (issue 11; o40 has problems found
    by both agents)."""
    topic = worker.wenv.topic("care.deadletter")
    sources = [
        orjson.dumps(orjson.loads(rec.value)["source"], option=orjson.OPT_SORT_KEYS)
        for rec in kafka_io.read_topic(worker.wenv.target, topic)
    ]
    repeated = {s for s in sources if sources.count(s) > 1}
    assert not repeated, f"documents with more than one dead-letter record: {repeated}"


def _final(lines: list[bytes]) -> dict[tuple[str, str], object]:
    out: dict[tuple[str, str], object] = {}
    for ln in lines:
        if ln.strip():
            d = orjson.loads(ln)
            out[(d["resourceType"], d["id"])] = d
    return out


def test_scenario_names_present() -> None:
    assert len(scenario_names(DATA)) == 18


def test_the_partitions_split_groups() -> None:
    """The premise of the ``inbound-partitions`` kind: a group session (scenario 10) and a
    collection Bundle (o12) are keyed by their first patient, and the other patient's own
    documents are on another partition of ``care.inbound``."""
    parts = list(range(INBOUND_PARTITIONS))
    assert kafka_io.partition_of(b"s10a", parts) != kafka_io.partition_of(b"s10b", parts)
    assert kafka_io.partition_of(b"o12a", parts) != kafka_io.partition_of(b"o12b", parts)
