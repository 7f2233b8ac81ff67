"""orjson and the standard library agree: request bodies encode, and answers decode, alike."""

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


# ------------------------------------------------------------------------------- decoding
# Integers within 64 bits (see the test of larger ones below).
answers = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(answers)
def test_decodes_what_the_standard_library_decodes(body: Any) -> None:
    text = json.dumps(body)  # ASCII escapes, lone surrogates included
    assert _json.loads(text) == json.loads(text)
    assert _json.loads(text.encode()) == json.loads(text.encode())


@pytest.mark.parametrize(
    "text",
    [
        '{"x": NaN, "y": Infinity}',  # not JSON, but what json.loads has always read
        '{"lone": "\\ud800"}',
        '"\\u00e9"',
    ],
)
def test_what_orjson_refuses_is_decoded_by_the_standard_library(text: str) -> None:
    decoded = _json.loads(text)
    expected = json.loads(text)
    assert repr(decoded) == repr(expected)  # repr: NaN != NaN


def test_integers_beyond_64_bits_decode_as_floats_with_orjson() -> None:
    # The one documented difference: no field of a chat completion holds such a number
    # (ids are strings, counts are small), so the faster decoder is used as it is.
    decoded = _json.loads('{"n": 123456789012345678901234567890}')["n"]
    expected = 123456789012345678901234567890
    assert decoded == (float(expected) if _json.orjson is not None else expected)


def test_utf16_bytes_decode_as_json_loads_does() -> None:
    data = '{"a": "é"}'.encode("utf-16")
    assert _json.loads(data) == json.loads(data) == {"a": "é"}


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "[1, 2", "nul", '"\\x"'])
def test_malformed_json_raises_what_json_loads_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        _json.loads(text)


def test_absurd_nesting_raises_a_recursion_or_value_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises((RecursionError, ValueError)):
        _json.loads(deep)


def test_decoding_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_json, "orjson", None)
    assert _json.loads(b'{"a": [1, 2.5, "\xc3\xa9"]}') == {"a": [1, 2.5, "é"]}
