"""Plain chat over HTTP: invoke, stream, async, batch, stop sequences, metadata."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from ._connection import REAL_SERVICE, Connection

# Against the emulator the echo pathway's replies are known exactly; against Pathors
# only their shape is.
echo_only = pytest.mark.skipif(
    REAL_SERVICE, reason="checks the emulator's exact echo text; Pathors answers freely"
)


def assert_documented_metadata(message: AIMessage) -> None:
    meta = message.response_metadata
    assert meta["model_provider"] == "pathors"
    assert meta["finish_reason"] == "stop"
    assert isinstance(meta["session_id"], str)
    assert meta["session_id"]
    assert isinstance(meta["model_name"], str)
    assert meta["model_name"]


def test_invoke_returns_the_answer_with_metadata(llm: ChatPathors):
    reply = llm.invoke([SystemMessage("Be brief."), HumanMessage("Hello!")])
    assert isinstance(reply, AIMessage)
    assert reply.text
    assert_documented_metadata(reply)
    # Pathors reports token usage as -1: unknown, so no usage_metadata (never negative).
    assert reply.usage_metadata is None
    assert reply.response_metadata["token_usage"]["total_tokens"] == -1


@echo_only
def test_invoke_echoes_the_last_user_message(llm: ChatPathors):
    history = [HumanMessage("first"), AIMessage("You said: first"), HumanMessage("second")]
    assert llm.invoke(history).content == "You said: second"


def test_stream_arrives_in_pieces_and_adds_up(llm: ChatPathors):
    chunks = list(llm.stream("Tell me about your plans for the day"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len([c for c in chunks if c.content]) > 1  # really streamed, not one blob
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.text
    assert_documented_metadata(total)  # session id etc. merge once, not "s1s1"
    assert total.usage_metadata is None
    assert chunks[-1].response_metadata.get("finish_reason") == "stop"


@echo_only
def test_stream_text_equals_the_invoke_text(llm: ChatPathors):
    text = "Tell me about your plans for the day"
    streamed = "".join(str(c.content) for c in llm.stream(text))
    assert streamed == llm.invoke(text).content == f"You said: {text}"


async def test_ainvoke_and_astream(llm: ChatPathors):
    reply = await llm.ainvoke("Hello from asyncio")
    assert_documented_metadata(reply)
    pieces = [c async for c in llm.astream("Hello from an async stream")]
    assert len([p for p in pieces if p.content]) > 1
    assert "".join(str(p.content) for p in pieces)
    await llm.aclose()


def test_model_works_across_event_loops(llm: ChatPathors):
    # A new loop per asyncio.run: the model must not reuse a client bound to a dead loop.
    for text in ("one", "two"):
        reply = asyncio.run(llm.ainvoke(text))
        assert reply.text


@echo_only
def test_batch_keeps_order(llm: ChatPathors):
    inputs = [f"message number {i}" for i in range(5)]
    replies = llm.batch(inputs, config={"max_concurrency": 3})
    assert [r.content for r in replies] == [f"You said: {t}" for t in inputs]
    # No session given: each call is its own server-assigned session.
    assert len({r.response_metadata["session_id"] for r in replies}) == 5


@echo_only
async def test_abatch_keeps_order(llm: ChatPathors):
    inputs = [f"async message {i}" for i in range(4)]
    replies = await llm.abatch(inputs)
    assert [r.content for r in replies] == [f"You said: {t}" for t in inputs]
    await llm.aclose()


@echo_only
def test_stop_sequence_cuts_the_answer(llm: ChatPathors):
    assert llm.invoke("alpha beta gamma", stop=[" gamma"]).content == "You said: alpha beta"
    streamed = "".join(str(c.content) for c in llm.stream("alpha beta gamma", stop=["beta"]))
    assert streamed == "You said: alpha "


def test_request_is_the_documented_wire_format(emulator: PathorsEmulator, llm: ChatPathors):
    llm.invoke([SystemMessage("Be brief."), HumanMessage("Hi")])
    (request,) = emulator.requests
    assert request.path == f"/api/project/{emulator.project_id}/integration/api/chat/completions"
    assert request.headers["authorization"] == "Bearer ***"  # the log redacts the key
    assert request.headers["content-type"] == "application/json"
    assert request.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert request.json["stream"] is False
    # Optional fields are sent only when set.
    assert not {"temperature", "max_tokens", "model", "stop", "tools"} & set(request.json)


def test_streaming_flag_streams_under_invoke(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    tokens: list[str] = []

    class Tokens(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            tokens.append(token)

    with pathors_connection.model(streaming=True) as llm:
        reply = llm.invoke("stream me please", config={"callbacks": [Tokens()]})
    assert reply.content == "You said: stream me please"
    assert "".join(tokens) == reply.content
    assert len([t for t in tokens if t]) > 1
    (request,) = emulator.requests
    assert request.json["stream"] is True
