"""The worklist read model: the latest version of every Task and ServiceRequest, in SQLite.

Fed from the compacted ``care.tasks``/``care.referrals`` (or a replay's output file) one
resource at a time; nothing in it that the topics do not hold, so it can always be thrown
away and rebuilt (DESIGN.md "Worklist read model"). Every change bumps a sequence number,
which is how open pages learn that there is something new. Each version of a Task seen is
kept (its history); a version equal to the one held is not a change.

One connection guarded by a lock: the feed thread writes in batches, request handlers read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from agents.worklist import LEVEL_NAMES, Row, patient_key, to_row
from pipeline.codes import PRIORITY_RANK, TERMINAL, Business

Json = dict[str, Any]

SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
CREATE TABLE IF NOT EXISTS task (
  id TEXT PRIMARY KEY, patient TEXT NOT NULL, pid TEXT NOT NULL, display TEXT NOT NULL,
  code TEXT NOT NULL, target TEXT NOT NULL, focus TEXT NOT NULL, status TEXT NOT NULL,
  business TEXT NOT NULL, priority TEXT NOT NULL, prank INTEGER NOT NULL, due TEXT NOT NULL,
  owner TEXT NOT NULL, rule TEXT NOT NULL, authored TEXT NOT NULL, modified TEXT NOT NULL,
  description TEXT NOT NULL, open INTEGER NOT NULL, version INTEGER NOT NULL,
  seq INTEGER NOT NULL);
-- the worklist order, covering every filter column: a page reads the index in order, checks
-- the filters on the index entry and visits only the rows it shows
CREATE INDEX IF NOT EXISTS task_order ON task(open, prank DESC, due, id, owner, priority, code,
  status, business, patient, pid, display, version);
-- the counts: grouped by owner, covering every filter column
CREATE INDEX IF NOT EXISTS task_counts ON task(open, owner, due, business, prank, priority, code,
  status, patient, pid, display);
CREATE INDEX IF NOT EXISTS task_patient ON task(patient);
CREATE INDEX IF NOT EXISTS task_pid ON task(pid);
CREATE INDEX IF NOT EXISTS task_owner ON task(owner, open);
CREATE INDEX IF NOT EXISTS task_focus ON task(focus);
CREATE INDEX IF NOT EXISTS task_seq ON task(seq);
CREATE TABLE IF NOT EXISTS task_version (
  id TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL,
  business TEXT NOT NULL, owner TEXT NOT NULL, modified TEXT NOT NULL, doc BLOB NOT NULL,
  PRIMARY KEY (id, version));
CREATE TABLE IF NOT EXISTS referral (
  id TEXT PRIMARY KEY, patient TEXT NOT NULL, level TEXT NOT NULL, direction TEXT NOT NULL,
  status TEXT NOT NULL, priority TEXT NOT NULL, prank INTEGER NOT NULL, authored TEXT NOT NULL,
  modified TEXT NOT NULL, rule TEXT NOT NULL, performer TEXT NOT NULL, version INTEGER NOT NULL,
  seq INTEGER NOT NULL, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS referral_patient ON referral(patient);
CREATE TABLE IF NOT EXISTS pending (
  task TEXT PRIMARY KEY, version INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL,
  at TEXT NOT NULL, refused TEXT NOT NULL DEFAULT '');
"""


#: The ``due`` column of a Task without a due time: sorts last, never overdue or today.
NO_DUE = "9999-12-31T23:59:59Z"


