"""The load plot: achieved throughput and latency (p50/p99) against offered load."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_load(
    points: list[dict[str, Any]],
    path: Path,
    title: str,
    skeleton: dict[str, Any] | None = None,
) -> Path:
    """``skeleton``: the Faust skeleton at one load (``offered_eps``, ``achieved_eps``,
    ``p50_ms``, ``p99_ms``), drawn as open markers: the floor Faust sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    offered = [p["offered_eps"] for p in points]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    ax1.plot(offered, [p["achieved_eps"] for p in points], "o-", label="achieved")
    ax1.plot(offered, offered, ":", color="grey", label="offered")
    ax1.set_xlabel("offered load (documents/s)")
    ax1.set_ylabel("throughput (documents/s)")
    ax1.set_title("Throughput, care.inbound → committed")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ok = [p for p in points if p.get("p50_ms") is not None]
    ax2.plot([p["offered_eps"] for p in ok], [p["p50_ms"] for p in ok], "o-", label="p50")
    ax2.plot([p["offered_eps"] for p in ok], [p["p99_ms"] for p in ok], "s-", label="p99")
    if skeleton is not None and skeleton.get("p99_ms") is not None:
        x = skeleton["offered_eps"]
        ax1.plot([x], [skeleton["achieved_eps"]], "D", mfc="none", label="Faust skeleton")
        ax2.plot([x], [skeleton["p50_ms"]], "D", mfc="none", label="Faust skeleton p50")
        ax2.plot([x], [skeleton["p99_ms"]], "^", mfc="none", label="Faust skeleton p99")
        ax1.legend()
    ax2.axhline(50, color="red", ls="--", lw=1, label="p99 target 50 ms")
    ax2.set_xlabel("offered load (documents/s)")
    ax2.set_ylabel("latency (ms)")
    ax2.set_yscale("log")
    ax2.set_title("Latency, care.inbound → Task on care.tasks")
    ax2.legend()
    ax2.grid(alpha=0.3, which="both")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
