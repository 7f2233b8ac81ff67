"""The chat-completions endpoint: shapes, auth, routing, validation, stop sequences, logs."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator import PathorsEmulator, RecordedRequest
from langchain_pathors.emulator._state import SessionStore

from .conftest import AUTH, CHAT, KEY, SESSION, user


def test_non_stream_response_has_exactly_the_documented_shape(client: TestClient):
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("Hello!")], "stream": False})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage", "session_id"}
    assert re.fullmatch(r"chatcmpl-[0-9a-f]+", body["id"])
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert abs(body["created"] - time.time()) < 60
    assert body["model"] == "pathway-default"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "You said: Hello!"},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": -1, "completion_tokens": -1, "total_tokens": -1}
    assert body["session_id"] == r.headers["X-Session-ID"]


def test_model_name_is_configurable():
    emu = PathorsEmulator(model="my-pathway")
    with TestClient(emu.app) as c:
        r = c.post(
            "/api/project/test-project/integration/api/chat/completions",
            headers=AUTH,
            json={"messages": [user("Hi")]},
        )
    assert r.json()["model"] == "my-pathway"


def test_list_content_is_flattened(client: TestClient):
    content = [{"type": "text", "text": "Hello "}, {"type": "text", "text": "world"}]
    r = client.post(CHAT, headers=AUTH, json={"messages": [{"role": "user", "content": content}]})
    assert r.json()["choices"][0]["message"]["content"] == "You said: Hello world"


def test_echo_answers_the_last_user_message(client: TestClient):
    messages = [
        {"role": "developer", "content": "Be brief"},
        user("first"),
        {"role": "assistant", "content": "You said: first"},
        user("second"),
    ]
    r = client.post(CHAT, headers=AUTH, json={"messages": messages})
    assert r.json()["choices"][0]["message"]["content"] == "You said: second"


def test_unknown_openai_fields_are_accepted_and_ignored(client: TestClient):
    body = {
        "messages": [user("Hi")],
        "temperature": 0.2,
        "max_tokens": 5,
        "model": "gpt-whatever",
        "response_format": {"type": "text"},
        "n": 1,
    }
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 200
    assert r.json()["model"] == "pathway-default"
    assert r.json()["choices"][0]["message"]["content"] == "You said: Hi"


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("beta", "You said: alpha "),
        (["zzz", " gamma", "beta"], "You said: alpha "),
        ([], "You said: alpha beta gamma"),
        ("absent", "You said: alpha beta gamma"),
    ],
)
def test_stop_sequences_cut_the_reply(client: TestClient, stop: Any, expected: str):
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("alpha beta gamma")], "stop": stop})
    assert r.json()["choices"][0]["message"]["content"] == expected
    assert r.json()["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": "Basic x"}],
)
@pytest.mark.parametrize("path", [CHAT, SESSION])
def test_missing_or_wrong_key_is_401(client: TestClient, headers: dict[str, str], path: str):
    r = client.post(path, headers=headers, json={"messages": [user("Hi")], "session_id": "s"})
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid authentication"}


def test_unknown_project_is_404_before_auth(client: TestClient):
    r = client.post(
        "/api/project/other-project/integration/api/chat/completions",
        json={"messages": [user("Hi")]},
    )
    assert r.status_code == 404
    assert r.json() == {"error": "project not found"}


def test_project_segment_is_percent_decoded_once():
    emu = PathorsEmulator(project_id="team/a b%")
    with TestClient(emu.app) as c:
        ok = c.post(
            "/api/project/team%2Fa%20b%25/integration/api/chat/completions",
            headers=AUTH,
            json={"messages": [user("Hi")]},
        )
        split = c.post(
            "/api/project/team/a b%25/integration/api/chat/completions",
            headers=AUTH,
            json={"messages": [user("Hi")]},
        )
    assert ok.status_code == 200
    assert split.status_code == 404


def test_other_paths_and_methods(client: TestClient):
    assert client.post("/v1/chat/completions", headers=AUTH, json={}).json() == {
        "error": "not found"
    }
    r = client.get(CHAT, headers=AUTH)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "messages must be a non-empty array"),
        ({"messages": []}, "messages must be a non-empty array"),
        ({"messages": "hi"}, "messages must be a non-empty array"),
        ({"messages": ["hi"]}, "messages[0] must be an object"),
        (
            {"messages": [user("a"), {"role": "robot", "content": "x"}]},
            "messages[1].role must be one of system, user, assistant, tool",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0].content is required"),
        (
            {"messages": [{"role": "user", "content": 5}]},
            "messages[0].content must be a string or an array",
        ),
        (
            {"messages": [{"role": "user", "content": [5]}]},
            "messages[0].content parts must be objects",
        ),
        (
            {"messages": [user("a"), {"role": "tool", "content": "r"}]},
            "messages[1].tool_call_id is required for tool messages",
        ),
        (
            {"messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}]},
            "messages[0].tool_calls[0] is invalid",
        ),
        ({"messages": [user("a")], "stream": "yes"}, "stream must be a boolean"),
        ({"messages": [user("a")], "stop": [1]}, "stop must be a string or an array of strings"),
        ({"messages": [user("a")], "tools": {}}, "tools must be an array"),
        (
            {"messages": [user("a")], "tools": [{"type": "code"}]},
            "tools[0].type must be 'function'",
        ),
        (
            {"messages": [user("a")], "tools": [{"type": "function"}]},
            "tools[0].function must be an object",
        ),
        (
            {"messages": [user("a")], "tools": [{"type": "function", "function": {"name": "a b"}}]},
            "tools[0].function.name must match ^[A-Za-z0-9_-]{1,64}$",
        ),
        (
            {
                "messages": [user("a")],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}],
            },
            "tools[0].function.parameters must be an object",
        ),
        (
            {
                "messages": [user("a")],
                "tools": [{"type": "function", "function": {"name": "f"}}] * 2,
            },
            "tools[1].function.name duplicates 'f'",
        ),
        (
            {"messages": [user("a")], "tool_choice": "required"},
            "tool_choice 'required' needs tools",
        ),
        (
            {
                "messages": [user("a")],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
            "tool_choice names unknown tool 'g'",
        ),
        (
            {"messages": [user("a")], "tool_choice": "sometimes"},
            "tool_choice must be 'auto', 'none', 'required' or a function choice",
        ),
    ],
)
def test_invalid_chat_bodies_are_400_naming_the_field(
    client: TestClient, emulator: PathorsEmulator, body: dict[str, Any], message: str
):
    r = client.post(CHAT, headers={**AUTH, "X-Session-ID": "v"}, json=body)
    assert r.status_code == 400
    assert r.json() == {"error": message}
    assert emulator.session("v") is None  # a rejected request is not a turn


def test_invalid_json_is_400(client: TestClient):
    r = client.post(CHAT, headers={**AUTH, "Content-Type": "application/json"}, content=b"{nope")
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid request body"}


def test_assistant_null_content_with_tool_calls_is_valid(client: TestClient):
    messages = [
        user("weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    r = client.post(CHAT, headers=AUTH, json={"messages": messages})
    assert r.status_code == 200


def test_requests_are_recorded_with_the_key_redacted(client: TestClient, emulator: PathorsEmulator):
    client.post(CHAT, headers={**AUTH, "X-Session-ID": "rec"}, json={"messages": [user("Hi")]})
    client.post(CHAT, headers={"Authorization": "Bearer wrong"}, content=b"not json")
    first, second = emulator.requests
    assert first.method == "POST"
    assert first.path == CHAT
    assert first.headers["authorization"] == "Bearer ***"
    assert first.headers["x-session-id"] == "rec"
    assert first.json == {"messages": [user("Hi")]}
    assert first.session_id == "rec"
    assert second.json is None
    assert KEY not in repr(emulator.requests)


def test_request_log_keeps_the_last_1000():
    store = SessionStore()
    for i in range(1005):
        store.record(RecordedRequest("POST", "/p", {}, {"i": i}, None))
    log = store.requests()
    assert len(log) == 1000
    assert log[0].json == {"i": 5}
    assert log[-1].json == {"i": 1004}
