"""Document-level hostility: truncated and broken JSON, non-UTF-8 bytes, JSON that is no
FHIR resource, nesting past the depth limit, documents over the size limit, and large
invalid documents just under it (whose dead-letter records must still fit a Kafka topic)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.hostile.corpus_kit import Line, changed, invalid
from tests.hostile.templates import names, template

SCENARIOS = Path(__file__).parents[1] / "scenarios" / "data"
LIMIT = 1_048_576
NOT_JSON, NOT_UTF8, DEEP, BIG = "not JSON", "not UTF-8", "nested deeper than 64", "byte limit"


def _truncated() -> list[Line]:
    lines: list[Line] = []
    for name in names():
        raw = orjson.dumps(template(name))
        for cut in (1, len(raw) // 3, len(raw) // 2, len(raw) - 1):
            lines.append(invalid(f"truncated:{name}:{cut}", raw[:cut], None, NOT_JSON))
    scenario = (SCENARIOS / "06-php-improvement-to-iop.ndjson").read_bytes().splitlines()
    for i, raw in enumerate(scenario[:8]):
        lines.append(invalid(f"truncated:s06:{i}", raw[: len(raw) * 2 // 3], None, NOT_JSON))
    return lines


_OBS = orjson.dumps(template("obs"))
_OBS31 = orjson.dumps({**template("obs"), "valueInteger": 31})
BROKEN: list[tuple[str, bytes, str]] = [
    ("single-quotes", b"{'resourceType': 'Observation'}", NOT_JSON),
    ("trailing-comma", _OBS[:-1] + b",}", NOT_JSON),
    ("comment", b"// PHQ-9\n"[:-1] + _OBS, NOT_JSON),
    ("nan", _OBS.replace(b'"valueInteger":14', b'"valueInteger":NaN'), NOT_JSON),
    ("infinity", _OBS.replace(b'"valueInteger":14', b'"valueInteger":1e999'), NOT_JSON),
    ("two-objects", _OBS + _OBS, NOT_JSON),
    ("garbage-after", _OBS + b" ok", NOT_JSON),
    ("unquoted-key", b'{resourceType: "Observation"}', NOT_JSON),
    ("bare-control-char", _OBS.replace(b"final", b"fi\x01nal"), NOT_JSON),
    ("lone-surrogate-escape", _OBS.replace(b"final", b"\\ud800"), NOT_JSON),
    ("hex-number", _OBS.replace(b'"valueInteger":14', b'"valueInteger":0x0E'), NOT_JSON),
    ("leading-zero", _OBS.replace(b'"valueInteger":14', b'"valueInteger":014'), NOT_JSON),
    (
        "xml",
        b'<Observation xmlns="http://hl7.org/fhir"><status value="final"/></Observation>',
        NOT_JSON,
    ),
    ("latin1-e", _OBS.replace(b"final", b"d\xe9j\xe0"), NOT_UTF8),
    ("ff-byte", b"\xff" + _OBS, NOT_UTF8),
    ("overlong-slash", _OBS.replace(b"final", b"\xc0\xaf"), NOT_UTF8),
    ("utf8-surrogate", _OBS.replace(b"final", b"\xed\xa0\x80"), NOT_UTF8),
    ("truncated-multibyte", _OBS.replace(b"final", b"\xe2\x82"), NOT_UTF8),
    ("utf16", _OBS.decode().encode("utf-16"), NOT_UTF8),
    ("utf32", _OBS.decode().encode("utf-32-le"), NOT_JSON),
    ("nul-bytes", b"\x00" * 16, NOT_JSON),
    ("array", b"[" + _OBS + b"]", "not a JSON object"),
    ("string", b'"Observation"', "not a JSON object"),
    ("number", b"42", "not a JSON object"),
    ("null", b"null", "not a JSON object"),
    ("true", b"true", "not a JSON object"),
    ("empty-object", b"{}", "no resourceType"),
    ("lowercase-key", _OBS.replace(b"resourceType", b"resourcetype"), "no resourceType"),
    ("null-type", b'{"resourceType": null, "id": "x"}', "no resourceType"),
    ("number-type", b'{"resourceType": 7}', "resourceType must be a string"),
    ("empty-type", b'{"resourceType": ""}', "is not a FHIR resource type"),
    ("lowercase-type", _OBS.replace(b'"Observation"', b'"observation"'), "is not a FHIR resource"),
    ("spaced-type", _OBS.replace(b'"Observation"', b'" Observation"'), "is not a FHIR resource"),
]


def _nested(levels: int, kind: str) -> bytes:
    open_, close = (b"[", b"]") if kind == "array" else (b'{"a":', b"}")
    inner = open_ * levels + b"1" + close * levels
    return _OBS[:-1] + b',"extension":' + inner + b"}"


def _deep() -> list[Line]:
    lines = [
        invalid(f"deep:{kind}:{n}", _nested(n, kind), None, DEEP)
        for kind in ("array", "object")
        for n in (64, 100, 255, 300, 5000)
    ]
    in_entry = changed("collection", ("entry", 0, "resource", "extension"), [])
    raw = orjson.dumps(in_entry).replace(b'"extension":[]', b'"extension":' + b"[" * 70 + b"]" * 70)
    lines.append(invalid("deep:in-collection", raw, None, DEEP))
    return lines


def _padded(doc_name: str, size: int, **changes: object) -> bytes:
    doc = {**template(doc_name), **changes}
    body = orjson.dumps({**doc, "note": [{"text": ""}]})
    pad = size - len(body)
    return body.replace(b'"text":""', b'"text":"' + b"x" * pad + b'"')


def _huge() -> list[Line]:
    return [
        invalid("huge:limit+1", _padded("obs", LIMIT + 1), None, f"{LIMIT + 1} bytes, over"),
        invalid("huge:1.5MiB", _padded("enc-discharge", LIMIT * 3 // 2), None, BIG),
        invalid("huge:3MiB", _padded("message", 3 * LIMIT), None, BIG),
        invalid("huge:brackets", b"[" * (LIMIT + 10), None, BIG),
        invalid("huge:spaces", b" " * LIMIT + b"{}", None, BIG),
        # under the limit, invalid, with a raw text that grows when quoted in a record
        invalid(
            "large:score",
            _padded("obs", 1_000_000, valueInteger=31),
            "Observation.valueInteger",
            "31 is outside",
        ),
        invalid(
            "large:quotes",
            _OBS31[:-1] + b',"note":[{"text":"' + b'\\"' * 480_000 + b'"}]}',
            "Observation.valueInteger",
            "31 is outside",
        ),
        invalid("large:control", b"{" + b"\x01" * 300_000 + b"}", None, NOT_JSON),
        invalid("large:non-utf8", b"\xfe" * 760_000, None, NOT_UTF8),
    ]


def byte_cases() -> list[Line]:
    lines = _truncated()
    lines += [invalid(f"broken:{name}", raw, None, why) for name, raw, why in BROKEN]
    return lines + _deep() + _huge()
