"""Bounds on per-patient state (DESIGN.md convention 11, rules.md §8): every collection has
a cap or a window, every free text a length, so a patient with years of daily events costs
the same per event as a new one and the encoded state stays far below the Kafka message
limit.

- ``seen`` (duplicate detection, contract §7): the newest ``SEEN_KEPT`` event ids; when it
  is full the oldest quarter is dropped at once (amortized) and ``seen_floor`` moves to the
  newest dropped time: an event at or before it can no longer be told from a duplicate and
  is ignored with the reason ``older than the duplicate-detection window``.
- ``counted``: Appointment ids of the weeks a week check still reads.
- ``closed``: the newest ``CLOSED_KEPT`` terminal Task ids (an update of an older one is
  ignored like an unknown Task).
- Free text received from case managers: ``REASON_CHARS`` / ``NOTE_CHARS``, ``NOTES_KEPT``.
- ``STATE_CAP``: the hard cap on the encoded state; ``fit`` shrinks a state over it
  (``shrink``) and, should that not do, ``decide`` refuses the event (dead letter, the old
  state kept): never a crash, never a changelog write the broker refuses. Embedded replay
  and the worker apply the same policy because it lives in ``decide``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pipeline.state import PatientState, encode_state

SEEN_KEPT = 512
CLOSED_KEPT = 256
REASON_CHARS = 500
NOTE_CHARS = 500
NOTES_KEPT = 4
DISPLAY_CHARS = 120
OWNER_CHARS = 200
#: The hard cap on an encoded state (the broker's default message limit is 1 MiB).
STATE_CAP = 256 * 1024
#: A state whose cheap estimate is below this is never encoded just to check the cap.
ESTIMATE_SAFE = STATE_CAP // 4

DUPLICATE_WINDOW = "older than the duplicate-detection window"


def epoch(t: datetime) -> int:
    """Whole epoch seconds of ``t`` (an aware ``timestamp()`` does not depend on the zone)."""
    return int(t.timestamp())


def remember(s: PatientState, key: int, when: int) -> tuple[dict[int, int], int | None]:
    """``seen`` with ``key`` added, and the new floor; the oldest quarter is dropped when
    the window is full."""
    seen = dict(s.seen)
    seen[key] = when
    floor = s.seen_floor
    if len(seen) > SEEN_KEPT:
        ordered = sorted(seen.items(), key=lambda kv: kv[1])
        drop = ordered[: SEEN_KEPT // 4]
        newest_dropped = drop[-1][1]
        floor = newest_dropped if floor is None else max(floor, newest_dropped)
        seen = dict(ordered[SEEN_KEPT // 4 :])
    return seen, floor


def trim_closed(closed: dict[str, str]) -> dict[str, str]:
    """The newest ``CLOSED_KEPT`` terminal Task ids (insertion order is closing order)."""
    if len(closed) <= CLOSED_KEPT:
        return closed
    items = list(closed.items())
    return dict(items[len(items) - CLOSED_KEPT :])


def clip(text: str | None, n: int) -> str | None:
    """Free text cut to ``n`` characters (with an ellipsis), so no field grows unbounded."""
    if text is None or len(text) <= n:
        return text
    return text[: n - 1] + "…"


#: An upper bound on one encoded Task: generated sentences (a merged one holds two) plus
#: clipped case-manager text.
TASK_MAX = 2 * 1200 + REASON_CHARS + NOTES_KEPT * NOTE_CHARS + OWNER_CHARS + DISPLAY_CHARS + 400


def estimate(s: PatientState) -> int:
    """A cheap upper-ish estimate of the encoded size (no encoding); with few open Tasks it
    does not even look at them."""
    size = 400 + 24 * len(s.seen) + 24 * len(s.counted) + 40 * len(s.closed)
    size += 90 * len(s.obs) + 40 * len(s.stays) + 40 * len(s.weeks)
    if size + TASK_MAX * len(s.tasks) < ESTIMATE_SAFE:
        return size + TASK_MAX * len(s.tasks)
    for t in s.tasks.values():
        size += 250 + len(t.description) + len(t.status_reason or "")
        size += sum(len(n) for n in t.notes) + len(t.owner or "") + len(t.display or "")
    return size


def shrink(s: PatientState) -> PatientState:
    """The state with its history cut to what the rules read last: notes dropped, the
    duplicate window, closed ids and kept assessments cut hard."""
    t = s.copy()
    t.tasks = {k: replace(v, notes=v.notes[-1:]) for k, v in s.tasks.items()}
    if len(s.seen) > SEEN_KEPT // 8:
        ordered = sorted(s.seen.items(), key=lambda kv: kv[1])
        cut = len(ordered) - SEEN_KEPT // 8
        t.seen = dict(ordered[cut:])
        t.seen_floor = max(t.seen_floor or ordered[cut - 1][1], ordered[cut - 1][1])
    t.closed = dict(list(s.closed.items())[-CLOSED_KEPT // 8 :])
    t.obs = s.obs[-16:]
    return t


def fit(s: PatientState) -> PatientState | None:
    """The state within ``STATE_CAP``: itself when small (by the cheap estimate or its
    encoding), else shrunk; ``None`` when even the shrunk state is over the cap (the caller
    refuses the event and keeps the previous state)."""
    if estimate(s) < ESTIMATE_SAFE or len(encode_state(s)) <= STATE_CAP:
        return s
    small = shrink(s)
    return small if len(encode_state(small)) <= STATE_CAP else None
