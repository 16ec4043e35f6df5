"""Benchmarks (``carepath bench``) and the synthetic population they replay."""

from __future__ import annotations

import argparse
import importlib

#: What ``carepath bench`` imports from the ``bench`` extra (pyproject.toml).
EXTRA_MODULES = ("psutil", "matplotlib")


def extra_problem() -> str | None:
    """One line naming what to install when the ``bench`` extra is missing, else ``None``
    (checked before a run, so it never ends in an ``ImportError`` half way)."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} missing: the bench needs its extra, "
        "pip install 'carepath[bench]' (or make setup)"
    )


def run_bench(args: argparse.Namespace) -> int:
    from agents.bench.runner import run

    return run(args)
