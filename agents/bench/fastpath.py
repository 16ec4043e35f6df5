"""Faust fast path A/B (issue 12): the worker with each fast-path setting
(``agents/faust_tuning.py``) against the plain worker, on one broker, in one run.

Every variant is a fresh ``carepath worker`` (``WorkerRun``: its own topics and group) fed
the same documents: a warm-up, a burst published as fast as possible (documents/s and the
worker's CPU µs a document, the steadiest figure on a shared machine), then the latency
load (paced, LogAppendTime on both topics, latency ``care.inbound`` → Task as in the main
bench). Variants run in rounds, each round in another order, so a drift of the machine
does not favour one of them; the figures are the medians over rounds and their ratios to
the plain worker's medians.

``carepath bench --faust-ab`` runs it after the main Kafka figures on the same broker;
``python -m agents.bench.fastpath [--broker kafka://HOST:PORT] [--rounds 2]`` alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agents.bench.kafka_bench import (
    Progress,
    Target,
    WorkerRun,
    latencies,
    read_all,
    summarize,
)

PLAIN = {
    "CAREPATH_FAUST_CYTHON": "false",
    "CAREPATH_FAUST_MONITOR": "default",
    "CAREPATH_EVENT_LOOP": "asyncio",
}
#: Each variant is the plain worker with these settings changed.
VARIANTS: dict[str, dict[str, str]] = {
    "plain": {},
    "cython": {"CAREPATH_FAUST_CYTHON": "true"},
    "monitor off": {"CAREPATH_FAUST_MONITOR": "off"},
    "uvloop": {"CAREPATH_EVENT_LOOP": "uvloop"},
    "all three": {
        "CAREPATH_FAUST_CYTHON": "true",
        "CAREPATH_FAUST_MONITOR": "off",
        "CAREPATH_EVENT_LOOP": "uvloop",
    },
}


def measure(
    bootstrap: Target,
    settings: dict[str, str],
    docs: tuple[list[bytes], list[bytes], list[bytes]],
    rate: float,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """One variant: burst figures and latency at ``rate``."""
    warm, burst, paced = docs
    worker = WorkerRun(bootstrap, workdir, progress, settings=PLAIN | settings)
    try:
        worker.warm_up(warm)
        seconds, cpu = worker.burst(burst)
        point = worker.paced(paced, rate)
        inbound = read_all(bootstrap, worker.inbound)
        summarize([point], latencies(inbound, read_all(bootstrap, worker.tasks)))
    finally:
        worker.close()
    return {
        "burst_eps": len(burst) / seconds,
        "cpu_us_per_doc": 1e6 * cpu / len(burst),
        "achieved_eps": point.achieved_eps,
        "p50_ms": point.p50_ms,
        "p99_ms": point.p99_ms,
        "samples": point.samples,
    }


def _median(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return round(float(statistics.median(known)), 1) if known else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def run_ab(
    bootstrap: Target,
    docs: Iterator[bytes],
    n_burst: int,
    rate: float,
    seconds: float,
    rounds: int,
    workdir: Path,
    progress: Progress,
    variants: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Every variant ``rounds`` times over the same documents; medians and ratios to plain."""
    variants = variants or VARIANTS
    warm = [next(docs) for _ in range(200)]
    burst = [next(docs) for _ in range(n_burst)]
    paced = [next(docs) for _ in range(int(rate * seconds))]
    names = list(variants)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            progress(f"faust A/B round {r + 1}/{rounds}: {name}")
            fig = measure(bootstrap, variants[name], (warm, burst, paced), rate, workdir, progress)
            runs[name].append(fig)
            progress(
                f"faust A/B {name}: {fig['cpu_us_per_doc']:,.0f} µs CPU a document, "
                f"{fig['burst_eps']:,.0f} documents/s; at {rate:,.0f}/s p99 {fig['p99_ms']} ms"
            )
    keys = ("cpu_us_per_doc", "burst_eps", "achieved_eps", "p50_ms", "p99_ms")
    medians = {name: {k: _median([f[k] for f in runs[name]]) for k in keys} for name in names}
    base = medians[names[0]]
    out: dict[str, Any] = {
        "rounds": rounds,
        "burst_documents": n_burst,
        "latency_load_eps": rate,
        "latency_seconds": seconds,
        "variants": {},
    }
    for name in names:
        m = medians[name]
        out["variants"][name] = {
            "settings": PLAIN | variants[name],
            **m,
            "cpu_ratio": _ratio(m["cpu_us_per_doc"], base["cpu_us_per_doc"]),
            "burst_ratio": _ratio(m["burst_eps"], base["burst_eps"]),
            "p99_ratio": _ratio(m["p99_ms"], base["p99_ms"]),
            "runs": runs[name],
        }
    return out


def table(ab: dict[str, Any]) -> str:
    """A Markdown table of the A/B (docs/benchmarks.md)."""
    rate = f"{ab['latency_load_eps']:,.0f}/s"
    lines = [
        f"| variant | CPU µs/doc | vs plain | burst docs/s | vs plain | at {rate}: achieved "
        "| p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, v in ab["variants"].items():

        def fmt(x: Any, spec: str = ",.0f") -> str:
            return "-" if x is None else format(x, spec)

        lines.append(
            f"| {name} | {fmt(v['cpu_us_per_doc'])} | {fmt(v['cpu_ratio'], '.3f')} "
            f"| {fmt(v['burst_eps'])} | {fmt(v['burst_ratio'], '.3f')} "
            f"| {fmt(v['achieved_eps'])} | {fmt(v['p50_ms'])} | {fmt(v['p99_ms'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import logging
    import tempfile

    import orjson

    from agents.bench.population import generate
    from agents.bench.runner import Progress as Stderr

    ap = argparse.ArgumentParser(prog="python -m agents.bench.fastpath")
    ap.add_argument("--broker", help="kafka://HOST:PORT (default: start one)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--burst", type=int, default=4000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--variants", help="comma-separated names (default: all)")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    progress = Stderr()
    chosen = {n: VARIANTS[n] for n in a.variants.split(",")} if a.variants else VARIANTS
    docs = generate((200 + a.burst + int(a.rate * a.seconds)) // 20 + 500, 11, prefix="ab-")
    with tempfile.TemporaryDirectory(prefix="carepath-ab-") as tmp:
        work = Path(tmp)
        bootstrap: Target
        if a.broker:  # the settings' TLS and SASL reach every client and child process
            from agents.security import connection
            from agents.settings import Settings

            bootstrap = connection(Settings(broker=a.broker.split(";")[0]))
        else:
            from agents.broker import broker_up, kafka_version

            bootstrap = broker_up(work / "broker", kafka_version())
        try:
            ab = run_ab(
                bootstrap, docs, a.burst, a.rate, a.seconds, a.rounds, work, progress, chosen
            )
        finally:
            if not a.broker:
                from agents.broker import broker_down

                broker_down(work / "broker")
    print(table(ab))
    if a.json:
        Path(a.json).write_bytes(orjson.dumps(ab, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
