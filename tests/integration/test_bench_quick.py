"""``carepath bench`` end to end at toy sizes: the JSON contract and sane figures. Targets
are not asserted here (they live in the bench and docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from agents.bench import run_bench
from agents.bench.runner import Sizes

pytestmark = pytest.mark.integration

KEYS = {
    "replay_eps",
    "baseline_eps",
    "replay_ratio",
    "kafka_eps",
    "passthrough_eps",
    "kafka_ratio",
    "latency_p50_ms",
    "latency_p99_ms",
    "bytes_per_patient",
    "rss_mb",
    "n_documents",
    "n_events",
    "machine",
    "targets",
}


def _bench(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sizes: Sizes, **kw: object
) -> dict[str, object]:
    args = argparse.Namespace(
        quick=True, json=True, seed=3, broker=None, out=str(tmp_path), skip_kafka=False
    )
    args.sizes = sizes
    vars(args).update(kw)
    assert run_bench(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    fig = json.loads(last)
    assert isinstance(fig, dict)
    assert set(fig) >= KEYS
    return fig


def test_embedded_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fig = _bench(tmp_path, capsys, Sizes(300, 600, 0, (), 0, 0), skip_kafka=True)
    for key in ("replay_eps", "baseline_eps", "replay_ratio", "bytes_per_patient", "rss_mb"):
        assert isinstance(fig[key], float) and fig[key] > 0, key
    assert isinstance(fig["n_documents"], int) and fig["n_documents"] > 1000
    assert fig["n_events"] > 0 and fig["baseline_documents"] > 0
    for key in ("kafka_eps", "passthrough_eps", "kafka_ratio", "latency_p50_ms", "latency_p99_ms"):
        assert fig[key] is None, key
    assert not (tmp_path / "benchmarks-load.png").exists()


def test_with_kafka(
    kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = Sizes(100, 200, 600, (200.0,), 2.0, 200.0)
    fig = _bench(tmp_path, capsys, sizes, broker=f"kafka://{kafka_bootstrap}")
    for key in ("kafka_eps", "passthrough_eps", "kafka_ratio", "latency_p50_ms", "latency_p99_ms"):
        assert isinstance(fig[key], float) and fig[key] > 0, key
    # the Faust skeleton: the same burst and the latency load through two empty hops
    for key in (
        "faust_skeleton_eps",
        "faust_skeleton_ratio",
        "kafka_vs_skeleton",
        "faust_skeleton_cpu_us_per_doc",
        "faust_skeleton_latency_p50_ms",
        "faust_skeleton_latency_p99_ms",
    ):
        assert isinstance(fig[key], float) and fig[key] > 0, key
    assert fig["faust_skeleton_eps"] > fig["kafka_eps"] * 0.5  # same order: a floor, not noise
    assert fig["kafka_messages"] == 600
    assert fig["kafka_matches_embedded"] is True, (
        fig["kafka_outputs"],
        fig["embedded_outputs_same_docs"],
        fig["kafka_dead_letters"],
        fig["embedded_dead_letters_same_docs"],
    )
    assert fig["latency_samples"] > 0
    assert (tmp_path / "benchmarks-load.png").stat().st_size > 1000
