"""Every scenario through a real worker on a real broker with ``carepath replay --broker``:
the same final Tasks, ServiceRequests and dead-letter counts as embedded replay. Rules file,
source and case-manager update lines as in the embedded tests (``tests.scenarios.runner``;
update lines are resolved by embedded replay of the lines before them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agents.cli import main
from tests.integration.worker import Worker, running_worker
from tests.scenarios.compare import DATA, problems, scenario_names
from tests.scenarios.runner import CASES, Scenario, resolve_updates, run_replay

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with running_worker(kafka_bootstrap, tmp_path_factory.mktemp("w")) as w:
        yield w


def _broker_replay(
    worker: Worker, src: Path, until: str | None, tmp: Path, extra: list[str]
) -> tuple[list[bytes], int]:
    out, dlq = tmp / "k.out", tmp / "k.dlq"
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
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            if k.startswith("CAREPATH_"):
                mp.setenv(k, v)
        try:
            assert main(argv + extra) == 0, worker.tail()
        except TimeoutError as e:
            raise AssertionError(f"{e}\n--- worker log ---\n{worker.tail(200)}") from e
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
        with running_worker(worker.wenv.bootstrap, tmp_path, CAREPATH_RULES=str(scn.rules)) as w:
            kafka, n_dead = _broker_replay(w, src, scn.until, tmp_path, extra)
    else:
        w = worker
        kafka, n_dead = _broker_replay(worker, src, scn.until, tmp_path, extra)
    k, e = _final(kafka), _final(embedded.splitlines())
    diff = {i: (k.get(i), e.get(i)) for i in set(k) | set(e) if k.get(i) != e.get(i)}
    assert diff == {}, w.tail()
    found = problems(scn.expected, kafka, n_dead)
    assert not found, "\n".join(found)


def _final(lines: list[bytes]) -> dict[tuple[str, str], object]:
    out: dict[tuple[str, str], object] = {}
    for ln in lines:
        if ln.strip():
            d = orjson.loads(ln)
            out[(d["resourceType"], d["id"])] = d
    return out


def test_scenario_names_present() -> None:
    assert len(scenario_names(DATA)) == 18
