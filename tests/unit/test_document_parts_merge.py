"""The documents agent's merge (``agents.documents``): a document's record put together
from its parts is the record of all its problems at once, whatever the parts' split, and a
part counted twice or after the document is done changes nothing."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from agents.documents import Part, collect, decode_part, sweep
from schemas.deadletter import MAX_ISSUES, listed_issues, merged_issues

Problem = tuple[str, str | None]

problems = st.lists(
    st.tuples(st.text(min_size=1, max_size=8), st.none() | st.just("Bundle.entry[0]")),
    max_size=2 * MAX_ISSUES + 5,
)


@given(problems, st.lists(st.integers(0, 2 * MAX_ISSUES + 5), max_size=4), st.integers(0, 50))
def test_merged_shares_equal_all_problems_at_once(
    found: list[Problem], cuts: list[int], unlisted: int
) -> None:
    bounds = sorted({0, len(found), *(min(c, len(found)) for c in cuts)})
    groups = [found[a:b] for a, b in itertools.pairwise(bounds)] or [[]]
    shares = [listed_issues(g) for g in groups]
    shares[0] = listed_issues(groups[0], unlisted=unlisted)
    assert merged_issues(shares) == listed_issues(found, unlisted=unlisted)


def _issue(text: str) -> dict[str, object]:
    return {"severity": "error", "code": "value", "diagnostics": text}


def test_parts_in_any_order_make_the_record_in_document_order() -> None:
    parts = [
        Part(2, 3, [_issue("c")], 0, b"p2", "rejected"),
        Part(0, 3, [_issue("a")], 4, b"inbound-key", "invalid"),
        Part(1, 3, []),
    ]
    stored = None
    complete = None
    for i, part in enumerate(parts):
        stored, complete = collect(stored, decode_part(part.encode()), [("h", b"%d" % i)], 10.0)
        assert (complete is None) == (i < 2)
    assert complete is not None
    assert [x["diagnostics"] for x in complete.issues] == ["a", "c"]
    assert complete.more == 4 and complete.key == b"inbound-key" and complete.reason == "invalid"
    assert complete.headers == [("h", b"1")]  # the first part's message
    # the done marker: a repeat after a stop is not a second record
    again, complete = collect(stored, parts[0], [], 11.0)
    assert complete is None and again == stored


def test_a_part_twice_counts_once() -> None:
    stored, complete = collect(None, Part(0, 2, [_issue("a")]), [], 0.0)
    stored, complete = collect(stored, Part(0, 2, [_issue("a")]), [], 0.0)
    assert complete is None
    _, complete = collect(stored, Part(1, 2, []), [], 0.0)
    assert complete is not None and len(complete.issues) == 1


def test_no_problem_in_any_part_is_no_record() -> None:
    stored, _ = collect(None, Part(0, 2, []), [], 0.0)
    _, complete = collect(stored, Part(1, 2, []), [], 0.0)
    assert complete is None


def test_sweep_drops_old_markers_and_writes_what_an_incomplete_document_found() -> None:
    done, _ = collect(collect(None, Part(0, 2, []), [], 0.0, 1)[0], Part(1, 2, []), [], 0.0, 1)
    partial, _ = collect(None, Part(1, 3, [_issue("b")], 0, None, "rejected"), [], 0.0, 1)
    fresh, _ = collect(None, Part(1, 3, [_issue("b")]), [], 100.0, 1)
    other, _ = collect(None, Part(1, 3, [_issue("b")]), [], 0.0, 2)
    entries = [(b"d", done), (b"p", partial), (b"f", fresh), (b"o", other)]
    swept = dict(sweep(entries, now=150.0, partition=1, keep=100.0))
    assert set(swept) == {b"d", b"p"} and swept[b"d"] is None
    record = swept[b"p"]
    assert record is not None and record.reason == "rejected"
    assert record.issues[0]["diagnostics"] == "b"
    assert record.issues[-1]["code"] == "incomplete"
    assert "parts 0, 2 of the 3 parts" in str(record.issues[-1]["diagnostics"])


def test_a_value_that_is_not_a_part_is_refused() -> None:
    for value in (b"{}", b'{"i": 2, "n": 2}', b'{"i": 0, "n": 1, "more": -1}', b"[]"):
        try:
            decode_part(value)
        except (ValueError, KeyError, TypeError):
            continue
        raise AssertionError(value)


def test_a_large_document_keeps_a_small_entry() -> None:
    """One bit a part: the entry of a 4,000-event document stays small while its parts come
    in (it is written to the changelog with every part), and a part again counts once."""
    stored: bytes | None = None
    sizes = []
    for i in range(3999):
        stored, complete = collect(stored, Part(i, 4000, []), [("h", b"v")], 0.0)
        assert complete is None
        sizes.append(len(stored))
    stored, complete = collect(stored, Part(5, 4000, []), [], 0.0)
    assert complete is None and max(sizes) < 1024, max(sizes)
    _, complete = collect(stored, Part(3999, 4000, [_issue("z")]), [], 0.0)
    assert complete is not None and [x["diagnostics"] for x in complete.issues] == ["z"]


def test_a_swept_document_names_at_most_twenty_missing_parts() -> None:
    stored, _ = collect(None, Part(0, 500, [_issue("a")]), [], 0.0)
    [(_, record)] = sweep([(b"k", stored)], now=10.0, partition=0, keep=1.0)
    assert record is not None
    note = str(record.issues[-1]["diagnostics"])
    assert note.startswith("parts 1, 2, 3,") and "and 479 more of the 500 parts" in note
