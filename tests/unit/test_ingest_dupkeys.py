"""Duplicate JSON keys are invalid input naming the key and where (issue 11); the cheap
pre-check never lets one through, whatever the spacing and escaping of the document."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.inbound.dupkeys import may_repeat_keys, repeated_key
from schemas.inbound.parse import DocumentProblem, parse_document
from schemas.ingest import ingest
from tests.unit.ingest_docs import collection, message, observation

WHY = "JSON keys must be unique"


def test_a_repeated_subject_is_refused_naming_it() -> None:
    raw = (
        b'{"resourceType":"Observation","id":"o1","status":"final",'
        b'"subject":{"reference":"Patient/a"},"subject":{"reference":"Patient/b"}}'
    )
    out = ingest(raw)
    assert out.events == [] and len(out.errors) == 1
    [err] = out.errors
    assert err.expression == "Observation" and err.code == "structure"
    assert err.diagnostics.startswith("Observation: duplicate JSON key 'subject' (")


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        ('{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
         '{"resourceType":"Observation","subject":{"reference":"a","reference":"b"}}}]}',
         "Bundle.entry[0].resource.subject", "reference"),
        ('{"resourceType" : "Observation" , "id" : "x" , "id" : "y"}', "Observation", "id"),
        ('{\n  "resourceType": "Task",\n  "for": {"reference": "Patient/1"},\n'
         '  "for": {"reference": "Patient/2"}\n}', "Task", "for"),
        ('{"a":1,"a":2}', "$", "a"),
        ('{"resourceType":"Observation","x y":{"k":1,"k":2}}', "Observation['x y']", "k"),
        ('{"resourceType":"Observation","note":[{"text":"a\\u003a"}],"id":"x","id":"y"}',
         "Observation", "id"),
        ('{"resourceType":"Observation","a\\u003ab":1,"id":"x","id":"y"}', "Observation", "id"),
        ('{"resourceType":"Observation","id":"x","\\u0069d":"y"}', "Observation", "id"),
    ],
)  # fmt: skip
def test_the_location_and_key_are_named(text: str, where: str, key: str) -> None:
    raw = text.encode()
    with pytest.raises(DocumentProblem) as caught:
        parse_document(raw, 1 << 20, 64)
    p = caught.value
    assert (p.expression, p.code) == (where, "structure")
    assert p.message.startswith(f"{where}: duplicate JSON key {key!r} ({WHY}")


@pytest.mark.parametrize(
    "doc",
    [observation(), message(), collection(observation(), observation(id="o2"))],
)
def test_valid_documents_pass_in_every_style(doc: dict[str, Any]) -> None:
    for raw in (
        orjson.dumps(doc),
        orjson.dumps(doc, option=orjson.OPT_INDENT_2),
        json.dumps(doc, indent=4, separators=(",", " : ")).encode(),  # Jackson's style
        json.dumps({**doc, "note": [{"text": 'é":x "k": 1'}]}, ensure_ascii=True).encode(),
    ):
        assert repeated_key(raw) is None
        assert ingest(raw).errors == []


def test_the_message_bundle_of_a_repeated_key_is_one_dead_letter() -> None:
    raw = orjson.dumps(message()).replace(b'"type":"message"', b'"type":"message","type":"x"')
    [err] = ingest(raw).errors
    assert err.expression == "Bundle" and "duplicate JSON key 'type'" in err.diagnostics


# -- property: no repeated key gets past the pre-check -----------------------------------
KEYS = st.sampled_from(["a", "b", "id", "subject", "x:y", 'q"', "é", ":", "\\"])
LEAVES = st.none() | st.integers() | st.text(alphabet='ab:"\\é \u2028', max_size=5) | st.booleans()
TREES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.tuples(KEYS, inner), max_size=4).map(lambda kv: ("obj", kv))
    ),
    max_leaves=12,
)


def _write(value: Any, ascii_only: bool, spaced: bool) -> str:
    """JSON text of ``value``, where ``("obj", pairs)`` is an object written with its pairs
    as given (repeats included)."""
    colon, comma = (" : ", " , ") if spaced else (":", ",")
    if isinstance(value, tuple):
        items = (
            json.dumps(k, ensure_ascii=ascii_only) + colon + _write(v, ascii_only, spaced)
            for k, v in value[1]
        )
        return "{" + comma.join(items) + "}"
    if isinstance(value, list):
        return "[" + comma.join(_write(v, ascii_only, spaced) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def _repeats(value: Any) -> bool:
    if isinstance(value, tuple):
        keys = [k for k, _ in value[1]]
        return len(keys) != len(set(keys)) or any(_repeats(v) for _, v in value[1])
    if isinstance(value, list):
        return any(_repeats(v) for v in value)
    return False


@settings(max_examples=400, deadline=None)
@given(TREES, st.booleans(), st.booleans())
def test_precheck_never_misses_a_repeat(tree: Any, ascii_only: bool, spaced: bool) -> None:
    raw = _write(("obj", [("resourceType", "Observation"), ("v", tree)]), ascii_only, spaced)
    data = raw.encode()
    repeated = _repeats(tree)
    text = orjson.dumps(orjson.loads(data))
    if repeated:
        assert may_repeat_keys(data, text)
        assert repeated_key(data) is not None
    else:
        assert repeated_key(data) is None
        parse_document(data, 1 << 20, 64)  # no DocumentProblem
