"""The carepath pytest plugin (entry point ``pytest11`` → ``carepath``).

- fixture ``carepath_replay``: ``carepath_replay(inputs, *, until=None, rules=None,
  source=None)`` replays in-process and returns a :class:`~agents.testing.ReplayResult`;
- option ``--carepath-scenarios DIR`` (repeatable) and ini ``carepath_scenarios``: every
  ``NAME.ndjson`` with a ``NAME.expected.json`` in DIR is a test item with the public scenario
  semantics; a failure shows expected and actual side by side. The option adds DIR to any
  run; the ini setting adds its directories to a run that names no paths (like
  ``testpaths``), and makes scenario files under collected paths items in every run;
- fixture ``carepath_kafka`` (marker ``carepath_kafka``, set on every test that uses it): the
  same call through a real broker and a ``carepath worker`` for the session
  (:mod:`agents.testing.kafka`).

Nothing heavy is imported until a fixture or a scenario runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agents.testing.kafka import KafkaHarness
    from agents.testing.result import ReplayResult

SCENARIO_DIRS = pytest.StashKey[frozenset[Path]]()
KAFKA_MARKER = "carepath_kafka"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("carepath", "carepath (FHIR care-transition replay)")
    group.addoption(
        "--carepath-scenarios",
        action="append",
        default=[],
        metavar="DIR",
        help="run every NAME.ndjson with a NAME.expected.json in DIR as a scenario test",
    )
    parser.addini(
        "carepath_scenarios",
        type="paths",
        default=[],
        help="directories of carepath scenarios (NAME.ndjson + NAME.expected.json)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{KAFKA_MARKER}: uses the carepath_kafka fixture (a real Kafka broker and a "
        "carepath worker); deselect with -m 'not carepath_kafka'",
    )
    invocation = config.invocation_params.dir
    given = [(invocation / d).resolve() for d in config.getoption("carepath_scenarios", None) or []]
    ini: list[Path] = [Path(p).resolve() for p in config.getini("carepath_scenarios")]
    for d in given:
        if not d.is_dir():
            raise pytest.UsageError(f"--carepath-scenarios {d}: not a directory")
    config.stash[SCENARIO_DIRS] = frozenset(given + ini)
    named_paths = config.args_source == pytest.Config.ArgsSource.ARGS
    for d in given + ([] if named_paths else [p for p in ini if p.is_dir()]):
        if not _covered(d, config.args, invocation):
            config.args.append(str(d))


def _covered(directory: Path, args: list[str], invocation: Path) -> bool:
    for arg in args:
        base = (invocation / arg.split("::", 1)[0]).resolve()
        if directory == base or base in directory.parents:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    dirs = parent.config.stash.get(SCENARIO_DIRS, frozenset())
    if file_path.suffix != ".ndjson" or file_path.parent.resolve() not in dirs:
        return None
    from agents.testing.scenarios import is_scenario

    if not is_scenario(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    """``NAME.ndjson``: one item, the scenario ``NAME``."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    """Replays the scenario embedded and compares with ``NAME.expected.json``."""

    def runtest(self) -> None:
        from agents.testing.scenarios import Scenario, check_scenario

        check_scenario(Scenario(self.path.parent, self.name))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        from agents.testing.scenarios import ScenarioMismatch

        if isinstance(excinfo.value, ScenarioMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"carepath scenario {self.name}"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "carepath_kafka" in getattr(item, "fixturenames", ()):
            item.add_marker(KAFKA_MARKER)


Replay = Callable[..., "ReplayResult"]


@pytest.fixture
def carepath_replay() -> Replay:
    """``carepath_replay(inputs, *, until=None, rules=None, source=None)``: replay paths or
    FHIR documents in-process and return a ``ReplayResult`` (``.outputs``, ``.tasks()``,
    ``.referrals()``, ``.dead_letters``, ``.ignored``)."""
    from agents.testing.run import replay

    return replay


@pytest.fixture(scope="session")
def carepath_kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of the broker ``carepath_kafka`` uses: ``CAREPATH_BROKER`` when set, else
    one started by carepath's launcher for the session. Override this fixture to share a
    broker the suite already has."""
    from agents.testing.kafka import broker

    with broker(tmp_path_factory.mktemp("carepath-broker")) as address:
        yield address


@pytest.fixture(scope="session")
def carepath_kafka_harness(
    carepath_kafka_broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaHarness]:
    """The session's ``carepath worker`` processes (one per rules file), stopped at the end."""
    from agents.testing.kafka import KafkaHarness

    harness = KafkaHarness(tmp_path_factory.mktemp("carepath-kafka"), carepath_kafka_broker)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def carepath_kafka(carepath_kafka_harness: KafkaHarness, tmp_path: Path) -> Replay:
    """``carepath_kafka(inputs, *, until=None, rules=None, source=None)``: the same replay
    through a real broker and a ``carepath worker`` (``carepath replay --broker``)."""

    def run(inputs: Any, **kwargs: Any) -> ReplayResult:
        return carepath_kafka_harness.replay(inputs, tmp_path, **kwargs)

    return run
