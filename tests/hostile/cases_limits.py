"""Real-world data that used to stop or degrade the pipeline (issue 11), one case each:

- sentinel dates (``0001-01-01``, ``9999-12-31``, a year before 1900) in every time field
  the pipeline reads: one dead letter naming the field, never a crash;
- far-future dates (a mistyped 2062) in every time field: more than the horizon past the
  reference time, which is ``--until`` in these replays;
- duplicate JSON keys (another patient for ``subject``), at the top, nested, in a
  collection entry, in Jackson's spacing, with an escaped key;
- a 200 KB collection of 100,000 bad entries: one record, 100 issues listed and the rest
  counted (it used to be 100,000 dead letters, 36 MB);
- a valid document of exactly 1 MiB (the size limit): accepted, embedded and through a
  worker alike;
- a collection of 1,500 valid assessments of 1,500 patients and one invalid entry: one
  record, embedded and through a worker alike (the worker's agents find the problems on
  many partitions; the documents agent puts the one record together, agents/documents.py).

A line over the size limit that must not be read whole is tested apart
(``test_limits.py``): a 300 MB line does not belong in a corpus held in memory.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from tests.hostile.cases_fields import FIELDS
from tests.hostile.corpus_kit import Line, changed, expression, invalid, put, valid
from tests.hostile.templates import Doc, template

#: The reference time of the hostile replays (``corpus_io.UNTIL``).
REFERENCE = "2026-12-31T00:00:00Z"
HORIZON = f"is more than 30 days after the reference time {REFERENCE}"
#: (value, phrase): sentinels and implausible years
SENTINELS = [
    ("0001-01-01", "is before 1900-01-01T00:00:00Z, the earliest plausible time"),
    ("9999-12-31", "is after 2199, the last year the pipeline accepts"),
    ("0001-01-01T00:00:00Z", "the earliest plausible time"),
    ("9999-12-31T23:59:59Z", "the last year the pipeline accepts"),
    ("1899-12-31T23:59:59Z", "the earliest plausible time"),
    ("2062-03-01T00:00:00Z", HORIZON),
]
TIME_FIELDS = [(name, path) for name, path, kind in FIELDS if kind == "datetime"]
LIMIT = 1 << 20


def _times() -> list[Line]:
    lines = []
    for name, path in TIME_FIELDS:
        for value, problem in SENTINELS:
            doc = changed(name, path, value)
            lines.append(invalid(f"time:{name}:{'.'.join(map(str, path))}:{value}", doc,
                                 expression(doc, path), problem))  # fmt: skip
    return lines


def _repeated(name: str, text: bytes, where: str, key: str) -> Line:
    return invalid(f"dup:{name}", text, where, f"duplicate JSON key {key!r}")


def _duplicates() -> list[Line]:
    obs = orjson.dumps(template("obs"))
    subject = b'"subject":{"reference":"Patient/s05"}'
    other = subject + b',"subject":{"reference":"Patient/s01"}'
    coll = orjson.dumps(template("collection"))
    jackson = json.dumps(template("task"), separators=(" , ", " : ")).encode()  # one line
    return [
        _repeated("subject", obs.replace(subject, other), "Observation", "subject"),
        _repeated(
            "reference",
            obs.replace(subject, b'"subject":{"reference":"Patient/s05","reference":"Patient/x"}'),
            "Observation.subject",
            "reference",
        ),
        _repeated(
            "entry",
            coll.replace(b'"status":"final"', b'"status":"final","status":"amended"', 1),
            "Bundle.entry[0].resource",
            "status",
        ),
        _repeated(
            "jackson",
            jackson.replace(b'"status" : ', b'"status" : "x" , "status" : ', 1),
            "Task",
            "status",
        ),
        _repeated(
            "escaped",
            obs.replace(b'"status":', b'"\\u0073tatus":"x","status":', 1),
            "Observation",
            "status",
        ),
    ]


def _amplifier() -> Line:
    """200 KB, 100,000 entries that are not entry objects: one record of bounded size."""
    head = b'{"resourceType":"Bundle","id":"hx-amp","type":"collection","entry":['
    raw = head + b",".join([b"1"] * 100_000) + b"]}"
    data, expect = invalid("amplifier-100k", raw, "Bundle.entry[0]", "expected an entry object")
    assert expect is not None
    expect["issues"] = 100_000
    return data, expect


def _one_mebibyte() -> Line:
    """A valid Observation of exactly the size limit: its narrative fills it."""
    doc: Doc = {**template("obs"), "id": "hx-1mib", "text": {"status": "generated", "div": ""}}
    doc["meta"] = {"versionId": "1"}
    doc["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml"></div>'
    fill = LIMIT - len(orjson.dumps(doc))
    doc["text"]["div"] = doc["text"]["div"].replace("></", ">" + "x" * fill + "</")
    raw = orjson.dumps(doc)
    assert len(raw) == LIMIT, len(raw)
    return valid(raw)


def _nested_sentinel() -> Line:
    """A sentinel inside a Bundle inside a collection, located from the outer one."""
    inner = changed("collection", ("entry", 0, "resource", "effectiveDateTime"), "9999-12-31")
    outer: Any = put(template("collection"), ("entry",), [{"resource": inner}])
    where = "Bundle.entry[0].resource.entry[0].resource.effectiveDateTime"
    return invalid("time:nested", outer, where, "the last year the pipeline accepts")


def _many_events_one_invalid() -> Line:
    """1,500 assessments of 1,500 patients (spread over every ``care.events`` partition) with
    one entry without a code among them: one dead letter naming it, and no other."""
    obs = template("collection")["entry"][0]["resource"]
    entries: list[Any] = []
    for i in range(1500):
        one = {**obs, "id": f"hx-many-{i}", "subject": {"reference": f"Patient/hx-many-{i}"}}
        entries.append({"fullUrl": f"urn:uuid:hx-many-{i}", "resource": one})
    bad = {k: v for k, v in entries[700]["resource"].items() if k != "code"}
    entries[700] = {**entries[700], "resource": bad}
    doc: Any = {"resourceType": "Bundle", "id": "hx-many", "type": "collection", "entry": entries}
    return invalid("many-events-one-invalid", doc, "Bundle.entry[700].resource.code", "required")


def limit_cases() -> list[Line]:
    return [
        *_times(),
        *_duplicates(),
        _amplifier(),
        _one_mebibyte(),
        _nested_sentinel(),
        _many_events_one_invalid(),
    ]
