"""The packed hash sets of the state codec: same bytes as the original per-value encoding,
exact round trip (the ``struct`` version is a performance change only)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

import pipeline.state  # noqa: F401  (pipeline.codec is imported through pipeline.state)
from pipeline.codec_old import _pack, _unpack

U64 = st.integers(min_value=0, max_value=2**64 - 1)


def _pack_reference(values: frozenset[int]) -> str:
    raw = b"".join(v.to_bytes(8, "big") for v in sorted(values))
    return base64.b64encode(raw).decode("ascii")


@given(st.frozensets(U64, max_size=300))
def test_same_bytes_as_reference_and_round_trip(values: frozenset[int]) -> None:
    text = _pack(values)
    assert text == _pack_reference(values)
    assert _unpack(text) == values


def test_odd_length_is_read_as_before() -> None:
    raw = (7).to_bytes(8, "big") + b"\x01\x02"
    assert _unpack(base64.b64encode(raw).decode()) == frozenset({7, 0x0102})
