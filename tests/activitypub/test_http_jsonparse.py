"""parse_json: depth limit without RecursionError (TC25)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activitypub.jsonparse import InvalidJSON, JSONTooDeep, json_depth_exceeds, parse_json


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_deep_array_is_refused_within_milliseconds() -> None:
    data = nested(100_000)
    start = time.perf_counter()
    with pytest.raises(JSONTooDeep):
        parse_json(data)
    assert time.perf_counter() - start < 0.1


def test_deep_objects_are_refused() -> None:
    data = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    with pytest.raises(JSONTooDeep):
        parse_json(data)


def test_depth_limit_is_exact() -> None:
    assert parse_json(nested(64)) == json.loads(nested(64))
    with pytest.raises(JSONTooDeep):
        parse_json(nested(65))
    assert parse_json(nested(3), max_depth=3) == [[[]]]
    with pytest.raises(JSONTooDeep):
        parse_json(nested(4), max_depth=3)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000 + '\\"{' * 1000, "t": ["]]]", "\\"]})
    assert parse_json(text.encode()) == json.loads(text)


def test_unterminated_string_is_invalid_and_fast() -> None:
    data = b'["' + b"a\\" * 200_000
    start = time.perf_counter()
    with pytest.raises(InvalidJSON):
        parse_json(data)
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("data", [b"", b"{", b"[1,]", b"\xff\xfe", b"NaN", b'{"a" 1}', b"]["])
def test_invalid_json_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidJSON):
        parse_json(data)


def test_wide_flat_document_passes() -> None:
    data = b"[" + b",".join([b"[]"] * 20_000) + b"]"
    assert len(parse_json(data)) == 20_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=50, deadline=None)
@given(json_values)
def test_depth_check_agrees_with_real_depth(value: object) -> None:
    data = json.dumps(value).encode()
    depth = _depth(value)
    assert not json_depth_exceeds(data, depth)
    if depth > 0:
        assert json_depth_exceeds(data, depth - 1)
    assert parse_json(data, max_depth=max(depth, 1)) == value
