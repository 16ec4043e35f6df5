"""Users, API tokens, login sessions and the audit log: one SQLite file under the web data
directory (``accounts.sqlite``), kept across restarts (unlike the read model).

Secrets are stored hashed only:
- passwords with Argon2id (argon2-cffi's ``PasswordHasher``, RFC 9106 parameters): slow and
  memory-hard on purpose, since people choose guessable passwords;
- API tokens and session ids with SHA-256: they are 256 random bits, so a fast hash loses
  nothing and every API request can look its token up by hash in one index probe.

The audit log records who did what to which Task and when, with the outcome; never a
clinical value (no description, note or reason text: only that a note or reason was given).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_ROLES = ("case-manager", "supervisor", "reader")
TOKEN_ROLES = ("sender", "case-manager", "reader")
#: A name is also a FHIR id (``Practitioner/<name>`` is its owner reference).
NAME_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS user (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, team TEXT NOT NULL, hash TEXT NOT NULL,
  created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS token (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, source TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session (
  hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,
  created REAL NOT NULL, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  n INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
  via TEXT NOT NULL, action TEXT NOT NULL, task TEXT NOT NULL, outcome TEXT NOT NULL,
  detail TEXT NOT NULL);
"""

_hasher = PasswordHasher()


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r}: a name is 1–64 letters, digits, '-' or '.'")
    return name


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (session) or a token."""

    name: str
    role: str
    kind: str  # "user" | "token" | "oidc"
    team: str = ""
    source: str = ""
    csrf: str = ""

    @property
    def owner_ref(self) -> str:
        """The Task ``owner`` reference of this person."""
        return f"Practitioner/{self.name}"

    def can(self, what: str) -> bool:
        return what in PERMISSIONS.get(self.role, frozenset())


#: What each role may do (authorization by role, DESIGN.md convention 14).
PERMISSIONS: dict[str, frozenset[str]] = {
    "reader": frozenset({"read"}),
    "case-manager": frozenset({"read", "act", "take"}),
    "supervisor": frozenset({"read", "act", "take", "assign", "audit"}),
    "sender": frozenset({"send"}),
}


class Accounts:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "accounts.sqlite"
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def _one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def _run(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # ---------------------------------------------------------------- users
    def add_user(self, name: str, role: str, password: str, team: str = "") -> None:
        check_name(name)
        if role not in USER_ROLES:
            raise ValueError(f"--role {role!r}: one of {', '.join(USER_ROLES)}")
        if len(password) < 8:
            raise ValueError("a password has at least 8 characters")
        self._run(
            "INSERT OR REPLACE INTO user VALUES (?,?,?,?,?)",
            (name, role, team, _hasher.hash(password), _now()),
        )

    def users(self) -> list[dict[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT name, role, team, created FROM user ORDER BY name")
            return [dict(r) for r in rows.fetchall()]

    def team_members(self, team: str) -> list[str]:
        if not team:
            return []
        with self._lock:
            rows = self._db.execute("SELECT name FROM user WHERE team = ?", (team,)).fetchall()
        return [r["name"] for r in rows]

    def remove_user(self, name: str) -> bool:
        self._run("DELETE FROM session WHERE user = ?", (name,))
        return self._run("DELETE FROM user WHERE name = ?", (name,)) > 0

    def login(self, name: str, password: str) -> Principal | None:
        row = self._one("SELECT * FROM user WHERE name = ?", (name,))
        if row is None:
            _hasher.hash(password)  # the same work whether or not the user exists
            return None
        try:
            _hasher.verify(row["hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(row["hash"]):
            self._run("UPDATE user SET hash = ? WHERE name = ?", (_hasher.hash(password), name))
        return Principal(row["name"], row["role"], "user", row["team"])

    def user(self, name: str) -> Principal | None:
        row = self._one("SELECT * FROM user WHERE name = ?", (name,))
        return Principal(row["name"], row["role"], "user", row["team"]) if row else None

    # ---------------------------------------------------------------- tokens
    def add_token(self, name: str, role: str, source: str = "") -> str:
        """A new bearer token (shown once; only its hash is kept)."""
        check_name(name)
        if role not in TOKEN_ROLES:
            raise ValueError(f"--role {role!r}: one of {', '.join(TOKEN_ROLES)}")
        if source != source.strip():
            raise ValueError("--source: no surrounding spaces")
        token = f"cpt_{secrets.token_urlsafe(32)}"
        self._run(
            "INSERT OR REPLACE INTO token VALUES (?,?,?,?,?)",
            (name, role, source, _sha(token), _now()),
        )
        return token

    def tokens(self) -> list[dict[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT name, role, source, created FROM token ORDER BY name")
            return [dict(r) for r in rows.fetchall()]

    def remove_token(self, name: str) -> bool:
        return self._run("DELETE FROM token WHERE name = ?", (name,)) > 0

    def bearer(self, token: str) -> Principal | None:
        row = self._one("SELECT * FROM token WHERE hash = ?", (_sha(token),))
        if row is None:
            return None
        return Principal(row["name"], row["role"], "token", source=row["source"])

    # ---------------------------------------------------------------- sessions
    def open_session(self, who: Principal) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        self._run(
            "INSERT INTO session VALUES (?,?,?,?,?,?)",
            (_sha(sid), who.name, who.role, secrets.token_urlsafe(24), now, now),
        )
        return sid

    def session(self, sid: str, idle: float, lifetime: float, touch: bool) -> Principal | None:
        """The session's principal, or ``None`` when unknown, idle too long or too old."""
        h = _sha(sid)
        row = self._one("SELECT * FROM session WHERE hash = ?", (h,))
        if row is None:
            return None
        now = time.time()
        if now - row["seen"] > idle or now - row["created"] > lifetime:
            self._run("DELETE FROM session WHERE hash = ?", (h,))
            return None
        if touch and now - row["seen"] > 5:
            self._run("UPDATE session SET seen = ? WHERE hash = ?", (now, h))
        user = self._one("SELECT team, role FROM user WHERE name = ?", (row["user"],))
        team = user["team"] if user else ""
        role = user["role"] if user else row["role"]  # a changed role applies at once
        return Principal(row["user"], role, "user", team, csrf=row["csrf"])

    def close_session(self, sid: str) -> None:
        self._run("DELETE FROM session WHERE hash = ?", (_sha(sid),))

    # ---------------------------------------------------------------- audit
    def audit(self, who: Principal, action: str, task: str, outcome: str, detail: str = "") -> None:
        """One line of the audit log: who (and how authenticated), what, which Task, the
        outcome (``published``, ``refused: …``), and a detail without clinical text."""
        self._run(
            "INSERT INTO audit (at, actor, via, action, task, outcome, detail) "
            "VALUES (?,?,?,?,?,?,?)",
            (_now(), who.name, who.kind, action, task, outcome, detail),
        )

    def audit_log(self, limit: int = 200, task: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit"
        args: tuple[Any, ...] = ()
        if task:
            sql += " WHERE task = ?"
            args = (task,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY n DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
