"""Request bodies encode to the same JSON value with orjson as with the standard library."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_pathors import _json

# JSON values as request bodies hold them (NaN and infinities are not JSON, see below).
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def standard(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None)
@given(values)
def test_same_json_value_as_the_standard_library(body: Any) -> None:
    try:
        expected = standard(body)
    except UnicodeEncodeError:  # a lone surrogate cannot be sent either way
        with pytest.raises(ValueError, match="surrogate"):
            _json.dumps(body)
        return
    encoded = _json.dumps(body)
    assert json.loads(encoded) == json.loads(expected)


def test_typical_body_is_byte_identical() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": 'Zürich ✓ "q" \\ \n\t\u2028\x00\x1f\x7f', "name": "a"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a": 1}'},
                    }
                ],
            },
        ],
        "stream": True,
        "temperature": 0.7,
        "max_tokens": 256,
        "stop": ["\n\n"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    }
    assert _json.dumps(body) == standard(body)


def test_what_orjson_refuses_is_encoded_by_the_standard_library() -> None:
    deep: Any = "leaf"
    for _ in range(300):  # deeper than orjson's limit
        deep = [deep]
    body = {"big": 2**70, "int_keys": {1: "a"}, "deep": deep}
    assert _json.dumps(body) == standard(body)


def test_what_cannot_be_encoded_raises_type_error() -> None:
    with pytest.raises(TypeError):
        _json.dumps({"x": object()})


def test_without_orjson_the_standard_library_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_json, "orjson", None)
    body = {"messages": [{"role": "user", "content": "é"}], "x": 1e-7}
    assert _json.dumps(body) == standard(body)
