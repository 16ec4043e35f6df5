"""The hostile input corpus through ``carepath replay`` (contract §6): every invalid input
becomes exactly one dead letter naming the field and the problem, and the valid documents
interleaved with them produce exactly what they produce alone.

Corpus: ``data/hand-*.ndjson`` (written by hand, committed) and the groups of
``make_corpus`` (generated into a temporary directory once per session). The same
streams go through a real worker in ``test_hostile_kafka.py``.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.engine import Engine
from pipeline.config import DEFAULT_RULES
from pipeline.outputs import TaskRecord
from schemas.deadletter import fitted
from schemas.ingest import DEFAULT_BASE, Limits
from tests.hostile.cases_tasks import setup_events, task_update
from tests.hostile.corpus_io import Replayed, Source, Stream, problems, replay, valid_only


def by_line(dead: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rec in dead:
        found[rec["source"]["line"]].append(rec)
    return found


def test_corpus_size(hand: list[Source], generated: list[Source], mixed: Stream) -> None:
    n_hand, n_gen = sum(s.invalid for s in hand), sum(s.invalid for s in generated)
    print(
        f"\nhostile corpus: {n_hand} hand-written, {n_gen} generated invalid inputs; "
        f"{len(mixed.lines) - mixed.invalid} valid documents interleaved"
    )
    assert n_hand >= 60 and n_gen >= 100 and mixed.invalid == n_hand + n_gen
    names = [e["case"] for e in mixed.expected if e]
    assert len(names) == len(set(names))


def test_every_invalid_input_is_one_precise_dead_letter(mixed: Stream, replayed: Replayed) -> None:
    lines = by_line(replayed.dead)
    assert set(lines) <= set(range(1, len(mixed.lines) + 1))
    found = [
        p
        for n, expected in enumerate(mixed.expected, 1)
        for p in problems(expected, lines.get(n, []))
    ]
    assert found == [], "\n".join(found[:40])
    assert len(replayed.dead) == mixed.dead_letters


def test_dead_letter_records_are_complete(mixed: Stream, replayed: Replayed) -> None:
    for rec in replayed.dead:
        assert set(rec) == {
            "source",
            "received_at",
            "error",
            "raw",
            "raw_encoding",
            "raw_truncated",
        }
        assert rec["error"]["issue"][0]["severity"] == "error"
        assert rec["error"]["issue"][0]["code"] in {
            "structure",
            "required",
            "value",
            "too-long",
            "too-costly",
            "business-rule",
        }
        assert rec["raw_encoding"] in {"utf-8", "base64"}
        assert rec["raw_truncated"] == (len(mixed.lines[rec["source"]["line"] - 1]) > 1 << 20)


def test_valid_documents_give_what_they_give_alone(
    mixed: Stream, replayed: Replayed, tmp_path: Path
) -> None:
    alone = replay(valid_only(mixed), tmp_path, "valid")
    assert alone.dead == []
    assert replayed.out.count(b"\n") > 50  # the valid documents do produce outputs
    assert replayed.out == alone.out  # byte-identical: same outputs, same order


def test_summary_line_counts_documents_and_dead_letters(mixed: Stream, replayed: Replayed) -> None:
    m = re.search(
        r"replay: (\d+) documents: (\d+) recognized, (\d+) ignored, (\d+) dead-lettered; .*"
        r"; dead letters (\d+);",
        replayed.summary,
    )
    assert m is not None, replayed.summary
    documents, recognized, ignored, dead_lettered, dead_letters = map(int, m.groups())
    assert documents == len(mixed.lines) == recognized + ignored + dead_lettered
    assert dead_lettered == mixed.invalid and dead_letters == mixed.dead_letters


@pytest.mark.parametrize("raw", [b"", b" ", b"\t\r\n", b"\xef\xbb\xbf", b"\x00"])
def test_empty_documents_reach_the_engine_as_one_dead_letter(raw: bytes) -> None:
    """Replay skips blank lines (contract §9), but a Kafka message can be empty."""
    result = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE).feed(raw)
    assert result.outputs == []
    [err] = result.errors
    assert err.diagnostics.startswith("not JSON: ")


def test_every_record_fits_one_kafka_message(mixed: Stream, replayed: Replayed) -> None:
    """On Kafka a record is cut to fit the producer's request limit (schemas.deadletter.fitted);
    what is kept of the raw text is a prefix of what the file record holds."""

    def raw_of(rec: dict[str, Any]) -> bytes:
        text = rec["raw"]
        return base64.b64decode(text) if rec["raw_encoding"] == "base64" else text.encode()

    for rec in replayed.dead:
        raw = mixed.lines[rec["source"]["line"] - 1]
        whole = raw  # a record carries the document as it came (issue 11)
        assert raw.startswith(raw_of(rec))
        data = fitted(dict(rec), whole, 900_000)
        fit = orjson.loads(data)
        assert len(data) <= 900_000
        assert raw_of(rec).startswith(raw_of(fit)) or raw.startswith(raw_of(fit))
        assert fit["raw_truncated"] == (raw_of(fit) != whole)


def test_refused_task_update_with_a_later_time_changes_nothing() -> None:
    """A dead-lettered update dated months ahead (a typo in the year, say) does not close
    the patient's follow-up as missed nor reorder what the valid documents produce (found
    by this corpus; fixed in the core, pipeline/decide.py)."""

    def outputs(refused: bool) -> list[tuple[str, str]]:
        engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
        found = [o for raw in setup_events() for o in engine.feed(raw).outputs]
        referral = next(o.id for o in found if isinstance(o, TaskRecord) and o.code == "fulfill")
        if refused:
            bad = orjson.loads(task_update(referral, "completed", 0))
            result = engine.feed(orjson.dumps({**bad, "lastModified": "2026-08-01T00:00:00Z"}))
            assert len(result.errors) == 1
            found += result.outputs
        found += engine.feed(task_update(referral, "accepted", 30)).outputs
        return [(o.rule, o.status) for o in found]

    assert outputs(refused=True) == outputs(refused=False)
