"""Benchmarks (``carepath bench``) and the synthetic population they replay."""

from __future__ import annotations

import argparse


def run_bench(args: argparse.Namespace) -> int:
    from agents.bench.runner import run

    return run(args)
