"""Profile the embedded replay (``Engine.feed`` + ``render``) with pyinstrument.

    .venv/bin/python benchmarks/profile_replay.py [--patients 4000] [--seed 7] [--html out.html]

Prints the call tree (functions above 1% of the time) and a per-module summary. Install
the tools with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Any

from pyinstrument import Profiler

from agents.bench.population import generate
from agents.engine import Engine
from pipeline.config import DEFAULT_RULES
from schemas.ingest import Limits
from schemas.outbound import DEFAULT_BASE, render


def module_summary(profiler: Profiler) -> list[tuple[str, float]]:
    """Self time by project file; time in libraries and builtins (orjson, dict methods,
    datetime, hashlib) goes to the project file that called them."""
    session = profiler.last_session
    assert session is not None
    totals: collections.Counter[str] = collections.Counter()

    def walk(frame: Any, owner: str) -> None:
        path = getattr(frame, "file_path", None) or ""
        for name in ("pipeline/", "schemas/", "agents/"):
            if f"/{name}" in path:
                owner = name + path.rsplit(f"/{name}", 1)[1]
                break
        totals[owner] += frame.total_self_time
        for child in frame.children:
            walk(child, owner)

    root = session.root_frame()
    if root is not None:
        walk(root, "the replay loop itself")
    total = sum(totals.values()) or 1.0
    return [(k, v / total) for k, v in totals.most_common(30)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--html", help="also write pyinstrument's HTML report here")
    a = ap.parse_args()
    docs = list(generate(a.patients, a.seed))
    engine = Engine(DEFAULT_RULES, Limits(), DEFAULT_BASE)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    cpu = time.process_time()
    for raw in docs:
        for out in engine.feed(raw).outputs:
            render(out, DEFAULT_BASE)
    cpu = time.process_time() - cpu
    profiler.stop()
    print(f"{len(docs):,} documents, {len(docs) / cpu:,.0f} per CPU-second under the profiler")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print("self time by file:")
    for area, share in module_summary(profiler):
        print(f"  {100 * share:5.1f}%  {area}")
    if a.html:
        with open(a.html, "w") as f:
            f.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
