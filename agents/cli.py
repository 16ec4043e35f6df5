"""The ``carepath`` command: replay, check, worker, broker, tasks, rules, asyncapi, bench,
web, users, tokens.

Thin wiring only: parse arguments, build settings and rules once, call the module that
does the work. Exit status 0 on success, 2 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from agents import broker
from agents.security import ConnectionProblem, check_connection
from agents.settings import Settings, settings_problem
from pipeline.config import DEFAULT_RULES, RuleConfig, RulesFileError, load_rules

Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("carepath")
    except PackageNotFoundError:
        return "(not installed)"


def _rules(path: str | None) -> RuleConfig:
    return load_rules(path) if path else DEFAULT_RULES


def _source(text: str | None) -> str | None:
    if text is None:
        return None
    if not text.strip() or text != text.strip():
        raise ValueError(f"--source {text!r}: a non-empty name without surrounding spaces")
    return text


def _cmd_replay(args: argparse.Namespace) -> int:
    from agents.replay import Sinks, existing, parse_until, replay
    from agents.reporting import timezone_notice
    from schemas.ingest import Limits

    for p in args.events:
        existing(p)
    until = parse_until(args.until) if args.until else None
    source = _source(args.source)
    rules = _rules(args.rules)
    settings = Settings()
    limits = Limits(max_bytes=settings.max_bytes, max_depth=settings.max_depth)
    notice = timezone_notice(rules)
    if notice:
        print(f"replay: {notice}", file=sys.stderr)
    if args.broker:
        from agents.remote import remote_replay

        return remote_replay(args, settings, until, rules)
    sinks = Sinks(args.out, args.dead_letter, args.ignored)
    engine = replay(args.events, sinks, until, rules, limits, settings.base_url, source)
    print(f"replay: {engine.stats.summary()}", file=sys.stderr)
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from agents.reporting import timezone_notice
    from agents.store import check_store
    from agents.worker import run_worker

    overrides = {"rules": args.rules} if args.rules else {}
    settings = Settings(**overrides)
    check_store(settings)  # rocksdb:// without its extra: one line, exit 2
    rules = _rules(str(settings.rules) if settings.rules else None)  # refuse a bad file now
    notice = timezone_notice(rules)
    if notice and settings.log_format == "json":  # one more log line of the worker's
        logging.getLogger("carepath.worker").warning(notice)
    elif notice:
        print(f"worker: {notice}", file=sys.stderr)
    return run_worker(settings, rules)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from agents.worklist import print_worklist

    settings = Settings(**({"broker": args.broker} if args.broker else {}))
    if not args.file:
        check_connection(settings)
    return print_worklist(settings, args)


def _cmd_rules(args: argparse.Namespace) -> int:
    from pipeline.decide import rule_table

    rows = rule_table()
    cols = list(rows[0]) if rows else []
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(r[c].replace("|", "\\|") for c in cols) + " |")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from agents.check import check
    from agents.replay import existing
    from schemas.ingest import Limits

    for p in args.files:
        existing(p)
    rules, source = _rules(args.rules), _source(args.source)
    settings = Settings()
    limits = Limits(max_bytes=settings.max_bytes, max_depth=settings.max_depth)
    tally = check(
        args.files,
        rules,
        limits,
        settings.base_url,
        sys.stdout,
        source=source,
        json_lines=args.json,
    )
    print(f"check: {tally.summary()}", file=sys.stderr if args.json else sys.stdout)
    return 1 if tally.verdicts["invalid"] else 0


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    from agents.asyncapi import render

    text = render()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from agents.bench import extra_problem, run_bench

    problem = extra_problem()
    if problem:
        print(f"carepath bench: {problem}", file=sys.stderr)
        return 2
    if args.broker and not args.skip_kafka:
        check_connection(Settings(broker=args.broker))
    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="carepath", description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="version", version=f"carepath {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)

    rp = sub.add_parser("replay", help="replay NDJSON event files (embedded, or via a broker)")
    rp.add_argument("events", nargs="+", help="NDJSON files; - for standard input")
    rp.add_argument("--out", required=True, help="NDJSON of emitted Tasks/ServiceRequests")
    rp.add_argument(
        "--dead-letter",
        help="NDJSON of dead-letter records (default: source and diagnostics on stderr)",
    )
    rp.add_argument("--ignored", help="NDJSON of ignored resources and events, with reasons")
    rp.add_argument("--source", help="the source of every input document (patient keys)")
    rp.add_argument("--until", help="final clock tick, e.g. 2026-05-01T00:00:00Z")
    rp.add_argument("--rules", help="rules TOML file")
    rp.add_argument("--broker", help="kafka://HOST:PORT of a running worker's broker")
    rp.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (broker)")
    rp.set_defaults(func=_cmd_replay)

    cp = sub.add_parser("check", help="what carepath makes of each document, without rules")
    cp.add_argument("files", nargs="+", help="NDJSON files; - for standard input")
    cp.add_argument("--rules", help="rules TOML file (time zone, identity, scope)")
    cp.add_argument("--source", help="the source of every input document (patient keys)")
    cp.add_argument("--json", action="store_true", help="one JSON object a document (NDJSON)")
    cp.set_defaults(func=_cmd_check)

    wp = sub.add_parser("worker", help="run the Faust worker (settings: CAREPATH_*)")
    wp.add_argument("--rules", help="rules TOML file (overrides CAREPATH_RULES)")
    wp.set_defaults(func=_cmd_worker)

    bp = sub.add_parser("broker", help="a local Apache Kafka broker from Maven Central jars")
    broker.add_arguments(bp).set_defaults(func=broker.run)

    tp = sub.add_parser("tasks", help="print the open worklist from care.tasks")
    tp.add_argument("--broker", help="kafka://HOST:PORT (default: CAREPATH_BROKER)")
    tp.add_argument("--all", action="store_true", help="include closed tasks")
    tp.add_argument("--patient", help="only this patient (key, or the id of Patient/<id>)")
    tp.add_argument("--file", help="read Tasks and ServiceRequests from NDJSON, not Kafka")
    form = tp.add_mutually_exclusive_group()
    form.add_argument("--wide", action="store_true", help="one line a task, nothing wrapped")
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    form.add_argument("--json", action="store_true", help="one JSON object a task (NDJSON)")
    tp.set_defaults(func=_cmd_tasks)

    sub.add_parser("rules", help="print the rule table (Markdown)").set_defaults(func=_cmd_rules)

    ap3 = sub.add_parser("asyncapi", help="the Kafka contract as an AsyncAPI 3.0 document")
    ap3.add_argument("--out", help="write to this file (default: standard output)")
    ap3.set_defaults(func=_cmd_asyncapi)

    bench = sub.add_parser("bench", help="throughput, latency and memory benchmarks")
    bench.add_argument("--quick", action="store_true", help="small sizes, < 2 minutes")
    bench.add_argument("--json", action="store_true", help="print one JSON object last")
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--broker", help="kafka://HOST:PORT (default: start one)")
    bench.add_argument("--out", default="docs", help="where to write the plot")
    bench.add_argument("--skip-kafka", action="store_true", help="embedded figures only")
    bench.add_argument(
        "--faust-ab",
        type=int,
        nargs="?",
        const=2,
        default=0,
        metavar="ROUNDS",
        help="also A/B the Faust fast-path settings against the plain worker (default 2 rounds)",
    )
    bench.set_defaults(func=_cmd_bench)

    from agents.web.cli import add_commands

    add_commands(sub)  # web, users, tokens
    return ap


def _log_format() -> None:
    """JSON log lines when ``CAREPATH_LOG_FORMAT=json`` (agents/logformat.py)."""
    from agents.logformat import configure

    try:
        fmt = Settings().log_format
    except ValidationError:  # the command reports invalid settings if it uses them
        fmt = "text"
    configure(fmt)


def main(argv: Sequence[str] | None = None) -> int:
    from agents.logsafe import install

    install()  # no clinical content in any log line, whatever the level
    args = build_parser().parse_args(argv)
    _log_format()
    try:
        return int(args.func(args))
    except RulesFileError as e:
        print(f"carepath: {e}", file=sys.stderr)
        return 2
    except ValidationError as e:  # a ValueError too; never echo a value (it may be a secret)
        print(f"carepath {args.command}: {settings_problem(e)}", file=sys.stderr)
        return 2
    except ConnectionProblem as e:  # unreachable, TLS refused, authentication failed
        print(f"carepath {args.command}: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:
        print(f"carepath {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
