"""ChatPathors behaviour: sessions, streaming, tools, structured output, tracing params."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_pathors import ChatPathors, PathorsBadRequestError, PathorsSession
from tests.unit_tests.conftest import (
    FakePathors,
    chunk,
    completion,
    sse,
    stream_response,
)


class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str


@tool
def get_weather(location: str) -> str:
    """Get current weather information."""
    return f"sunny in {location}"


def weather_call(arguments: str = '{"location": "San Francisco"}') -> dict[str, Any]:
    return {
        "id": "call_123",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.retries = 0
        self.errors: list[BaseException] = []
        self.start_kwargs: list[dict[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.start_kwargs.append(kwargs)

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        self.retries += 1

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


# --------------------------------------------------------------------------- basics
def test_invoke_returns_text_and_metadata(fake: FakePathors) -> None:
    message = fake.model().invoke("Hello!")
    assert message.content == "Hello!"
    assert message.usage_metadata is None  # Pathors reports -1: unknown
    meta = message.response_metadata
    assert meta["session_id"] == "sess-server"
    assert meta["finish_reason"] == "stop"
    assert meta["model_name"] == "pathway-default"
    assert meta["id"] == "chatcmpl-1"
    assert meta["model_provider"] == "pathors"
    assert meta["token_usage"] == {"prompt_tokens": -1, "completion_tokens": -1, "total_tokens": -1}


def test_optional_params_sent_only_when_set(fake: FakePathors) -> None:
    fake.model().invoke("Hi")
    fake.model(
        model="pw-2", temperature=0.2, max_tokens=50, stop=["END"], model_kwargs={"user": "u"}
    ).invoke("Hi")
    bare, full = fake.bodies()
    assert set(bare) == {"messages", "stream"}
    assert full["model"] == "pw-2"
    assert full["temperature"] == 0.2
    assert full["max_tokens"] == 50
    assert full["stop"] == ["END"]
    assert full["user"] == "u"


def test_call_stop_overrides_model_stop(fake: FakePathors) -> None:
    fake.model(stop=["A"]).invoke("Hi", stop=["B"])
    assert fake.bodies()[0]["stop"] == ["B"]


def test_generate_combines_llm_output(fake: FakePathors) -> None:
    result = fake.model().generate([[HumanMessage("a")], [HumanMessage("b")]])
    assert result.llm_output == {
        "model_name": "pathway-default",
        "session_ids": ["sess-server", "sess-server"],
    }


def test_batch_and_abatch(fake: FakePathors) -> None:
    llm = fake.model()
    assert [m.content for m in llm.batch(["a", "b"])] == ["Hello!", "Hello!"]
    assert [m.content for m in asyncio.run(llm.abatch(["a", "b"]))] == ["Hello!", "Hello!"]
    assert len(fake.chat_requests()) == 4


# --------------------------------------------------------------------------- sessions
def test_per_call_session_overrides_model_session(fake: FakePathors) -> None:
    llm = fake.model(session_id="model-session")
    llm.invoke("a")
    llm.invoke("b", session_id="call-session")
    llm.bind(session_id="bound-session").invoke("c")
    sent = [r.headers.get("x-session-id") for r in fake.requests]
    assert sent == ["model-session", "call-session", "bound-session"]


def test_no_session_means_no_header_and_server_id_surfaces(fake: FakePathors) -> None:
    message = fake.model().invoke("Hi")
    assert "x-session-id" not in fake.requests[0].headers
    assert message.response_metadata["session_id"] == "sess-server"


@pytest.mark.parametrize("bad", ["a\r\nX-Evil: 1", "with space", "x" * 257, "", "naïve"])
def test_invalid_session_ids_are_refused_before_any_request(fake: FakePathors, bad: str) -> None:
    with pytest.raises(ValueError, match="session_id"):
        fake.model().invoke("Hi", session_id=bad)
    with pytest.raises(ValueError, match="session_id"):
        fake.model(session_id=bad)
    assert fake.requests == []


def test_session_variables_create_the_session_once_before_chat(fake: FakePathors) -> None:
    llm = fake.model()
    for _ in range(3):
        llm.invoke("Hi", session_id="u-1", session_variables={"userName": "John"})
    paths = [r.url.path.rsplit("/", 1)[-1] for r in fake.requests]
    assert paths == ["session", "completions", "completions", "completions"]
    created = json.loads(fake.session_requests()[0].content)
    assert created == {"session_id": "u-1", "variables": {"userName": "John"}}


def test_model_level_session_variables(fake: FakePathors) -> None:
    llm = fake.model(session_id="u-2", session_variables={"plan": "pro"})
    llm.invoke("a")
    llm.invoke("b")
    assert len(fake.session_requests()) == 1
    assert all(r.headers["x-session-id"] == "u-2" for r in fake.chat_requests())


def test_session_variables_without_session_id_create_a_fresh_session(fake: FakePathors) -> None:
    llm = fake.model(session_variables={"a": 1})
    reply = llm.invoke("Hi")
    (created,) = fake.session_requests()
    sent = json.loads(created.content)
    assert sent["variables"] == {"a": 1}
    assert sent["session_id"].startswith("lc-")
    assert fake.chat_requests()[0].headers["x-session-id"] == sent["session_id"]
    assert reply.response_metadata["session_source"] == "new"
    # Per call too; a second new conversation gets its own session.
    fake.model().invoke("Hi", session_variables={"a": 1})
    assert len({json.loads(r.content)["session_id"] for r in fake.session_requests()}) == 2


def test_session_created_once_under_50_threads(fake: FakePathors) -> None:
    llm = fake.model().bind(session_id="shared", session_variables={"k": "v"})
    results = llm.batch([f"q{i}" for i in range(50)], config={"max_concurrency": 50})
    assert len(results) == 50
    assert len(fake.session_requests()) == 1
    assert len(fake.chat_requests()) == 50
    # The create call came before every chat call.
    assert fake.requests[0].url.path.endswith("/session")


async def test_session_created_once_under_50_tasks(fake: FakePathors) -> None:
    llm = fake.model()
    await asyncio.gather(
        *(llm.ainvoke("q", session_id="shared", session_variables={"k": "v"}) for _ in range(50))
    )
    assert len(fake.session_requests()) == 1
    assert len(fake.chat_requests()) == 50
    assert fake.requests[0].url.path.endswith("/session")


def test_failed_session_creation_raises_and_is_tried_again(fake: FakePathors) -> None:
    fake.session = [
        httpx.Response(400, json={"error": "session_id is required"}),
        httpx.Response(200, json={"sessionId": "u-1", "pathwayId": "p"}),
    ]
    llm = fake.model()
    with pytest.raises(PathorsBadRequestError, match="session_id is required"):
        llm.invoke("Hi", session_id="u-1", session_variables={"a": 1})
    assert fake.chat_requests() == []  # no chat turn without its session
    llm.invoke("Hi", session_id="u-1", session_variables={"a": 1})
    assert len(fake.session_requests()) == 2


def test_create_session_generates_an_id_and_returns_the_server_answer(fake: FakePathors) -> None:
    session = fake.model().create_session(variables={"userName": "John"})
    assert isinstance(session, PathorsSession)
    assert session.session_id.startswith("lc-")
    assert session.pathway_id == "pathway-1"
    sent = json.loads(fake.session_requests()[0].content)
    assert sent == {"session_id": session.session_id, "variables": {"userName": "John"}}


async def test_acreate_session_then_chat_does_not_create_again(fake: FakePathors) -> None:
    llm = fake.model()
    session = await llm.acreate_session("user-42", {"plan": "pro"})
    assert session.session_id == "user-42"
    await llm.ainvoke("Hi", session_id="user-42", session_variables={"plan": "pro"})
    assert len(fake.session_requests()) == 1


def test_one_instance_shared_by_threads_never_crosses_sessions(fake: FakePathors) -> None:
    def echo_session(request: httpx.Request) -> httpx.Response:
        sid = request.headers["x-session-id"]
        return httpx.Response(
            200, headers={"X-Session-ID": sid}, json=completion(sid, session_id=sid)
        )

    fake.chat = [echo_session]
    llm = fake.model()
    mismatches: list[str] = []

    def worker(n: int) -> None:
        for i in range(10):
            sid = f"user-{n}-{i}"
            message = llm.invoke("Hi", session_id=sid)
            if message.content != sid or message.response_metadata["session_id"] != sid:
                mismatches.append(sid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []
    assert len(fake.chat_requests()) == 80


# --------------------------------------------------------------------------- streaming
def test_stream_yields_chunks_with_session_on_first(fake: FakePathors) -> None:
    chunks = list(fake.model(session_id="s-1").stream("Hi"))
    texts = [c.content for c in chunks]
    assert "".join(str(t) for t in texts) == "Hello there"
    assert chunks[0].response_metadata["session_id"] == "s-1"
    full = sum(chunks[1:], chunks[0])
    assert isinstance(full, AIMessageChunk)
    assert full.response_metadata["session_id"] == "s-1"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_provider"] == "pathors"
    assert full.usage_metadata is None
    assert fake.bodies()[0]["stream"] is True


async def test_astream(fake: FakePathors) -> None:
    text = "".join([str(c.content) async for c in fake.model().astream("Hi")])
    assert text == "Hello there"


def test_new_token_callback_per_chunk(fake: FakePathors) -> None:
    recorder = Recorder()
    list(fake.model().stream("Hi", config={"callbacks": [recorder]}))
    assert recorder.tokens == ["", "Hello", " there", ""]


def test_streaming_true_makes_invoke_stream(fake: FakePathors) -> None:
    recorder = Recorder()
    message = fake.model(streaming=True).invoke("Hi", config={"callbacks": [recorder]})
    assert message.content == "Hello there"
    assert fake.bodies()[0]["stream"] is True
    assert "Hello" in recorder.tokens


def test_stream_error_event_reaches_on_llm_error(fake: FakePathors) -> None:
    fake.chat = [stream_response(sse(chunk({"content": "Hi"}), {"error": "pathway failed"}))]
    recorder = Recorder()
    with pytest.raises(Exception, match="pathway failed"):
        list(fake.model().stream("Hi", config={"callbacks": [recorder]}))
    assert len(recorder.errors) == 1


def test_retry_is_reported_to_callbacks(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [
        httpx.Response(503, json={"error": "busy"}),
        httpx.Response(200, json=completion("ok")),
    ]
    recorder = Recorder()
    fake.model().invoke("Hi", config={"callbacks": [recorder]})
    assert recorder.retries == 1


async def test_async_retry_is_reported_to_callbacks(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [
        httpx.Response(503, json={"error": "busy"}),
        httpx.Response(200, json=completion("ok")),
    ]
    recorder = Recorder()
    await fake.model().ainvoke("Hi", config={"callbacks": [recorder]})
    assert recorder.retries == 1


# --------------------------------------------------------------------------- tools
def test_bind_tools_sends_openai_tools_and_tool_choice(fake: FakePathors) -> None:
    fake.model().bind_tools([get_weather], tool_choice="get_weather").invoke("weather?")
    body = fake.bodies()[0]
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["location"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize(
    ("choice", "sent"),
    [("any", "required"), (True, "required"), ("auto", "auto"), ("none", "none")],
)
def test_tool_choice_keywords(fake: FakePathors, choice: Any, sent: str) -> None:
    fake.model().bind_tools([get_weather], tool_choice=choice).invoke("x")
    assert fake.bodies()[0]["tool_choice"] == sent


def test_nonsense_tool_choice_is_refused() -> None:
    llm = ChatPathors(project_id="p", api_key="k")
    with pytest.raises(ValueError, match="get_weather"):
        llm.bind_tools([get_weather], tool_choice="get_wether")


def test_tool_calls_are_parsed(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion("", tool_calls=[weather_call()]))]
    message = fake.model().bind_tools([get_weather]).invoke("weather?")
    assert message.tool_calls == [
        {
            "name": "get_weather",
            "args": {"location": "San Francisco"},
            "id": "call_123",
            "type": "tool_call",
        }
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_invalid_tool_call_json_is_reported_not_raised(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion("", tool_calls=[weather_call('{"loc')]))]
    message = fake.model().bind_tools([get_weather]).invoke("weather?")
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["name"] == "get_weather"
    assert message.invalid_tool_calls[0]["args"] == '{"loc'


def test_tool_round_trip_messages_on_the_wire(fake: FakePathors) -> None:
    history = [
        HumanMessage("What's the weather?"),
        AIMessage(
            "",
            tool_calls=[{"name": "get_weather", "args": {"location": "SF"}, "id": "call_123"}],
        ),
        ToolMessage("72°F, sunny", tool_call_id="call_123", name="get_weather"),
    ]
    fake.model().invoke(history)
    assert fake.bodies()[0]["messages"] == [
        {"role": "user", "content": "What's the weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "SF"}'},
                }
            ],
        },
        {
            "role": "tool",
            "content": "72°F, sunny",
            "tool_call_id": "call_123",
            "name": "get_weather",
        },
    ]


def test_streamed_tool_call_merges(fake: FakePathors) -> None:
    body = sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"loca'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'tion": "Paris"}'}}]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    )  # fmt: skip
    fake.chat = [stream_response(body)]
    chunks = list(fake.model().bind_tools([get_weather]).stream("weather?"))
    full = sum(chunks[1:], chunks[0])
    assert isinstance(full, AIMessageChunk)
    assert full.tool_calls == [
        {"name": "get_weather", "args": {"location": "Paris"}, "id": "call_1", "type": "tool_call"}
    ]


# --------------------------------------------------------------------------- structured output
def test_structured_output_via_forced_tool_call(fake: FakePathors) -> None:
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "Joke", "arguments": '{"setup": "Why?", "punchline": "Because."}'},
    }
    fake.chat = [httpx.Response(200, json=completion("", tool_calls=[call]))]
    joke = fake.model().with_structured_output(Joke).invoke("Tell me a joke")
    assert joke == Joke(setup="Why?", punchline="Because.")
    assert fake.bodies()[0]["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}


def test_structured_output_include_raw_keeps_parsing_errors(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion("no tool call here"))]
    result = fake.model().with_structured_output(Joke, include_raw=True).invoke("joke")
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert result["parsed"] is None


def test_structured_output_json_schema_sends_response_format(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion('{"setup": "S", "punchline": "P"}'))]
    joke = fake.model().with_structured_output(Joke, method="json_schema").invoke("joke")
    assert joke == Joke(setup="S", punchline="P")
    response_format = fake.bodies()[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["required"] == ["setup", "punchline"]


def test_structured_output_rejects_unknown_method() -> None:
    llm = ChatPathors(project_id="p", api_key="k")
    with pytest.raises(ValueError, match="method"):
        llm.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tracing
def test_ls_params() -> None:
    llm = ChatPathors(project_id="p", api_key="k", temperature=0.3, max_tokens=9, stop=["x"])
    params = llm._get_ls_params()
    assert params["ls_provider"] == "pathors"
    assert params["ls_model_name"] == "pathway-default"
    assert params["ls_model_type"] == "chat"
    assert params["ls_temperature"] == 0.3
    assert params["ls_max_tokens"] == 9
    assert params["ls_stop"] == ["x"]
    assert llm._get_ls_params(model="other")["ls_model_name"] == "other"
