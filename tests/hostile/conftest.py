"""Session fixtures of the hostile corpus: the sources, the mixed stream, its replay."""

from __future__ import annotations

import pytest

from tests.hostile import make_corpus
from tests.hostile.corpus_io import (
    DATA,
    Replayed,
    Source,
    Stream,
    interleave,
    load,
    replay,
    scenario_source,
)


@pytest.fixture(scope="session")
def hand() -> list[Source]:
    return load(DATA)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Source]:
    directory = tmp_path_factory.mktemp("hostile-corpus")
    make_corpus.write(directory)
    return load(directory)


@pytest.fixture(scope="session")
def mixed(
    hand: list[Source], generated: list[Source], tmp_path_factory: pytest.TempPathFactory
) -> Stream:
    scenario = scenario_source(tmp_path_factory.mktemp("hostile-scenarios"))
    return interleave([scenario, *hand, *generated])


@pytest.fixture(scope="session")
def replayed(mixed: Stream, tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    return replay(mixed, tmp_path_factory.mktemp("hostile-replay"), "mixed")
