"""Every scenario through a real worker on a real broker with ``carepath replay --broker``:
the same final Tasks, ServiceRequests and dead-letter counts as embedded replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agents.cli import main
from tests.integration.worker import Worker, running_worker
from tests.scenarios.compare import expected_of, problems, scenario_names
from tests.scenarios.test_scenarios import CASES, run_replay

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
    n_dead = sum(1 for ln in dlq.read_bytes().splitlines() if ln.strip())
    return out.read_bytes().splitlines(), n_dead


@pytest.mark.parametrize(("directory", "name"), CASES, ids=[n for _, n in CASES])
def test_kafka_equals_embedded(worker: Worker, directory: Path, name: str, tmp_path: Path) -> None:
    """Final state per resource id is identical in both modes, and matches the scenario's
    expected Tasks, ServiceRequests and dead-letter count (01 and 09 among them)."""
    exp = expected_of(name, directory)
    src = directory / f"{name}.ndjson"
    rules = directory / f"{name}.rules.toml"
    if rules.exists():  # a worker reads its rules at start: give this one its own worker
        embedded, _ = run_replay(src, exp.get("until"), tmp_path, "e", ["--rules", str(rules)])
        with running_worker(worker.wenv.bootstrap, tmp_path, CAREPATH_RULES=str(rules)) as w:
            kafka, n_dead = _broker_replay(w, src, exp.get("until"), tmp_path, [])
    else:
        embedded, _ = run_replay(src, exp.get("until"), tmp_path, "e")
        kafka, n_dead = _broker_replay(worker, src, exp.get("until"), tmp_path, [])
    k, e = _final(kafka), _final(embedded.splitlines())
    diff = {i: (k.get(i), e.get(i)) for i in set(k) | set(e) if k.get(i) != e.get(i)}
    assert diff == {}, worker.tail()
    assert problems(exp, kafka, n_dead) == []


def _final(lines: list[bytes]) -> dict[tuple[str, str], object]:
    out: dict[tuple[str, str], object] = {}
    for ln in lines:
        if ln.strip():
            d = orjson.loads(ln)
            out[(d["resourceType"], d["id"])] = d
    return out


def test_scenario_names_present() -> None:
    assert len(scenario_names()) == 10
