"""Profile a real ``carepath worker`` under a burst of documents with py-spy.

    .venv/bin/python benchmarks/profile_worker.py [--broker kafka://HOST:PORT] [--docs 8000]
                                                   [--raw worker.raw]
                                                   [--set CAREPATH_NAME=VALUE ...]

Starts the worker the way ``carepath bench`` does (unique topics, CAREPATH_TICK_INTERVAL=0),
warms it up, attaches ``py-spy record`` to it, publishes ``--docs`` population documents as
fast as it can and waits until the worker has committed them. Then it prints where the
worker's main thread (the event loop that runs the agents) spent its time, by category,
and the hottest frames. py-spy needs ptrace rights (root, or CAP_SYS_PTRACE).
"""

from __future__ import annotations

import argparse
import collections
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agents.bench.kafka_bench import WorkerRun
from agents.bench.population import generate
from agents.bench.runner import Progress

# First rule matching a frame, scanning each sample from its innermost frame outwards.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("pipeline state codec (encode/decode_state)", ("pipeline/codec.py",)),
    ("pipeline rules (decide)", ("pipeline/",)),
    ("schemas (ingest, wire, outbound)", ("schemas/",)),
    ("logging", ("logging/__init__",)),
    ("Faust table writes (changelog)", ("Table.on_key_set", "send_changelog", "__setitem__")),
    (
        "Faust send path (Topic.send -> aiokafka)",
        (
            "Topic.send",
            "Topic.publish_message",
            "Channel._send_now",
            "Producer.send",
            "ProducerBuffer",
            "AIOKafkaProducer.send",
        ),
    ),
    (
        "aiokafka producer I/O (sender, socket writes)",
        (
            "Sender.",
            "SendProduceReqHandler",
            "AIOKafkaConnection",
            "_SelectorSocketTransport",
            "AIOKafkaClient",
        ),
    ),
    ("event loop waiting (select)", ("EpollSelector.select",)),
    ("agents/app.py (glue)", ("agents/app.py", "agents/state_store.py")),
    ("Faust/mode stream, consumer, ack machinery", ("faust/", "mode/")),
]


def categorize(raw: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    cats: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, n_text = line.rsplit(" ", 1)
        frames, n = stack.split(";"), int(n_text)
        if not frames[0].startswith("_run_module_as_main"):
            continue  # other threads: Faust's consumer thread, thread pools (mostly idle)
        total += n
        leaves[frames[-1]] += n
        cat = "other (asyncio scheduling)"
        for frame in reversed(frames):
            hit = next((name for name, keys in CATEGORIES if any(k in frame for k in keys)), None)
            if hit:
                cat = hit
                break
        cats[cat] += n
    return total, cats, leaves


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", help="kafka://HOST:PORT (default: start one)")
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--raw", default="worker.raw", help="py-spy raw output file")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="CAREPATH_NAME=VALUE",
        help="a setting of the profiled worker, e.g. CAREPATH_EVENT_LOOP=uvloop (repeatable)",
    )
    a = ap.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    progress = Progress()
    docs = generate(a.docs // 20 + 500, 8, prefix="prof-")
    warm = [next(docs) for _ in range(200)]
    burst = [next(docs) for _ in range(a.docs)]
    with tempfile.TemporaryDirectory(prefix="carepath-prof-") as tmp:
        broker_dir = Path(tmp) / "broker"
        if a.broker:
            bootstrap = a.broker.removeprefix("kafka://")
        else:
            from agents.broker import broker_up

            bootstrap = broker_up(broker_dir)
        settings = dict(item.split("=", 1) for item in a.set)
        worker = WorkerRun(bootstrap, Path(tmp), progress, settings=settings)
        try:
            worker.warm_up(warm)
            cmd = [spy, "record", "-p", str(worker.proc.p.pid), "-o", a.raw, "-f", "raw"]
            rec = subprocess.Popen([*cmd, "-r", "200"], stdout=subprocess.DEVNULL)
            time.sleep(1.0)
            seconds, cpu = worker.burst(burst)
            rec.send_signal(2)
            rec.wait(60)
        finally:
            worker.close()
            if not a.broker:
                from agents.broker import broker_down

                broker_down(broker_dir)
    print(
        f"{a.docs:,} documents in {seconds:.1f} s: {a.docs / seconds:,.0f} documents/s, "
        f"worker CPU {1e6 * cpu / a.docs:,.0f} µs a document (py-spy attached)"
    )
    total, cats, leaves = categorize(Path(a.raw))
    print(f"worker main thread, {total} samples:")
    for name, n in cats.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("hottest frames (self):")
    for frame, n in leaves.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {frame[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
