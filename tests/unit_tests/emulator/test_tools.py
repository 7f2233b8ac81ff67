"""Tool calling with the echo pathway: mentions, forced choices, schema-valid arguments,
tool-result summaries.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from .conftest import AUTH, CHAT, user

jsonschema = pytest.importorskip("jsonschema")

BOOKING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "zip": {"type": "integer"}},
            "required": ["street", "zip"],
        }
    },
    "properties": {
        "guest": {"type": "string"},
        "nights": {"type": "integer", "minimum": 1},
        "price": {"type": "number"},
        "room": {"type": "string", "enum": ["single", "double"]},
        "address": {"$ref": "#/$defs/Address"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "vip": {"type": "boolean"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "optional_flag": {"type": "boolean", "default": True},
    },
    "required": ["guest", "nights", "price", "room", "address", "tags", "vip", "note"],
}


def tool(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "description": f"The {name} tool"}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


WEATHER = tool(
    "get_weather",
    {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name"}},
        "required": ["location"],
    },
)


def ask(client: TestClient, text: str, tools: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    r = client.post(CHAT, headers=AUTH, json={"messages": [user(text)], "tools": tools, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def calls_of(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    message = body["choices"][0]["message"]
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls", [])
    ]


def test_mentioned_tool_is_called_in_the_documented_shape(client: TestClient):
    body = ask(client, "Use get_weather for 'San Francisco'", [WEATHER])
    message = body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert message["content"] == ""
    (call,) = message["tool_calls"]
    assert set(call) == {"id", "type", "function"}
    assert re.fullmatch(r"call_[0-9a-f]+", call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"location": "San Francisco"}


@pytest.mark.parametrize("spelling", ["GET WEATHER", "get-weather", "Get_Weather"])
def test_mentions_ignore_case_and_separators(client: TestClient, spelling: str):
    body = ask(client, f"please {spelling} now", [WEATHER])
    assert [name for name, _ in calls_of(body)] == ["get_weather"]
    assert calls_of(body)[0][1] == {"location": "please now"}


def test_no_mention_means_text(client: TestClient):
    body = ask(client, "What is the weather like?", [WEATHER])
    assert "tool_calls" not in body["choices"][0]["message"]
    assert body["choices"][0]["message"]["content"] == "You said: What is the weather like?"


def test_partial_word_is_not_a_mention(client: TestClient):
    body = ask(client, "say get_weathers", [WEATHER])
    assert calls_of(body) == []


def test_tool_choice_none_disables_calls(client: TestClient):
    body = ask(client, "get_weather please", [WEATHER], tool_choice="none")
    assert calls_of(body) == []
    assert body["choices"][0]["finish_reason"] == "stop"


def test_required_calls_the_first_tool_when_none_is_mentioned(client: TestClient):
    other = tool("lookup", {"type": "object", "properties": {"q": {"type": "string"}}})
    body = ask(client, "anything at all", [other, WEATHER], tool_choice="required")
    assert calls_of(body) == [("lookup", {"q": "anything at all"})]


def test_named_tool_choice_forces_that_tool(client: TestClient):
    other = tool("lookup", {"type": "object", "properties": {"q": {"type": "string"}}})
    choice = {"type": "function", "function": {"name": "get_weather"}}
    body = ask(client, "lookup 'Oslo'", [other, WEATHER], tool_choice=choice)
    assert calls_of(body) == [("get_weather", {"location": "Oslo"})]


def test_several_mentions_make_parallel_calls_in_mention_order(client: TestClient):
    time_tool = tool("get_time", {"type": "object", "properties": {"tz": {"type": "string"}}})
    body = ask(client, "get_time and get_weather for 'Paris'", [WEATHER, time_tool])
    assert calls_of(body) == [("get_time", {"tz": "Paris"}), ("get_weather", {"location": "Paris"})]
    ids = [c["id"] for c in body["choices"][0]["message"]["tool_calls"]]
    assert len(set(ids)) == 2


def test_arguments_follow_the_schema(client: TestClient):
    booking = tool("book_room", BOOKING_SCHEMA)
    text = 'book_room for "Ada Lovelace" 0 nights at 99.5 near "Main St" zip 90210'
    ((name, args),) = calls_of(ask(client, text, [booking]))
    assert name == "book_room"
    jsonschema.validate(args, BOOKING_SCHEMA)
    assert args == {
        "guest": "Ada Lovelace",
        "nights": 1,  # 0 clamped to the minimum
        "price": 99.5,
        "room": "single",
        "address": {"street": "Main St", "zip": 90210},
        "tags": ["Main St"],
        "vip": False,
        "note": "Main St",
    }


def test_arguments_default_when_the_message_has_nothing(client: TestClient):
    booking = tool("book_room", BOOKING_SCHEMA)
    ((_, args),) = calls_of(ask(client, "book_room", [booking], tool_choice="required"))
    jsonschema.validate(args, BOOKING_SCHEMA)
    assert args["guest"] == "guest"  # empty text -> the property name
    assert args["nights"] == 1
    assert args["price"] == 0.0
    assert args["address"]["zip"] == 0


def test_tool_without_parameters_gets_empty_arguments(client: TestClient):
    body = ask(client, "ping now", [tool("ping")])
    assert calls_of(body) == [("ping", {})]


def _tool_turn(result: dict[str, Any], name: str | None = "get_weather") -> list[dict[str, Any]]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"location": "SF"}'},
    }
    message = {"role": "tool", "tool_call_id": "call_1", **result}
    if name:
        message["name"] = name
    return [
        user("get_weather in SF"),
        {"role": "assistant", "content": "", "tool_calls": [call]},
        message,
    ]


def test_tool_results_are_summarised(client: TestClient):
    messages = _tool_turn({"content": "72°F, sunny"})
    r = client.post(CHAT, headers=AUTH, json={"messages": messages, "tools": [WEATHER]})
    assert r.json()["choices"][0]["message"]["content"] == "Tool results: get_weather: 72°F, sunny."
    assert r.json()["choices"][0]["finish_reason"] == "stop"


def test_tool_name_is_found_from_the_call_id(client: TestClient):
    messages = _tool_turn({"content": "rain"}, name=None)
    r = client.post(CHAT, headers=AUTH, json={"messages": messages})
    assert r.json()["choices"][0]["message"]["content"] == "Tool results: get_weather: rain."


@pytest.mark.parametrize(
    "result",
    [
        {"content": "Error: city unknown", "status": "success"},
        {"content": "city unknown", "status": "error"},
        {"content": "city unknown", "is_error": True},
    ],
)
def test_failed_tool_results_say_so(client: TestClient, result: dict[str, Any]):
    r = client.post(CHAT, headers=AUTH, json={"messages": _tool_turn(result)})
    assert r.json()["choices"][0]["message"]["content"] == (
        "Tool results: get_weather failed: city unknown."
    )


def test_several_tool_results_are_all_summarised(client: TestClient):
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": "{}"}}
        for i, n in enumerate(["a", "b"])
    ]
    messages = [
        user("a and b"),
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c0", "content": "one"},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "two"}]},
    ]
    r = client.post(CHAT, headers=AUTH, json={"messages": messages})
    assert r.json()["choices"][0]["message"]["content"] == "Tool results: a: one; b: two."


@pytest.mark.parametrize("calls", [5, "call_1", [5], [{"id": 1}], {"id": "call_1"}])
@pytest.mark.parametrize("role", ["user", "system", "tool"])
def test_tool_calls_on_a_message_not_from_the_assistant_are_ignored(
    client: TestClient, calls: object, role: str
):
    # They used to be a 500 when a tool result followed (the echo read every message's).
    messages = [
        {"role": role, "content": "x", "tool_call_id": "call_1", "tool_calls": calls},
        {"role": "tool", "content": "72F", "tool_call_id": "call_1", "name": "get_weather"},
    ]
    r = client.post(CHAT, headers=AUTH, json={"messages": messages})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"].startswith("Tool results:")
