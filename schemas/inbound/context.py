"""What a reader needs beyond the resource: settings-derived tables, the enclosing Bundle,
and the source part of the patient key (contract §2).

:class:`Env` holds what is derived once per (rules, base): the level-of-care table, the
site time zone, the patient-key identifier system, the identity settings. It is cached by
the identity of the ``RuleConfig`` object (a frozen settings object built once at
start-up), so the replay hot path never recomputes it per document.

The **source** of a patient key, first found: the channel source (Kafka header
``carepath-source``, ``replay --source``); with ``identity.source_from_meta``, the
Bundle's ``meta.source``, else the resource's own; else ``identity.default_source``. A
``meta.source`` is cut at ``#``, its scheme and host lower-cased, trailing ``/`` dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from pipeline.clock import zone
from pipeline.config import RuleConfig
from pipeline.levels import Level
from schemas.codes import level_table
from schemas.inbound.fields import obj, string
from schemas.timeparse import Frame, frame_of

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Env:
    """Settings-derived values of one (rules, base) pair."""

    rules: RuleConfig
    levels: dict[tuple[str, str], Level]
    tz: tzinfo
    #: ``{base}/patient-key``: the identifier system of a patient key (contract §2)
    key_system: str
    from_meta: bool
    default_source: str
    #: how times are read without a reference time (no horizon, issue 11)
    frame: Frame
    #: frames of recent reference times (a replay's ``--until`` is one for the whole run)
    frames: dict[datetime, Frame] = field(default_factory=dict)

    def frame_at(self, reference: datetime | None) -> Frame:
        """The frame for a document read at ``reference`` (wall clock, ``--until``)."""
        if reference is None:
            return self.frame
        found = self.frames.get(reference)
        if found is None:
            if len(self.frames) >= 8:
                self.frames.clear()
            time = self.rules.time
            found = frame_of(self.tz, time.earliest_year, reference, time.horizon_days)
            self.frames[reference] = found
        return found


_ENVS: dict[tuple[int, str], Env] = {}


def env_of(rules: RuleConfig, base: str) -> Env:
    """The cached :class:`Env` of ``rules`` and ``base``."""
    env = _ENVS.get((id(rules), base))
    if env is not None and env.rules is rules:
        return env
    if len(_ENVS) >= 32:  # settings objects are few; a test suite makes many
        _ENVS.clear()
    identity, tz = rules.identity, zone(rules.site.timezone)
    env = Env(
        rules=rules,
        levels=level_table(base),
        tz=tz,
        key_system=base.rstrip("/") + "/patient-key",
        from_meta=identity.source_from_meta,
        default_source=identity.default_source,
        frame=frame_of(tz, rules.time.earliest_year),
    )
    _ENVS[(id(rules), base)] = env
    return env


@dataclass(slots=True)
class Ctx:
    """Per document: the environment, how times are read, the Bundle index and the key
    source in force."""

    env: Env
    frame: Frame
    #: fullUrl and ``Type/id`` of every entry of the enclosing Bundle → its resource.
    index: dict[str, Json] = field(default_factory=dict)
    #: the source fixed for the whole document (channel, or the Bundle's ``meta.source``)
    source: str | None = None
    #: the source of the resource being read (set per resource by :func:`enter`)
    key_source: str = ""

    @property
    def levels(self) -> dict[tuple[str, str], Level]:
        return self.env.levels

    @property
    def tz(self) -> tzinfo:
        return self.env.tz


def enter(ctx: Ctx, res: Json) -> None:
    """Set ``ctx.key_source`` for reading ``res`` (contract §2)."""
    if ctx.source is not None:
        ctx.key_source = ctx.source
        return
    own = meta_source(res) if ctx.env.from_meta else None
    ctx.key_source = own if own is not None else ctx.env.default_source


def meta_source(res: Json, path: str = "meta.source") -> str | None:
    """The normalized ``meta.source`` of ``res``; ``None`` when absent or empty."""
    meta = obj(res, "meta", "meta")
    raw = string(meta, "source", path) if meta else None
    if raw is None:
        return None
    return normal_source(raw) or None


def normal_source(value: str) -> str:
    """``value`` cut at ``#``, scheme and host lower-cased, without a trailing ``/``."""
    text = value.split("#", 1)[0].strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        host, slash, path = rest.partition("/")
        text = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    return text.rstrip("/")


def patient_key(ctx: Ctx, pid: str) -> str:
    """``<source>|<id>``, or the plain ``<id>`` without a source."""
    source = ctx.key_source
    return f"{source}|{pid}" if source else pid
