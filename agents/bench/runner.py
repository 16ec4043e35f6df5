"""``carepath bench``: run the embedded and Kafka benchmarks, print the figures, draw the plot.

Every figure is a ratio to a baseline measured in the same run (same process or same
broker), plus the absolute number, because the machine is shared. Progress goes to
stderr; with ``--json`` the last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agents.bench.embedded import EmbeddedResult, replay, state_sizes


@dataclass(frozen=True)
class Sizes:
    patients: int  # embedded replay and memory
    baseline_docs: int  # fhir.resources sample (evenly spaced over the replayed documents)
    burst: int  # documents in the Kafka throughput runs
    loads: tuple[float, ...]  # offered loads for the latency runs (documents/s)
    seconds_per_load: float
    latency_load: float  # the load the latency_p50/p99 figures are read at


DOCS_PER_PATIENT = 32  # what the population generator averages
QUICK = Sizes(5_000, 6_000, 6_000, (250, 500, 1000), 4.0, 1000)
FULL = Sizes(100_000, 40_000, 40_000, (250, 500, 750, 1000, 1500, 2000), 10.0, 1000)
TARGETS = {
    "replay_ratio": (">=", 10.0),
    "replay_eps": (">=", 30_000.0),
    "kafka_ratio": (">=", 0.5),
    "latency_p99_ms": ("<=", 50.0),
    "bytes_per_patient": ("<=", 2048.0),
    "web_page_p95_ms": ("<=", 200.0),  # with 100,000 open Tasks (not --quick)
}


class Progress:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _embedded(sizes: Sizes, seed: int, progress: Progress) -> EmbeddedResult:
    progress(
        f"replay: {sizes.patients:,} patients (generated in chunks, generation untimed), "
        f"interleaved with the fhir.resources baseline on ~{sizes.baseline_docs:,} of them"
    )
    # about 32 documents a patient: space the baseline sample evenly over the whole stream
    every = max(1, sizes.patients * DOCS_PER_PATIENT // sizes.baseline_docs)
    res, engine = replay(sizes.patients, seed, progress, sample_every=every)
    state_sizes(engine, res)
    del engine
    progress(
        f"replay: {res.replay_eps:,.0f} documents/s ({res.n_documents:,} documents, "
        f"{res.n_events:,} events); baseline {res.baseline_eps:,.0f} documents/s; "
        f"state {res.bytes_per_patient:,.0f} B/patient; RSS {res.rss_mb:,.0f} MB"
    )
    return res


def _kafka(args: argparse.Namespace, sizes: Sizes, progress: Progress) -> dict[str, Any]:
    from agents.bench.kafka_bench import run_kafka
    from agents.bench.population import generate

    with tempfile.TemporaryDirectory(prefix="carepath-bench-") as tmp:
        work = Path(tmp)
        broker_dir = work / "broker"
        bootstrap: Any
        if args.broker:  # the settings' TLS and SASL reach every client and child process
            from agents.security import connection
            from agents.settings import Settings

            bootstrap = connection(Settings(broker=args.broker.split(";")[0]))
        else:
            from agents.broker import broker_up, kafka_version

            progress("broker: starting a local Kafka broker")
            bootstrap = broker_up(broker_dir, kafka_version())
            progress(f"broker: {bootstrap}")
        try:
            # a separate population (other seed and keys) so the Kafka runs start fresh
            needed = 200 + sizes.burst + int(sum(sizes.loads) * sizes.seconds_per_load)
            docs = generate(needed // 20 + 500, args.seed + 1, prefix=f"k{args.seed}-")
            k = run_kafka(
                bootstrap,
                docs,
                sizes.burst,
                list(sizes.loads),
                sizes.seconds_per_load,
                work,
                progress,
                latency_load=sizes.latency_load,
            )
            faust_ab = _faust_ab(args, sizes, bootstrap, work, progress)
            from agents.settings import Settings
            from agents.web.bench import ingest_figures  # carepath web: HTTP ingest

            progress("web: HTTP ingest against publishing straight to Kafka")
            where = args.broker.split(";")[0] if args.broker else f"kafka://{bootstrap}"
            sample = list(generate(20 if args.quick else 100, args.seed + 2, prefix="w-"))
            web_ingest = ingest_figures(Settings(broker=where), sample)
        finally:
            if not args.broker:
                from agents.broker import broker_down

                broker_down(broker_dir)
    loads = [
        {
            "offered_eps": p.offered_eps,
            "achieved_eps": round(p.achieved_eps, 1),
            "published": p.published,
            "samples": p.samples,
            "p50_ms": p.p50_ms,
            "p99_ms": p.p99_ms,
            "max_ms": p.max_ms,
        }
        for p in k.loads
    ]
    at = next((p for p in k.loads if p.offered_eps == sizes.latency_load), None)
    sk = k.skeleton_load
    return {
        "kafka_eps": round(k.kafka_eps, 1),
        "passthrough_eps": round(k.passthrough_eps, 1),
        "kafka_ratio": _ratio(k.kafka_eps, k.passthrough_eps),
        # the floor Faust sets: the worker's two hops with nothing in them
        "faust_skeleton_eps": round(k.skeleton_eps, 1),
        "faust_skeleton_ratio": _ratio(k.skeleton_eps, k.passthrough_eps),
        "kafka_vs_skeleton": _ratio(k.kafka_eps, k.skeleton_eps),
        "faust_skeleton_cpu_us_per_doc": round(k.skeleton_cpu_us, 1),
        "faust_skeleton_latency_p50_ms": sk.p50_ms if sk else None,
        "faust_skeleton_latency_p99_ms": sk.p99_ms if sk else None,
        "faust_skeleton_achieved_eps": round(sk.achieved_eps, 1) if sk else None,
        "latency_p50_ms": at.p50_ms if at else None,
        "latency_p99_ms": at.p99_ms if at else None,
        "latency_samples": at.samples if at else 0,
        "latency_load_eps": sizes.latency_load,
        "kafka_messages": k.n_messages,
        "worker_cpu_us_per_doc": round(k.worker_cpu_us, 1),
        "passthrough_cpu_us_per_msg": round(k.passthrough_cpu_us, 1),
        "kafka_cpu_ratio": _ratio(k.passthrough_cpu_us, k.worker_cpu_us),
        "kafka_outputs": k.worker_outputs,
        "kafka_dead_letters": k.worker_dead_letters,
        "kafka_matches_embedded": (k.worker_outputs, k.worker_dead_letters)
        == (k.expected_outputs, k.expected_dead_letters),
        "embedded_outputs_same_docs": k.expected_outputs,
        "embedded_dead_letters_same_docs": k.expected_dead_letters,
        **{
            key: k.extra[key]
            for key in ("dead_letter_reasons", "worker_log_tail_burst")
            if key in k.extra
        },
        "loads": loads,
        **web_ingest,
        **({"faust_ab": faust_ab} if faust_ab else {}),
    }


def _faust_ab(
    args: argparse.Namespace, sizes: Sizes, bootstrap: Any, work: Path, progress: Progress
) -> dict[str, Any] | None:
    """``--faust-ab ROUNDS``: the fast-path settings against the plain worker on the same
    broker (``agents/bench/fastpath.py``), bursts of at most 4,000 documents."""
    rounds = getattr(args, "faust_ab", 0) or 0
    if rounds <= 0:
        return None
    from agents.bench.fastpath import run_ab
    from agents.bench.population import generate

    n = min(sizes.burst, 4_000)
    needed = 200 + n + int(sizes.latency_load * sizes.seconds_per_load)
    docs = generate(needed // 20 + 500, args.seed + 3, prefix=f"ab{args.seed}-")
    load, seconds = sizes.latency_load, sizes.seconds_per_load
    return run_ab(bootstrap, docs, n, load, seconds, rounds, work, progress)


def _targets(fig: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (op, limit) in TARGETS.items():
        v = fig.get(key)
        met = None if v is None else (v >= limit if op == ">=" else v <= limit)
        out[key] = {"target": f"{op} {limit:g}", "value": v, "met": met}
    return out


def _summary(fig: dict[str, Any]) -> str:
    rows = [
        ("embedded replay", f"{fig['replay_eps']:,.0f} documents/s", fig["replay_ratio"], "x"),
        ("fhir.resources baseline", f"{fig['baseline_eps']:,.0f} documents/s", None, ""),
        ("generation", f"{fig['gen_docs_per_s']:,.0f} documents/s", None, ""),
    ]
    if fig.get("kafka_eps") is not None:
        rows += [
            ("Kafka, one worker", f"{fig['kafka_eps']:,.0f} documents/s", fig["kafka_ratio"], "x"),
            ("aiokafka passthrough", f"{fig['passthrough_eps']:,.0f} messages/s", None, ""),
            (
                "Faust skeleton (2 hops)",
                f"{fig['faust_skeleton_eps']:,.0f} documents/s",
                fig["faust_skeleton_ratio"],
                "x",
            ),
        ]
        if fig.get("faust_skeleton_latency_p99_ms") is not None:
            rows.append(
                (
                    f"  at {fig['latency_load_eps']:,.0f}/s offered",
                    f"{fig['faust_skeleton_achieved_eps']:,.0f}/s; "
                    f"p50 {fig['faust_skeleton_latency_p50_ms']:.0f} ms, "
                    f"p99 {fig['faust_skeleton_latency_p99_ms']:.0f} ms",
                    None,
                    "",
                )
            )
        for p in fig["loads"]:
            p99 = "-" if p["p99_ms"] is None else f"{p['p99_ms']:.0f}"
            p50 = "-" if p["p50_ms"] is None else f"{p['p50_ms']:.0f}"
            rows.append(
                (
                    f"  at {p['offered_eps']:,.0f}/s offered",
                    f"{p['achieved_eps']:,.0f}/s; p50 {p50} ms, p99 {p99} ms (n={p['samples']})",
                    None,
                    "",
                )
            )
    rows += [
        (
            "state per patient",
            f"{fig['bytes_per_patient']:,.0f} B (p99 {fig['state_bytes_p99']:,} B)",
            None,
            "",
        ),
        (
            "RSS after replay",
            f"{fig['rss_mb']:,.0f} MB for {fig['n_patients']:,} patients",
            None,
            "",
        ),
    ]
    if fig.get("web_http_ingest_eps") is not None:
        rows.append((
            "HTTP ingest (web)",
            f"{fig['web_http_ingest_eps']:,.0f} documents/s "
            f"(straight to Kafka {fig['web_direct_kafka_eps']:,.0f}/s)",
            fig["web_http_ingest_ratio"],
            "x",
        ))  # fmt: skip
    if fig.get("web_page_p95_ms") is not None:
        rows.append((
            "worklist page (web)",
            f"p50 {fig['web_page_p50_ms']:.0f} ms, p95 {fig['web_page_p95_ms']:.0f} ms "
            f"with {fig['web_open_tasks']:,} open Tasks",
            None,
            "",
        ))  # fmt: skip
    lines = [
        f"{name:<28} {val}" + (f"  ({r}{unit} baseline)" if r is not None else "")
        for name, val, r, unit in rows
    ]
    for key, t in fig["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append(f"target {key:<21} {t['target']:<10} {mark}")
    if fig.get("faust_ab"):
        from agents.bench.fastpath import table

        lines += ["", "Faust fast path A/B (medians over rounds):", table(fig["faust_ab"])]
    return "\n".join(lines)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    """The bench; SIGTERM unwinds it like an exception, so the worker, the passthrough and
    a broker it started are stopped (they run in sessions of their own)."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while topics settle
    # tests pass a tiny ``Sizes`` as ``args.sizes`` (not a command-line option)
    sizes = getattr(args, "sizes", None) or (QUICK if args.quick else FULL)
    progress = Progress()
    started = time.monotonic()
    fig: dict[str, Any] = {"quick": bool(args.quick), "seed": args.seed, "machine": machine()}
    emb = _embedded(sizes, args.seed, progress)
    fig.update(
        {
            "replay_eps": round(emb.replay_eps, 1),
            "baseline_eps": round(emb.baseline_eps, 1),
            "replay_ratio": _ratio(emb.replay_eps, emb.baseline_eps),
            "replay_events_per_s": round(emb.replay_events_per_s, 1),
            "replay_cpu_eps": round(emb.replay_cpu_eps, 1),
            "baseline_cpu_eps": round(emb.baseline_cpu_eps, 1),
            "replay_cpu_ratio": _ratio(emb.replay_cpu_eps, emb.baseline_cpu_eps),
            "gen_docs_per_s": round(emb.gen_dps, 1),
            "n_patients": emb.n_patients,
            "n_documents": emb.n_documents,
            "n_events": emb.n_events,
            "n_outputs": emb.n_outputs,
            "n_dead_letters": emb.n_dead_letters,
            "baseline_documents": emb.baseline_documents,
            "baseline_rejected": emb.baseline_invalid,
            "bytes_per_patient": round(emb.bytes_per_patient, 1),
            "state_bytes_p99": emb.state_bytes_p99,
            "rss_mb": round(emb.rss_mb, 1),
            "rss_start_mb": round(emb.rss_start_mb, 1),
            "events_by_kind": emb.extra.get("events_by_kind"),
        }
    )
    for key in ("kafka_eps", "passthrough_eps", "kafka_ratio", "latency_p50_ms", "latency_p99_ms"):
        fig[key] = None
    from agents.web.bench import page_figures  # carepath web: worklist page latency

    n_web = 1_000 if getattr(args, "sizes", None) else 10_000 if args.quick else 100_000
    progress(f"web: worklist pages with {n_web:,} open Tasks in the read model")
    fig.update(page_figures(n_web))
    if not args.skip_kafka:
        fig.update(_kafka(args, sizes, progress))
        from agents.bench.plot import plot_load

        m = fig["machine"]
        mode = " --quick" if args.quick else ""
        title = f"carepath bench{mode}: {m['cpu_model']}, {m['cores']} cores"
        skeleton = {
            "offered_eps": fig["latency_load_eps"],
            "achieved_eps": fig["faust_skeleton_achieved_eps"],
            "p50_ms": fig["faust_skeleton_latency_p50_ms"],
            "p99_ms": fig["faust_skeleton_latency_p99_ms"],
        }
        path = plot_load(fig["loads"], Path(args.out) / "benchmarks-load.png", title, skeleton)
        fig["plot"] = str(path)
        progress(f"plot: {path}")
    fig["targets"] = _targets(fig)
    fig["seconds"] = round(time.monotonic() - started, 1)
    fig["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = _summary(fig)
    if args.json:
        print(summary, file=sys.stderr)
        sys.stdout.write(orjson.dumps(fig).decode() + "\n")
    else:
        print(summary)
    return 0
