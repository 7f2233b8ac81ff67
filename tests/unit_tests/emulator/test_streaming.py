"""Streaming: SSE framing, content and tool-call deltas, the final chunk and [DONE]."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from langchain_pathors.emulator import PathorsEmulator, PathwayReply, ToolCallReply

from .conftest import AUTH, CHAT, deltas, sse_events, user


def stream(client: TestClient, body: dict[str, Any], **headers: str) -> tuple[Any, list[Any]]:
    r = client.post(CHAT, headers={**AUTH, **headers}, json={**body, "stream": True})
    assert r.status_code == 200
    return r, sse_events(r.text)


def test_stream_event_format(client: TestClient):
    r, events = stream(client, {"messages": [user("Hi there,  friend")]}, **{"X-Session-ID": "s"})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["X-Session-ID"] == "s"
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    for c in chunks:
        assert set(c) == {"id", "object", "created", "model", "choices", "session_id"}
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "pathway-default"
        assert c["session_id"] == "s"
        assert c["choices"][0]["index"] == 0
    assert deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"content": "You "},
        {"content": "said: "},
        {"content": "Hi "},
        {"content": "there,  "},
        {"content": "friend"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 6 + ["stop"]


def test_stream_applies_stop_sequences(client: TestClient):
    _, events = stream(client, {"messages": [user("one two three")], "stop": "three"})
    text = "".join(d.get("content", "") for d in deltas(events))
    assert text == "You said: one two "


def test_stream_tool_call_deltas_follow_openai_format(client: TestClient):
    tools = [
        {
            "type": "function",
            "function": {
                "name": name,
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
        for name in ("get_weather", "get_time")
    ]
    _, events = stream(
        client, {"messages": [user("get_weather and get_time in 'Rome'")], "tools": tools}
    )
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"][0]["delta"] == {}
    tool_deltas = [d["tool_calls"][0] for d in deltas(chunks) if "tool_calls" in d]
    calls: dict[int, dict[str, Any]] = {}
    for d in tool_deltas:
        if "id" in d:  # the opening delta of a call
            assert d["index"] not in calls
            assert d["type"] == "function"
            assert d["function"]["arguments"] == ""
            calls[d["index"]] = {"id": d["id"], "name": d["function"]["name"], "args": ""}
        else:
            assert set(d) == {"index", "function"}
            assert set(d["function"]) == {"arguments"}
            calls[d["index"]]["args"] += d["function"]["arguments"]
    assert sorted(calls) == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert all(json.loads(c["args"]) == {"city": "Rome"} for c in calls.values())
    fragments = [d for d in tool_deltas if "id" not in d and d["index"] == 0]
    assert len(fragments) > 1  # arguments arrive in several pieces


def test_pathway_chunks_force_the_split():
    reply = PathwayReply(
        chunks=["Hel", "lo", " wor", "ld"], tool_calls=[ToolCallReply("f", "{}", id="call_x")]
    )
    emu = PathorsEmulator(lambda request: reply)
    with TestClient(emu.app) as c:
        r = c.post(
            "/api/project/test-project/integration/api/chat/completions",
            headers=AUTH,
            json={"messages": [user("x")], "stream": True},
        )
    ds = deltas(sse_events(r.text))
    assert [d["content"] for d in ds if "content" in d][1:] == ["Hel", "lo", " wor", "ld"]
    assert ds[5]["tool_calls"][0]["id"] == "call_x"
    pieces = [d["tool_calls"][0]["function"]["arguments"] for d in ds[6:-1]]
    assert pieces == ["{", "}"]
    assert ds[-1] == {}


def test_stream_false_and_absent_give_json(client: TestClient):
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("x")], "stream": None})
    assert r.headers["content-type"].startswith("application/json")
