"""Pathways: chat models, plain functions (sync and async), errors, wrapping."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from starlette.testclient import TestClient

from langchain_pathors.emulator import (
    CallablePathway,
    ChatModelPathway,
    EchoPathway,
    PathorsEmulator,
    Pathway,
    PathwayReply,
    PathwayRequest,
    ToolCallReply,
)
from langchain_pathors.emulator._lc_convert import wire_to_langchain
from langchain_pathors.emulator._pathways import as_pathway

from .conftest import AUTH, CHAT, deltas, sse_events, user

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]


def post(emu: PathorsEmulator, body: dict[str, Any], sid: str = "s") -> Any:
    with TestClient(emu.app) as c:
        return c.post(CHAT, headers={**AUTH, "X-Session-ID": sid}, json=body)


class RecordingFake(GenericFakeChatModel):
    """A scripted model that remembers its inputs and how tools were bound."""

    seen: list[list[BaseMessage]] = []
    bound: list[dict[str, Any]] = []

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(messages)
        return super()._generate(messages, *args, **kwargs)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        self.bound.append({"tools": list(tools), **kwargs})
        return self


def test_chat_model_pathway_text_reply():
    emu = PathorsEmulator(GenericFakeChatModel(messages=iter(["Scripted answer"])))
    assert isinstance(emu.pathway, ChatModelPathway)
    body = post(emu, {"messages": [user("Hi")]}).json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Scripted answer"}


def test_chat_model_pathway_tool_calls_and_binding():
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_abc"}],
    )
    model = RecordingFake(messages=iter([reply]))
    choice = {"type": "function", "function": {"name": "get_weather"}}
    body = post(
        PathorsEmulator(model), {"messages": [user("w?")], "tools": TOOLS, "tool_choice": choice}
    ).json()
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["id"] == "call_abc"
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    assert model.bound[-1] == {"tools": TOOLS, "tool_choice": "get_weather"}


def test_model_without_tool_support_is_used_unbound():
    model = GenericFakeChatModel(messages=iter(["no tools here"]))  # bind_tools not implemented
    body = post(PathorsEmulator(model), {"messages": [user("x")], "tools": TOOLS}).json()
    assert body["choices"][0]["message"]["content"] == "no tools here"


def test_chat_model_sees_converted_messages():
    model = RecordingFake(messages=iter(["done"]))
    wire = [
        {"role": "developer", "content": "rules"},
        user("weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"a": 1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "w", "content": "boom", "status": "error"},
    ]
    post(PathorsEmulator(model), {"messages": wire})
    system, human, ai, tool = model.seen[-1]
    assert isinstance(system, SystemMessage)
    assert system.content == "rules"
    assert isinstance(human, HumanMessage)
    assert isinstance(ai, AIMessage)
    assert ai.tool_calls == [{"name": "w", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
    assert isinstance(tool, ToolMessage)
    assert (tool.tool_call_id, tool.name, tool.status) == ("c1", "w", "error")


def test_unparsable_tool_arguments_become_invalid_tool_calls():
    (ai,) = wire_to_langchain(
        [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "w", "arguments": "{bad"}}
                ],
            }
        ]
    )
    assert isinstance(ai, AIMessage)
    assert ai.tool_calls == []
    assert ai.invalid_tool_calls[0]["args"] == "{bad"


def test_chat_model_pathway_streams_the_models_answer_in_words():
    model = GenericFakeChatModel(messages=iter(["alpha beta"]))
    emu = PathorsEmulator(model)
    with TestClient(emu.app) as c:
        r = c.post(CHAT, headers=AUTH, json={"messages": [user("x")], "stream": True})
    contents = [d["content"] for d in deltas(sse_events(r.text)) if "content" in d]
    assert contents == ["", "alpha ", "beta"]


def test_chat_model_pathway_streams_scripted_tool_calls():
    # GenericFakeChatModel's own stream drops tool calls; the pathway must not.
    script = iter(
        [
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"c": "Rome"}, "id": "r"}]),
            AIMessage("Looking", tool_calls=[{"name": "get_weather", "args": {}, "id": "o"}]),
        ]
    )
    emu = PathorsEmulator(GenericFakeChatModel(messages=script))
    body = {"messages": [user("x")], "tools": TOOLS, "stream": True}
    with TestClient(emu.app) as c:
        first = sse_events(c.post(CHAT, headers=AUTH, json=body).text)
        second = sse_events(c.post(CHAT, headers=AUTH, json=body).text)
    for events, call_id, content in ((first, "r", ""), (second, "o", "Looking")):
        parts = deltas(events)
        assert "".join(d.get("content") or "" for d in parts) == content
        openings = [tc for d in parts for tc in d.get("tool_calls", []) if "id" in tc]
        assert [(tc["id"], tc["function"]["name"]) for tc in openings] == [(call_id, "get_weather")]
        assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"
    args = "".join(
        tc["function"]["arguments"] for d in deltas(first) for tc in d.get("tool_calls", [])
    )
    assert json.loads(args) == {"c": "Rome"}


def test_callable_pathway_sync_runs_off_the_event_loop():
    threads: list[str] = []

    def answer(request: PathwayRequest) -> str:
        threads.append(threading.current_thread().name)
        return (
            f"{request.session.session_id} turn {request.session.turns}: {request.last_user_text}"
        )

    emu = PathorsEmulator(answer)
    assert isinstance(emu.pathway, CallablePathway)
    body = post(emu, {"messages": [user("hello")]}, sid="abc").json()
    assert body["choices"][0]["message"]["content"] == "abc turn 1: hello"
    assert threads
    assert threads[0] != threading.main_thread().name


def test_callable_pathway_async_gets_the_full_request():
    captured: list[PathwayRequest] = []

    async def answer(request: PathwayRequest) -> PathwayReply:
        captured.append(request)
        await asyncio.sleep(0)
        return PathwayReply(tool_calls=[ToolCallReply("get_weather", '{"raw": true}')], model="m2")

    body = post(
        PathorsEmulator(answer),
        {"messages": [user("q")], "tools": TOOLS, "tool_choice": "required", "stream": False},
    ).json()
    assert body["model"] == "m2"
    assert (
        body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"raw": true}'
    )
    (request,) = captured
    assert request.tools == TOOLS
    assert request.tool_choice == "required"
    assert request.stream is False
    assert request.messages == [user("q")]


def test_async_callable_object_is_awaited():
    class Answer:
        async def __call__(self, request: PathwayRequest) -> str:
            return "from object"

    body = post(PathorsEmulator(Answer()), {"messages": [user("q")]}).json()
    assert body["choices"][0]["message"]["content"] == "from object"


@pytest.mark.parametrize("bad", [lambda r: 1 / 0, lambda r: 42])
def test_pathway_failure_is_a_500(bad: Any, caplog: pytest.LogCaptureFixture):
    emu = PathorsEmulator(bad)
    with caplog.at_level(logging.ERROR, logger="langchain_pathors.emulator"):
        r = post(emu, {"messages": [user("q")]}, sid="err")
    assert r.status_code == 500
    assert r.json() == {"error": "Internal server error"}
    assert r.headers["X-Session-ID"] == "err"
    assert "pathway failed for session err" in caplog.text


def test_custom_pathway_object_is_used_as_is():
    class Upper:
        async def respond(self, request: PathwayRequest) -> PathwayReply:
            return PathwayReply(content=request.last_user_text.upper())

    pathway = Upper()
    assert isinstance(pathway, Pathway)
    emu = PathorsEmulator(pathway)
    assert emu.pathway is pathway
    assert (
        post(emu, {"messages": [user("shout")]}).json()["choices"][0]["message"]["content"]
        == "SHOUT"
    )


def test_as_pathway_defaults_and_rejects():
    assert isinstance(as_pathway(None), EchoPathway)
    with pytest.raises(TypeError, match="not a pathway"):
        as_pathway(42)


def test_reply_chunks_must_match_content():
    assert PathwayReply(chunks=["a", "b"]).content == "ab"
    with pytest.raises(ValueError, match="concatenate"):
        PathwayReply(content="abc", chunks=["a", "b"])


def test_tool_call_reply_generates_distinct_ids():
    a, b = ToolCallReply("f"), ToolCallReply("f")
    assert a.id
    assert b.id
    assert a.id != b.id
    assert a.id.startswith("call_")
    assert a.arguments_json() == "{}"
