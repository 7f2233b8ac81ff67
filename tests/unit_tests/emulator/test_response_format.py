"""OpenAI's response_format in the echo pathway: json_schema, json_object, text, and 400s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator import PathorsEmulator, PathwayReply, PathwayRequest

from .conftest import AUTH, CHAT, deltas, sse_events, user

jsonschema = pytest.importorskip("jsonschema")

JOKE = {
    "title": "Joke",
    "type": "object",
    "properties": {
        "setup": {"type": "string", "description": "question to set up a joke"},
        "punchline": {"type": "string"},
        "rating": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["setup", "punchline", "rating"],
}


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "Joke", "schema": schema}}


def content(client: TestClient, body: dict[str, Any], **headers: str) -> str:
    r = client.post(CHAT, headers={**AUTH, **headers}, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["finish_reason"] == "stop"
    return r.json()["choices"][0]["message"]["content"]


def test_json_schema_reply_is_built_from_the_schema_and_the_user_words(client: TestClient):
    body = {
        "messages": [user("A joke about 'cats', rated 12 out of 10")],
        "response_format": json_schema(JOKE),
    }
    reply = json.loads(content(client, body))
    jsonschema.validate(reply, JOKE)
    # Same rule as tool arguments: quoted phrases for strings, numbers clamped to the range.
    assert reply == {"setup": "cats", "punchline": "cats", "rating": 10}


def test_json_schema_without_quotes_uses_the_message_text(client: TestClient):
    body = {"messages": [user("Tell me a joke")], "response_format": json_schema(JOKE)}
    assert json.loads(content(client, body)) == {
        "setup": "Tell me a joke",
        "punchline": "Tell me a joke",
        "rating": 1,
    }


def test_json_schema_after_tool_results_is_built_from_the_summary(client: TestClient):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "total": {"type": "number"}},
        "required": ["answer", "total"],
    }
    messages = [
        user("add 2 and 3 with add"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "add", "content": "5"},
    ]
    reply = json.loads(
        content(client, {"messages": messages, "response_format": json_schema(schema)})
    )
    assert reply == {"answer": "Tool results: add: 5.", "total": 5.0}


def test_json_object_wraps_the_echo_reply(client: TestClient):
    body = {"messages": [user("Hi there")], "response_format": {"type": "json_object"}}
    assert json.loads(content(client, body)) == {"reply": "You said: Hi there"}


def test_json_object_keeps_the_first_turn_greeting(client: TestClient):
    r = client.post(
        "/api/project/test-project/integration/api/session",
        headers=AUTH,
        json={"session_id": "s-json", "variables": {"userName": "Ada"}},
    )
    assert r.status_code == 200
    body = {"messages": [user("Hi")], "response_format": {"type": "json_object"}}
    reply = json.loads(content(client, body, **{"X-Session-ID": "s-json"}))
    assert reply == {"reply": "Hello! Session variables: userName=Ada. You said: Hi"}


def test_text_format_is_plain_echo(client: TestClient):
    body = {"messages": [user("Hi")], "response_format": {"type": "text"}}
    assert content(client, body) == "You said: Hi"


def test_tool_calls_take_precedence_over_response_format(client: TestClient):
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    }
    body = {
        "messages": [user("use get_weather")],
        "tools": [tool],
        "response_format": {"type": "json_object"},
    }
    r = client.post(CHAT, headers=AUTH, json=body)
    message = r.json()["choices"][0]["message"]
    assert message["content"] == ""
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"


def test_streamed_json_schema_reply_concatenates_to_the_json(client: TestClient):
    body = {
        "messages": [user("A joke about 'cats'")],
        "response_format": json_schema(JOKE),
        "stream": True,
    }
    r = client.post(CHAT, headers=AUTH, json=body)
    events = sse_events(r.text)
    pieces = [d.get("content") or "" for d in deltas(events)]
    assert len([p for p in pieces if p]) > 1  # really streamed, in pieces
    assert json.loads("".join(pieces)) == {"setup": "cats", "punchline": "cats", "rating": 1}


@pytest.mark.parametrize(
    ("response_format", "error"),
    [
        ("json", "response_format.type must be"),
        ({"type": "xml"}, "response_format.type must be"),
        ({}, "response_format.type must be"),
        ({"type": "json_schema"}, "response_format.json_schema.schema must be an object"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": "nope"}},
            "response_format.json_schema.schema must be an object",
        ),
    ],
)
def test_invalid_response_format_is_a_400(client: TestClient, response_format: Any, error: str):
    body = {"messages": [user("Hi")], "response_format": response_format}
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 400
    assert r.json()["error"].startswith(error)


def test_custom_pathways_see_the_response_format():
    seen: list[dict[str, Any] | None] = []

    def pathway(request: PathwayRequest) -> PathwayReply:
        seen.append(request.response_format)
        return PathwayReply(content="{}")

    with TestClient(PathorsEmulator(pathway).app) as c:
        body = {"messages": [user("Hi")], "response_format": {"type": "json_object"}}
        r = c.post(CHAT, headers=AUTH, json=body)
        assert r.status_code == 200
        r = c.post(CHAT, headers=AUTH, json={"messages": [user("Hi")]})
        assert r.status_code == 200
    assert seen == [{"type": "json_object"}, None]
