"""The emulator's bounds: request size, tools, stop, variables, stream deltas, and what it keeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Message, Scope

from langchain_pathors.emulator import EmulatorLimits, PathorsEmulator, RecordedRequest
from langchain_pathors.emulator._state import SessionStore

from .conftest import AUTH, CHAT, SESSION, deltas, sse_events, user


def small(**limits: int) -> tuple[PathorsEmulator, TestClient]:
    emulator = PathorsEmulator(limits=EmulatorLimits(**limits))
    return emulator, TestClient(emulator.app)


def test_limits_must_be_positive_integers():
    with pytest.raises(ValueError, match="max_body_bytes must be a positive integer"):
        EmulatorLimits(max_body_bytes=0)
    with pytest.raises(ValueError, match="max_tools"):
        EmulatorLimits(max_tools=True)


def test_a_body_over_the_cap_is_a_413(client: TestClient, emulator: PathorsEmulator):
    emulator.limits.max_body_bytes = 1000  # limits apply from the next request
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("x" * 2000)]})
    assert r.status_code == 413
    assert r.json() == {"error": "request body too large (limit 1000 bytes)"}
    assert emulator.requests[-1].json is None  # not kept
    assert client.post(CHAT, headers=AUTH, json={"messages": [user("x" * 900)]}).status_code == 200


def test_a_chunked_body_is_cut_off_at_the_cap(client: TestClient, emulator: PathorsEmulator):
    emulator.limits.max_body_bytes = 10_000

    def pieces() -> Iterator[bytes]:  # no Content-Length: the server must count
        for _ in range(100):
            yield b" " * 1000

    r = client.post(CHAT, headers=AUTH, content=pieces())
    assert r.status_code == 413
    assert r.json()["error"] == "request body too large (limit 10000 bytes)"


async def test_a_wrong_key_is_refused_before_the_body_is_read(emulator: PathorsEmulator):
    # Driven at the ASGI level, to see exactly which body messages the app asked for.
    asked: list[str] = []
    sent: list[Message] = []

    async def receive() -> Message:
        asked.append("body")
        return {"type": "http.request", "body": b'{"messages": []}', "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": CHAT,
        "raw_path": CHAT.encode(),
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer wrong"), (b"content-length", b"50000000")],
    }
    await emulator.app(scope, receive, send)
    assert sent[0]["status"] == 401
    assert asked == []  # not one byte of the 50 MB was read
    assert emulator.requests[-1].json is None


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("tools", "many", "tools must have at most 2 entries"),
        ("stop", ["a", "b", "c"], "stop must have at most 2 sequences"),
    ],
)
def test_tools_and_stop_are_bounded(field: str, value: Any, error: str):
    tools = [
        {"type": "function", "function": {"name": f"tool_{i}", "parameters": {}}} for i in range(3)
    ]
    _, client = small(max_tools=2, max_stop=2)
    body = {"messages": [user("x")], field: tools if value == "many" else value}
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 400
    assert r.json() == {"error": error}


def test_session_variables_are_bounded(client: TestClient, emulator: PathorsEmulator):
    emulator.limits.max_variables_bytes = 100
    big = {"session_id": "s", "variables": {"notes": "x" * 100}}
    r = client.post(SESSION, headers=AUTH, json=big)
    assert r.status_code == 400
    assert r.json() == {"error": "variables must be at most 100 bytes as JSON"}
    assert emulator.session("s") is None


def test_sessions_are_forgotten_least_recently_used_first():
    emulator, client = small(max_sessions=3)
    for sid in ("a", "b", "c"):
        client.post(CHAT, headers={**AUTH, "X-Session-ID": sid}, json={"messages": [user("x")]})
    client.post(CHAT, headers={**AUTH, "X-Session-ID": "a"}, json={"messages": [user("x")]})
    client.post(SESSION, headers=AUTH, json={"session_id": "d", "variables": {"k": "v"}})
    assert [s.session_id for s in emulator.sessions()] == ["c", "a", "d"]  # b was idlest
    record = emulator.session("a")
    assert record is not None
    assert record.turns == 2


def test_sessions_are_bounded_by_the_size_of_their_variables():
    store = SessionStore(EmulatorLimits(max_session_bytes=60))
    store.create("one", {"v": "x" * 20})  # {"v":"xx..."} is 28 characters of JSON
    store.create("two", {"v": "y" * 20})
    store.create("three", {"v": "z" * 20})
    assert [s.session_id for s in store.all()] == ["two", "three"]


def test_variables_are_copies_both_ways():
    store = SessionStore()
    variables = {"user": {"name": "Ada"}}
    store.create("s", variables)
    variables["user"]["name"] = "changed by the caller"
    snapshot = store.begin_turn("s")
    snapshot.variables["user"]["name"] = "changed by the reader"
    again = store.get("s")
    assert again is not None
    assert again.variables == {"user": {"name": "Ada"}}


def test_the_request_log_is_bounded_by_count_and_by_bytes():
    store = SessionStore(EmulatorLimits(max_recorded_requests=3, max_recorded_bytes=1000))
    for i in range(5):
        raw = f'{{"i": {i}}}'.encode()
        store.record(RecordedRequest("POST", "/p", {}, {"i": i}, None), raw)
    assert [r.json for r in store.requests()] == [{"i": 2}, {"i": 3}, {"i": 4}]
    store.record(RecordedRequest("POST", "/p", {}, {"big": 1}, None), b" " * 990 + b'{"big": 1}')
    assert [r.json for r in store.requests()] == [{"big": 1}]  # the newest always stays


def test_logged_bodies_are_fresh_copies(client: TestClient, emulator: PathorsEmulator):
    client.post(CHAT, headers=AUTH, json={"messages": [user("x")]})
    emulator.requests[-1].json["messages"].clear()
    assert emulator.requests[-1].json == {"messages": [user("x")]}


def test_a_long_streamed_reply_is_grouped_into_few_deltas():
    _, client = small(max_stream_deltas=4)
    words = " ".join(f"w{i}" for i in range(10))
    r = client.post(CHAT, headers=AUTH, json={"messages": [user(words)], "stream": True})
    content = [d["content"] for d in deltas(sse_events(r.text)) if d.get("content")]
    assert len(content) == 4
    assert "".join(content) == f"You said: {words}"
    assert sse_events(r.text)[-1] == "[DONE]"


def test_a_pathways_own_chunks_are_sent_as_given():
    from langchain_pathors.emulator import PathwayReply

    chunks = [f"c{i} " for i in range(10)]
    emulator = PathorsEmulator(
        lambda req: PathwayReply(chunks=chunks), limits=EmulatorLimits(max_stream_deltas=2)
    )
    with TestClient(emulator.app) as client:
        r = client.post(CHAT, headers=AUTH, json={"messages": [user("x")], "stream": True})
    assert [d["content"] for d in deltas(sse_events(r.text)) if d.get("content")] == chunks


def test_many_tools_mentioned_in_one_message_are_all_called_in_order(client: TestClient):
    # One regex for all names (a trie of their words) must find what one regex per name
    # found: whole words, any case, "_", "-" and spaces alike, in mention order.
    names = [f"tool_{i}" for i in range(128)]
    tools = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in names]
    text = " then ".join(f"TOOL-{i}" for i in reversed(range(128))) + " and xtool_1 tool_1x"
    r = client.post(CHAT, headers=AUTH, json={"messages": [user(text)], "tools": tools})
    calls = r.json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == list(reversed(names))
