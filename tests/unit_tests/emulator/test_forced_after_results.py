"""tool_choice that forces a call still forces it after tool results (as OpenAI does):
the named function, or for "required" the next bound tool not yet called.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator._echo_rules import choose_forced_call_after_results

from .conftest import AUTH, CHAT, user


def tool(name: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    props = properties or {}
    return {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": props, "required": list(props)},
        },
    }


WEATHER = tool("get_weather", {"city": {"type": "string"}})
ADD = tool("add", {"a": {"type": "integer"}, "b": {"type": "integer"}})
ANSWER = tool("Answer", {"text": {"type": "string"}, "total": {"type": "number"}})


def called(*names: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": f"c-{n}", "type": "function", "function": {"name": n, "arguments": "{}"}}
            for n in names
        ],
    }


def result(name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": f"c-{name}", "name": name, "content": content}


def reply(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]


def calls_of(choice: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in choice["message"].get("tool_calls", [])
    ]


CONVERSATION = [user("use add for 2 and 3"), called("add"), result("add", "5")]


def test_named_tool_choice_is_honoured_after_tool_results(client: TestClient):
    choice = reply(
        client,
        {
            "messages": CONVERSATION,
            "tools": [ADD, ANSWER],
            "tool_choice": {"type": "function", "function": {"name": "Answer"}},
        },
    )
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == ""
    # The arguments come from the tool results, so the forced answer carries them.
    assert calls_of(choice) == [("Answer", {"text": "Tool results: add: 5.", "total": 5.0})]


def test_required_calls_the_next_tool_not_yet_called(client: TestClient):
    body = {"messages": CONVERSATION, "tools": [ADD, ANSWER], "tool_choice": "required"}
    assert [name for name, _ in calls_of(reply(client, body))] == ["Answer"]


def test_required_prefers_a_mentioned_tool_not_yet_called(client: TestClient):
    messages = [
        user("use add for 2 and 3, then get_weather"),
        called("add"),
        result("add", "5"),
    ]
    body = {"messages": messages, "tools": [ADD, ANSWER, WEATHER], "tool_choice": "required"}
    assert [name for name, _ in calls_of(reply(client, body))] == ["get_weather"]


def test_required_falls_back_to_the_first_tool_when_all_were_called(client: TestClient):
    messages = [user("go"), called("add", "Answer"), result("add", "5"), result("Answer", "ok")]
    body = {"messages": messages, "tools": [ADD, ANSWER], "tool_choice": "required"}
    assert [name for name, _ in calls_of(reply(client, body))] == ["add"]


def test_calls_before_the_last_user_message_do_not_count():
    messages = [
        user("first"),
        called("Answer"),
        result("Answer", "ok"),
        user("second"),
        called("add"),
        result("add", "5"),
    ]
    calls = choose_forced_call_after_results([ADD, ANSWER], "required", messages, "s")
    assert [name for name, _ in calls] == ["Answer"]


@pytest.mark.parametrize("tool_choice", [None, "auto", "none"])
def test_other_tool_choices_summarise_the_results(client: TestClient, tool_choice: Any):
    body: dict[str, Any] = {"messages": CONVERSATION, "tools": [ADD, ANSWER]}
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    choice = reply(client, body)
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "Tool results: add: 5."


def test_forced_call_after_results_streams_as_tool_call_deltas(client: TestClient):
    body = {
        "messages": CONVERSATION,
        "tools": [ADD, ANSWER],
        "tool_choice": "required",
        "stream": True,
    }
    r = client.post(CHAT, headers=AUTH, json=body)
    assert '"finish_reason": "tool_calls"' in r.text
    assert '"name": "Answer"' in r.text
