"""``Engine(freeze_every=n)`` freezes the GC's tracked objects every n documents and
changes nothing else (the replay outputs are the same)."""

from __future__ import annotations

import gc

from agents.bench.population import generate
from agents.engine import Engine
from pipeline.config import DEFAULT_RULES
from schemas.ingest import Limits
from schemas.outbound import DEFAULT_BASE, render


def _replay(engine: Engine, docs: list[bytes]) -> list[bytes]:
    return [render(o, DEFAULT_BASE) for raw in docs for o in engine.feed(raw).outputs]


def test_freeze_every_keeps_outputs() -> None:
    docs = list(generate(40, 5))
    plain = _replay(Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE), docs)
    before = gc.get_freeze_count()
    try:
        frozen = _replay(Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE, freeze_every=100), docs)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
    assert frozen == plain and plain


def test_no_freeze_by_default() -> None:
    gc.unfreeze()
    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
    _replay(engine, list(generate(10, 6)))
    assert gc.get_freeze_count() == 0
