"""Start ``carepath web``: build the collaborators once, fill the read model (from a file,
or a feed thread on the output topics), serve with uvicorn until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from agents.settings import Settings
from agents.web.settings import WebSettings

log = logging.getLogger("carepath.web")


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {text!r}: host:port")
    return host.strip("[]"), int(port)


def _clock(now: str | None):  # type: ignore[no-untyped-def]
    if not now:
        return lambda: datetime.now(UTC)
    fixed = datetime.fromisoformat(now.replace("Z", "+00:00"))
    if fixed.tzinfo is None:
        raise ValueError(f"--now {now!r}: a time with a zone, e.g. 2026-08-01T00:00:00Z")
    return lambda: fixed


def build(args: argparse.Namespace, settings: Settings, web_settings: WebSettings):  # type: ignore[no-untyped-def]
    from agents.web.accounts import Accounts
    from agents.web.feed import Feed
    from agents.web.kafka import Publisher
    from agents.web.readmodel import ReadModel, load_file
    from agents.web.service import Web
    from pipeline.config import DEFAULT_RULES, load_rules

    rules_path = args.rules or (str(settings.rules) if settings.rules else None)
    rules = load_rules(rules_path) if rules_path else DEFAULT_RULES
    data = Path(web_settings.data)
    accounts = Accounts(data)
    if args.file:
        if not Path(args.file).is_file():
            raise FileNotFoundError(f"--file {args.file}: no such file")
        model = ReadModel(":memory:")
        n = load_file(model, args.file)
        model.loaded.set()
        stats = model.stats()
        log.info(
            "read model: %d lines from %s: %d Tasks (%d open), %d ServiceRequests",
            n,
            args.file,
            stats["tasks"],
            stats["open_tasks"],
            stats["referrals"],
        )
        return Web(settings, web_settings, model, accounts, None, rules, _clock(args.now))
    model = ReadModel(data / "readmodel.sqlite")
    web = Web(settings, web_settings, model, accounts, Publisher(settings), rules, _clock(args.now))
    topics = [settings.topic_tasks, settings.topic_referrals]
    web.feed = Feed(model, settings, topics, settings.topic_deadletter)
    return web


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agents.web.app import create_app

    web_settings = WebSettings(**({"listen": args.listen} if args.listen else {}))
    settings = Settings()
    logging.basicConfig(
        level=web_settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # does nothing with CAREPATH_LOG_FORMAT=json: the command's JSON handler stays
    logging.getLogger().setLevel(web_settings.log_level.upper())
    logging.getLogger("kafka").setLevel(logging.WARNING)  # connection chatter
    host, port = _listen(web_settings.listen)
    if not args.file:
        from agents.security import check_connection

        check_connection(settings)  # one line and exit 2 when unreachable or refused (cli)
    web = build(args, settings, web_settings)
    if not web.accounts.users():
        log.warning(
            "no users yet: add one with `carepath users add NAME --role case-manager "
            "--password-stdin`"
        )
    if web.feed is not None:
        web.feed.start()
    mode = f"read-only from {args.file}" if args.file else f"on {settings.broker}"
    print(f"carepath web: http://{host}:{port}/ ({mode})", file=sys.stderr, flush=True)
    try:
        # JSON lines: uvicorn's loggers go to the root handler instead of uvicorn's own
        own = {"log_config": None} if settings.log_format == "json" else {}
        uvicorn.run(
            create_app(web), host=host, port=port, log_level="warning", access_log=False, **own
        )
    finally:
        if web.feed is not None:
            web.feed.stop()
        if web.publisher is not None:
            web.publisher.close()
    return 0
