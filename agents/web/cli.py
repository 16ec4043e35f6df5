"""``carepath web``, ``carepath users``, ``carepath tokens``: the web service's commands.

Light at import (the parser of every ``carepath`` command imports this module); the web
stack is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(sub: Any) -> None:
    wp = sub.add_parser("web", help="the worklist in a browser, the FHIR API, HTTP ingest")
    wp.add_argument("--file", help="serve a replay's output (NDJSON) read-only, no broker")
    wp.add_argument("--listen", help="host:port (default CAREPATH_WEB_LISTEN, 127.0.0.1:8080)")
    wp.add_argument("--rules", help="rules TOML file (time zone, identity: patient keys)")
    wp.add_argument("--now", help="the time the worklist takes as now (overdue, due today)")
    wp.set_defaults(func=cmd_web)

    up = sub.add_parser("users", help="web accounts: add, list, remove")
    uact = up.add_subparsers(dest="action", required=True)
    ua = uact.add_parser("add", help="add (or replace) a user; the password from stdin")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["case-manager", "supervisor", "reader"])
    ua.add_argument("--team", default="", help="the team's owner reference, e.g. Organization/cm")
    ua.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (first line)",
    )
    uact.add_parser("list", help="users and roles")
    ur = uact.add_parser("remove", help="remove a user (and end their sessions)")
    ur.add_argument("name")
    up.set_defaults(func=cmd_users)

    tp = sub.add_parser("tokens", help="API bearer tokens: add, list, remove")
    tact = tp.add_subparsers(dest="action", required=True)
    ta = tact.add_parser("add", help="a new token, printed as the last line (kept hashed)")
    ta.add_argument("name")
    ta.add_argument("--role", required=True, choices=["sender", "case-manager", "reader"])
    ta.add_argument("--source", default="", help="sender: the carepath-source of its documents")
    tact.add_parser("list", help="tokens (names, roles, sources; never the secret)")
    tr = tact.add_parser("remove", help="revoke a token")
    tr.add_argument("name")
    tp.set_defaults(func=cmd_tokens)


def _accounts() -> Any:
    from agents.web.accounts import Accounts
    from agents.web.settings import WebSettings

    return Accounts(WebSettings().data)


def cmd_users(args: argparse.Namespace) -> int:
    accounts = _accounts()
    if args.action == "add":
        password = sys.stdin.readline().rstrip("\r\n")
        accounts.add_user(args.name, args.role, password, args.team)
        print(f"user {args.name}: {args.role}" + (f", team {args.team}" if args.team else ""))
    elif args.action == "list":
        for u in accounts.users():
            print(f"{u['name']}\t{u['role']}\t{u['team']}\t{u['created']}")
    elif not accounts.remove_user(args.name):
        print(f"carepath users: no user {args.name!r}", file=sys.stderr)
        return 1
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    accounts = _accounts()
    if args.action == "add":
        if args.source and args.role != "sender":
            raise ValueError("--source is for sender tokens")
        token = accounts.add_token(args.name, args.role, args.source)
        src = f", source {args.source}" if args.source else ""
        print(f"token {args.name}: {args.role}{src}; keep it secret, it is not shown again:")
        print(token)
    elif args.action == "list":
        for t in accounts.tokens():
            print(f"{t['name']}\t{t['role']}\t{t['source']}\t{t['created']}")
    elif not accounts.remove_token(args.name):
        print(f"carepath tokens: no token {args.name!r}", file=sys.stderr)
        return 1
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from agents.web.server import serve

    return serve(args)
