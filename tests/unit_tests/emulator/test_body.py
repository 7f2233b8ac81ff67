"""Strict JSON bodies: what the emulator refuses with a 400 because it could not echo it back."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator._body import InvalidBody, parse_json

from .conftest import AUTH, CHAT, SESSION, user


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b'{"a": 1e999}', "too large"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),  # a surrogate encoded as if UTF-8
        (b'"\xff"', "not UTF-8"),
        (nested(65).encode(), "nested deeper than 64"),
        (nested(5000).encode(), "nested deeper than 64"),
        (b'{"a": 1', "Invalid request body"),
        (b"1" * 5000, "Invalid request body"),  # more digits than Python parses
    ],
)
def test_refused_bodies_say_why(raw: bytes, reason: str):
    with pytest.raises(InvalidBody, match=reason):
        parse_json(raw, max_depth=64)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # an escaped pair is one character
        (b"\xef\xbb\xbf[1]", [1]),  # a byte-order mark is ignored
        (b'{"a": 1e308, "b": -0.0}', {"a": 1e308, "b": -0.0}),
        (nested(64).encode(), json.loads(nested(64))),
    ],
)
def test_accepted_bodies(raw: bytes, value: object):
    assert parse_json(raw, max_depth=64) == value


def test_a_lone_surrogate_is_a_400_not_a_500_or_a_cut_stream(client: TestClient):
    raw = b'{"messages": [{"role": "user", "content": "a\\ud800b"}], "stream": true}'
    r = client.post(CHAT, headers={**AUTH, "Content-Type": "application/json"}, content=raw)
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid request body: a string holds a lone surrogate"}


def test_an_emoji_pair_is_echoed(client: TestClient):
    raw = b'{"messages": [{"role": "user", "content": "hi \\ud83d\\ude00"}]}'
    r = client.post(CHAT, headers={**AUTH, "Content-Type": "application/json"}, content=raw)
    assert r.json()["choices"][0]["message"]["content"] == "You said: hi \U0001f600"


def test_session_variables_nested_600_levels_are_a_400(client: TestClient):
    deep: object = "leaf"
    for _ in range(600):
        deep = {"k": deep}
    body = json.dumps({"session_id": "deep", "variables": {"v": deep}})
    r = client.post(SESSION, headers=AUTH, content=body)
    assert r.status_code == 400
    assert "nested deeper than 64 levels" in r.json()["error"]


def test_a_body_that_is_not_json_is_logged_without_a_body(client: TestClient, emulator):
    r = client.post(CHAT, headers=AUTH, content=b"not json")
    assert r.json() == {"error": "Invalid request body"}
    assert emulator.requests[-1].json is None
    ok = client.post(CHAT, headers=AUTH, json={"messages": [user("x")]})
    assert ok.status_code == 200
    assert emulator.requests[-1].json == {"messages": [user("x")]}
