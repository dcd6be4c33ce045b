"""`text_depth` reads a response's nesting from its text exactly as walking the parsed document
(`json_depth`) does: brackets in strings, escaped quotes and backslashes included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedded.idx_client import MAX_JSON_DEPTH, UpstreamError, parse_json, text_depth

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FIXTURES = Path(__file__).parents[2] / "shared" / "idx-fixtures"
UNLIMITED = 10**6


def json_depth(doc) -> int:
    """How deeply a parsed JSON document nests: the walk `text_depth` must agree with."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest


# Characters that could fool a reading of the text: brackets and quotes, escapes, a line break,
# non-ASCII (a lone surrogate too, which json.dumps writes out as is without ensure_ascii).
TRICKY = st.text(alphabet='[]{}"\\/ab\n\u00e9\u2028\ud800', max_size=8)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TRICKY
DOCUMENTS = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4), max_leaves=40
)


@settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(doc=DOCUMENTS, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_text_depth_is_the_depth_of_the_parsed_document(doc, ensure_ascii, indent):
    text = json.dumps(doc, ensure_ascii=ensure_ascii, indent=indent)
    assert text_depth(text, UNLIMITED) == json_depth(doc)


@pytest.mark.parametrize(
    "text, depth",
    [
        ("3", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ("{}", 1),
        ('{"a": "}}]]"}', 1),
        ('["\\"[", "]\\\\"]', 1),  # an escaped quote, then an escaped backslash before a closing quote
        ('["\\\\\\"[["]', 1),  # three backslashes: one escaped, one escaping the quote
        ('[["\\\\"], "\\\\[\\"", {"k[": [{}]}]', 4),
        ('{"a": [[[1]]], "b": "]]]]"}', 4),
        ('[{"x": ""}, "", "", [""], "{"]', 2),
        ('[[], [[]], [[[]]], {"a": {"b": {"c": {}}}}]', 5),
    ],
)
def test_text_depth_of_hand_written_documents(text, depth):
    assert text_depth(text, UNLIMITED) == json_depth(json.loads(text)) == depth


def test_text_depth_of_every_fixture():
    documents = sorted(FIXTURES.rglob("*.json"))
    if SHARED_FIXTURES.is_dir():
        documents += sorted(SHARED_FIXTURES.rglob("*.json"))
    assert len(documents) > 100
    for path in documents:
        text = path.read_text(encoding="utf-8")
        assert text_depth(text, UNLIMITED) == json_depth(json.loads(text)), path


def test_text_depth_stops_counting_past_the_limit():
    deep = "[" * 500 + "]" * 500
    assert text_depth(deep, 10) == 11 and text_depth(deep) == MAX_JSON_DEPTH + 1


def test_a_name_full_of_brackets_is_not_too_deep():
    # Checklist 46: an upstream answer nested too deeply is an upstream error, but a person's
    # profile (their text, not structure) must never make a good answer look like one.
    doc = {"version": "1.0.0", "user": {"value": {"profile": {"firstName": "[" * 500, "lastName": "{" * 500}}}}
    assert parse_json(json.dumps(doc).encode(), "utf-8") == doc
    too_deep = json.dumps({"version": "1.0.0", "user": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)})
    with pytest.raises(UpstreamError, match="nested too deeply"):
        parse_json(too_deep.encode(), "utf-8")
    at_the_limit = json.dumps(json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)))
    assert parse_json(f'{{"a": {at_the_limit}}}'.encode(), None) == {"a": json.loads(at_the_limit)}


def test_a_text_in_another_charset_is_read_after_decoding():
    text = '{"name": "\u00e9[[[", "x": [[1]]}'
    assert parse_json(text.encode("utf-16"), "utf-16") == json.loads(text)
    assert text_depth(text) == 3