def utc_text(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_code(concept: Any) -> str:
    coding = ((concept or {}).get("coding") or [{}])[0] if isinstance(concept, dict) else {}
    return str(coding.get("code", "")) if isinstance(coding, dict) else ""


@dataclass(frozen=True, slots=True)
class Query:
    """A worklist question: which Tasks, in the order priority (stat first) then due."""

    owners: tuple[str, ...] | None = None  # None: anyone's; () : only unassigned
    unassigned: bool = False
    priority: str = ""
    code: str = ""
    status: str = "open"  # "open" (not terminal), "all", or one Task status
    overdue: bool = False
    due_today: bool = False
    patient: str = ""
    now: str = ""  # utc_text of now (overdue)
    today: tuple[str, str] = ("", "")  # [start, end) of today in the site's zone, UTC text
    offset: int = 0
    limit: int = 100


@dataclass(slots=True)
class TaskView:
    """A Task as the pages and the API show it."""

    row: Row
    version: int
    seq: int
    modified: str
    doc: Json
    overdue: bool = False
    pending: Json | None = field(default=None)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def open(self) -> bool:
        return self.row.status not in TERMINAL


class ReadModel:
    """SQLite behind a lock; ``path`` ``":memory:"`` for a throwaway one."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        if str(path) != ":memory:":
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):  # rebuilt at every start: throwaway
                Path(str(p) + suffix).unlink(missing_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._seq = 0
        self.loaded = threading.Event()  # set once the topics were read to their end
        self.read_only = False

    # ---------------------------------------------------------------- writing
    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def apply_all(self, values: Iterable[bytes | None], keys: Iterable[bytes | None] = ()) -> int:
        """Apply resources (one JSON document each) in one transaction; the count applied."""
        n = 0
        with self.batch():
            for value in values:
                n += self.apply(value)
        return n

    def apply(self, value: bytes | None, key: bytes | None = None) -> int:
        """One record of ``care.tasks``/``care.referrals``; a tombstone (``None``) deletes
        the resource its key names. 1 when the model changed, else 0."""
        if value is None:
            return self._delete(key)
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return 0
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            return 0
        with self._lock:
            if doc.get("resourceType") == "Task":
                return self._task(doc)
            if doc.get("resourceType") == "ServiceRequest":
                return self._referral(doc)
        return 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _delete(self, key: bytes | None) -> int:
        kind, _, rid = (key or b"").decode("utf-8", "replace").partition("/")
        table = {"Task": "task", "ServiceRequest": "referral"}.get(kind)
        if not table or not rid:
            return 0
        with self._lock:
            cur = self._db.execute(f"DELETE FROM {table} WHERE id = ?", (rid,))
            if cur.rowcount:
                self._next()
            return int(cur.rowcount > 0)

    def _task(self, doc: Json) -> int:
        blob = orjson.dumps(doc)
        old = self._db.execute(
            "SELECT t.version, v.doc FROM task t JOIN task_version v "
            "ON v.id = t.id AND v.version = t.version WHERE t.id = ?",
            (doc["id"],),
        ).fetchone()
        if old is not None and old["doc"] == blob:
            return 0  # redelivered: the same version
        target = ""
        focus = str((doc.get("focus") or {}).get("reference", ""))
        if focus.startswith("ServiceRequest/"):
            found = self._db.execute(
                "SELECT level FROM referral WHERE id = ?", (focus.removeprefix("ServiceRequest/"),)
            ).fetchone()
            target = found["level"] if found else ""
        r = to_row(doc, {focus: target} if target else {})
        version = (old["version"] + 1) if old is not None else 1
        seq = self._next()
        modified = str(doc.get("lastModified") or r.authored)
        pid = str((doc.get("for") or {}).get("reference", "")).removeprefix("Patient/")
        self._db.execute(
            "INSERT OR REPLACE INTO task VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                r.id,
                r.patient,
                pid,
                r.display,
                r.code,
                r.target,
                focus,
                r.status,
                r.business_status,
                r.priority,
                PRIORITY_RANK.get(r.priority, -1),
                r.due or NO_DUE,
                r.owner,
                r.rule,
                r.authored,
                modified,
                r.description,
                int(r.status not in TERMINAL),
                version,
                seq,
            ),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO task_version VALUES (?,?,?,?,?,?,?,?)",
            (r.id, version, seq, r.status, r.business_status, r.owner, modified, blob),
        )
        self._db.execute("DELETE FROM pending WHERE task = ? AND version < ?", (r.id, version))
        return 1

    def _referral(self, doc: Json) -> int:
        blob = orjson.dumps(doc)
        rid = doc["id"]
        old = self._db.execute("SELECT version, doc FROM referral WHERE id = ?", (rid,)).fetchone()
        if old is not None and old["doc"] == blob:
            return 0
        level = _first_code(doc.get("code"))
        categories = doc.get("category") or [{}]
        direction = _first_code(categories[0] if isinstance(categories, list) else {})
        performer = ((doc.get("performer") or [{}])[0] or {}).get("reference", "")
        priority = str(doc.get("priority", ""))
        rules = doc.get("reasonCode") or [{}]
        self._db.execute(
            "INSERT OR REPLACE INTO referral VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rid,
                patient_key(doc.get("subject") or {}),
                level,
                direction,
                str(doc.get("status", "")),
                priority,
                PRIORITY_RANK.get(priority, -1),
                str(doc.get("authoredOn", "")),
                str((doc.get("meta") or {}).get("lastUpdated", "")),
                _first_code(rules[0] if isinstance(rules, list) else {}),
                str(performer),
                (old["version"] + 1) if old is not None else 1,
                self._next(),
                blob,
            ),
        )
        label = f"refer to {LEVEL_NAMES.get(level, level)}" if level else "refer"
        cur = self._db.execute(
            "UPDATE task SET target = ? WHERE focus = ? AND target != ?",
            (level, f"ServiceRequest/{rid}", level),
        )
        if cur.rowcount:
            self._refresh_labels(f"ServiceRequest/{rid}", label)
        return 1

    def _refresh_labels(self, focus: str, label: str) -> None:
        self._next()  # the Task rows changed (their label); pages re-read them
        self._db.execute("UPDATE task SET seq = ? WHERE focus = ?", (self._seq, focus))

    # ---------------------------------------------------------------- pending actions
    def set_pending(self, task: str, version: int, action: str, actor: str, at: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO pending VALUES (?,?,?,?,?,'')",
                (task, version, action, actor, at),
            )
            seq = self._next()
            self._db.execute("UPDATE task SET seq = ? WHERE id = ?", (seq, task))

    def dead_letter(self, value: bytes | None) -> int:
        """A record of ``care.deadletter``: when it is a Task update of a pending action,
        the action is marked refused with the pipeline's diagnostics (which name fields and
        statuses, never clinical values). 1 when a pending action changed."""
        try:
            record = orjson.loads(value or b"")
            raw = orjson.loads(record.get("raw") or b"")
            issue = (record.get("error") or {}).get("issue") or [{}]
            diagnostics = str(issue[0].get("diagnostics", ""))[:300]
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            return 0
        if not isinstance(raw, dict) or raw.get("resourceType") != "Task":
            return 0
        with self._lock:
            cur = self._db.execute(
                "UPDATE pending SET refused = ? WHERE task = ? AND refused = '' AND at <= ?",
                (diagnostics or "refused", str(raw.get("id")), str(raw.get("lastModified", ""))),
            )
            if cur.rowcount:
                seq = self._next()
                self._db.execute("UPDATE task SET seq = ? WHERE id = ?", (seq, raw.get("id")))
            return int(cur.rowcount > 0)

    def pending(self, task: str) -> Json | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM pending WHERE task = ?", (task,)).fetchone()
        return dict(row) if row else None

    # ---------------------------------------------------------------- reading
    @property
    def seq(self) -> int:
        return self._seq

    def _where(self, q: Query) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if q.status == "open":
            clauses.append("open = 1")
        elif q.status and q.status != "all":
            clauses.append("status = ?")
            args.append(q.status)
        if q.unassigned or q.owners is not None:
            owner, owner_args = _owner_clause(q)
            clauses.append(owner)
            args.extend(owner_args)
        if q.priority:
            clauses.append("priority = ?")
            args.append(q.priority)
        if q.code:
            clauses.append("code = ?")
            args.append(q.code)
        if q.overdue:
            clauses.append("open = 1 AND (business = ? OR due < ?)")
            args.extend([Business.OVERDUE, q.now])
        if q.due_today:
            clauses.append("due >= ? AND due < ?")
            args.extend(q.today)
        if q.patient:
            clauses.append("(patient = ? OR pid = ? OR display LIKE ?)")
            args.extend([q.patient, q.patient, f"%{q.patient}%"])
        return (" AND ".join(clauses) or "1"), args

    def search(self, q: Query, count: bool = True) -> tuple[list[TaskView], int]:
        """The page of Tasks ``q`` asks for, most urgent first, and how many match (-1 when
        not ``count``: :meth:`summary` counts for pages)."""
        where, args = self._where(q)
        with self._lock:
            total = -1
            if count:
                sql = f"SELECT count(*) FROM task WHERE {where}"
                total = self._db.execute(sql, args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT * FROM task WHERE {where} ORDER BY open DESC, prank DESC, due, id "
                "LIMIT ? OFFSET ?",
                [*args, q.limit, q.offset],
            ).fetchall()
            views = [self._view(r, q.now) for r in rows]
        return views, int(total)

    def counts(self, q: Query) -> dict[str, int]:
        """Counts for the filter bar (see :meth:`summary`)."""
        return self.summary(q, {})

    def summary(self, q: Query, tabs: dict[str, Query]) -> dict[str, int]:
        """Everything a worklist page counts, from one grouped pass over an index: ``matching``
        (Tasks ``q`` selects), ``total``/``overdue``/``due_today``/``stat`` of ``q``'s view
        and filters without its overdue and due-today switches, and for each tab (a query
        that differs from ``q`` only by owner) how many Tasks it would select."""
        base = Query(**{**_fields(q), "owners": None, "unassigned": False, "overdue": False,
                        "due_today": False})  # fmt: skip
        where, args = self._where(base)
        sql = (
            "SELECT owner, count(*), sum(late), sum(today), sum(late AND today), sum(stat) "
            "FROM (SELECT owner, open AND (business = ? OR due < ?) AS late, "
            "due >= ? AND due < ? AS today, open AND prank = 3 AS stat "
            f"FROM task WHERE {where}) GROUP BY owner"
        )
        with self._lock:
            groups = self._db.execute(sql, [Business.OVERDUE, q.now, *q.today, *args]).fetchall()
        # per owner: all, late, today, late and today, stat
        per = {g[0]: [int(v or 0) for v in g[1:]] for g in groups}
        pick = {(False, False): 0, (True, False): 1, (False, True): 2, (True, True): 3}[
            (q.overdue, q.due_today)
        ]

        def total(owners: Query, column: int) -> int:
            return sum(v[column] for o, v in per.items() if _owned(owners, o))

        out = {
            "matching": total(q, pick),
            "total": total(q, 0),
            "overdue": total(q, 1),
            "due_today": total(q, 2),
            "stat": total(q, 4),
        }
        out.update({f"tab:{k}": total(t, pick) for k, t in tabs.items()})
        return out

    def task(self, task_id: str, now: str = "") -> TaskView | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM task WHERE id = ?", (task_id,)).fetchone()
            return self._view(row, now) if row else None

    def versions(self, task_id: str) -> list[Json]:
        with self._lock:
            rows = self._db.execute(
                "SELECT version, status, business, owner, modified, doc FROM task_version "
                "WHERE id = ? ORDER BY version",
                (task_id,),
            ).fetchall()
        out = []
        for r in rows:
            doc = orjson.loads(r["doc"])
            notes = [n.get("text", "") for n in doc.get("note") or [] if isinstance(n, dict)]
            reason = str((doc.get("statusReason") or {}).get("text", ""))
            out.append({**dict(r), "notes": notes, "reason": reason, "doc": doc})
        return out

    def referral(self, rid: str) -> Json | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM referral WHERE id = ?", (rid,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "doc": orjson.loads(row["doc"])}

    def timeline(self, patient: str, now: str = "") -> list[Json]:
        """The patient's Tasks and referrals, oldest first (by authored time)."""
        with self._lock:
            tasks = self._db.execute(
                "SELECT * FROM task WHERE patient = ? ORDER BY authored, id", (patient,)
            ).fetchall()
            refs = self._db.execute(
                "SELECT * FROM referral WHERE patient = ? ORDER BY authored, id", (patient,)
            ).fetchall()
        items: list[Json] = [
            {"kind": "Task", "at": r["authored"], "view": self._view(r, now)} for r in tasks
        ]
        items += [{"kind": "ServiceRequest", "at": r["authored"], "ref": dict(r)} for r in refs]
        return sorted(items, key=lambda i: (i["at"], i["kind"]))

    def search_referrals(
        self, where: dict[str, str], order: str, limit: int, offset: int
    ) -> tuple[list[Json], int]:
        clauses, args = [], []
        for column, value in where.items():
            clauses.append(f"{column} = ?")
            args.append(value)
        sql_where = " AND ".join(clauses) or "1"
        with self._lock:
            total = self._db.execute(
                f"SELECT count(*) FROM referral WHERE {sql_where}", args
            ).fetchone()[0]
            rows = self._db.execute(
                f"SELECT doc FROM referral WHERE {sql_where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [orjson.loads(r["doc"]) for r in rows], int(total)

    def search_tasks_sql(
        self, where: str, args: list[Any], order: str, limit: int, offset: int
    ) -> tuple[list[Json], int]:
        """The FHIR search: ``where``/``order`` are built by the caller from a fixed set of
        column names (never from request text); values go in ``args``."""
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM task WHERE {where}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT id, version FROM task WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            docs = [self._doc(r["id"], r["version"]) for r in rows]
        return docs, int(total)

    def stats(self) -> dict[str, int]:
        with self._lock:
            t = self._db.execute("SELECT count(*), sum(open) FROM task").fetchone()
            r = self._db.execute("SELECT count(*) FROM referral").fetchone()
        return {"tasks": int(t[0] or 0), "open_tasks": int(t[1] or 0), "referrals": int(r[0] or 0)}

    def _doc(self, task_id: str, version: int) -> Json:
        found = self._db.execute(
            "SELECT doc FROM task_version WHERE id = ? AND version = ?", (task_id, version)
        ).fetchone()
        doc: Json = orjson.loads(found["doc"])
        return doc

    def _view(self, row: sqlite3.Row, now: str) -> TaskView:
        doc = self._doc(row["id"], row["version"])
        r = to_row(doc, {row["focus"]: row["target"]} if row["target"] else {})
        is_open = bool(row["open"])
        overdue = is_open and (r.overdue or bool(now and r.due and r.due < now))
        pend = self._db.execute("SELECT * FROM pending WHERE task = ?", (r.id,)).fetchone()
        return TaskView(
            r,
            row["version"],
            row["seq"],
            row["modified"],
            doc,
            overdue,
            dict(pend) if pend else None,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _owner_clause(q: Query) -> tuple[str, list[Any]]:
    if q.unassigned:
        return "(owner = '')", []
    if q.owners is None:
        return "1", []
    if not q.owners:
        return "0", []
    return f"(owner IN ({','.join('?' * len(q.owners))}))", list(q.owners)


def _owned(q: Query, owner: str) -> bool:
    """Whether a Task with this owner is in ``q``'s view."""
    if q.unassigned:
        return owner == ""
    return q.owners is None or owner in q.owners


def _fields(q: Query) -> dict[str, Any]:
    return {name: getattr(q, name) for name in Query.__dataclass_fields__}


def load_file(model: ReadModel, path: str | Path) -> int:
    """A replay's output (NDJSON, one Task or ServiceRequest a line; the last line for an id
    is its state) into ``model``; the number of lines applied."""
    with open(path, "rb") as f:
        return model.apply_all(line for line in f if line.strip())
