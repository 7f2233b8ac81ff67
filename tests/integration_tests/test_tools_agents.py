"""Tools over HTTP: a tool round trip, streamed tool calls, tool_choice, structured output,
a LangChain agent with two tools, and scripted pathways (a fake chat model, a function).

The emulator's EchoPathway calls a bound tool when the user message names it (or
tool_choice forces one) and fills the arguments from the tool's schema: strings take the
quoted phrases of the message, numbers its numbers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ToolStrategy
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import (
    CallablePathway,
    ChatModelPathway,
    PathorsEmulator,
    PathwayReply,
    PathwayRequest,
    ToolCallReply,
)

from ._connection import REAL_SERVICE, Connection
from .conftest import model_for

pytestmark = pytest.mark.skipif(
    REAL_SERVICE,
    reason=(
        "these tests rely on the emulator's documented echo rules (a tool is called when "
        "the message names it); a real pathway decides for itself"
    ),
)

CHAT_PATH = "/integration/api/chat/completions"


@tool
def get_weather(location: str) -> str:
    """Get current weather information for a city."""
    return f"72°F and sunny in {location}"


@tool
def add_numbers(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def chat_bodies(emulator: PathorsEmulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path.endswith(CHAT_PATH)]


def test_tool_round_trip(emulator: PathorsEmulator, llm: ChatPathors):
    llm_with_tools = llm.bind_tools([get_weather])
    question = HumanMessage("What's the get_weather in 'San Francisco'?")

    ai = llm_with_tools.invoke([question])
    assert ai.response_metadata["finish_reason"] == "tool_calls"
    (call,) = ai.tool_calls
    assert call["name"] == "get_weather"
    assert call["args"] == {"location": "San Francisco"}
    assert call["id"]

    result = get_weather.invoke(call)
    assert isinstance(result, ToolMessage)
    assert result.tool_call_id == call["id"]
    final = llm_with_tools.invoke([question, ai, result])
    assert final.content == "Tool results: get_weather: 72°F and sunny in San Francisco."
    assert final.response_metadata["finish_reason"] == "stop"

    # The second request carries the call and its result in the documented format.
    second = chat_bodies(emulator)[1]
    assert second["tools"][0]["function"]["name"] == "get_weather"
    assistant, tool_message = second["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == call["id"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == call["args"]
    assert tool_message == {
        "role": "tool",
        "content": "72°F and sunny in San Francisco",
        "tool_call_id": call["id"],
        "name": "get_weather",
    }


def test_streamed_parallel_tool_calls_merge(llm: ChatPathors):
    llm_with_tools = llm.bind_tools([get_weather, add_numbers])
    chunks = list(llm_with_tools.stream("Call get_weather for 'Oslo' and add_numbers 2 and 3"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("get_weather", {"location": "Oslo"}),
        ("add_numbers", {"a": 2, "b": 3}),
    ]
    assert not merged.invalid_tool_calls
    assert merged.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [("add_numbers", "add_numbers"), ("any", "get_weather"), (True, "get_weather")],
)
def test_tool_choice_forces_a_call(
    emulator: PathorsEmulator, llm: ChatPathors, tool_choice: Any, expected: str
):
    ai = llm.bind_tools([get_weather, add_numbers], tool_choice=tool_choice).invoke("hi 4 5")
    assert [c["name"] for c in ai.tool_calls] == [expected]
    sent = chat_bodies(emulator)[0]["tool_choice"]
    if tool_choice == "add_numbers":
        assert sent == {"type": "function", "function": {"name": "add_numbers"}}
    else:
        assert sent == "required"


def test_tool_choice_none_answers_in_text(llm: ChatPathors):
    ai = llm.bind_tools([get_weather], tool_choice="none").invoke("use get_weather")
    assert ai.tool_calls == []
    assert ai.content == "You said: use get_weather"


def test_error_tool_message_keeps_its_status(emulator: PathorsEmulator, llm: ChatPathors):
    llm_with_tools = llm.bind_tools([get_weather])
    question = HumanMessage("get_weather for 'Atlantis'")
    ai = llm_with_tools.invoke([question])
    failed = ToolMessage(
        "no such city", tool_call_id=ai.tool_calls[0]["id"], name="get_weather", status="error"
    )
    final = llm_with_tools.invoke([question, ai, failed])
    assert final.content == "Tool results: get_weather failed: no such city."
    assert chat_bodies(emulator)[1]["messages"][-1]["content"] == "Error: no such city"


class Joke(BaseModel):
    """A joke to tell the user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")
    rating: int = Field(ge=1, le=10, description="how funny, 1 to 10")


def test_structured_output_function_calling(llm: ChatPathors):
    structured = llm.with_structured_output(Joke)
    joke = structured.invoke("Tell me a joke about 'cats', rated 7")
    assert joke == Joke(setup="cats", punchline="cats", rating=7)
    streamed = list(structured.stream("Tell me a joke about 'dogs', rated 20"))
    assert streamed[-1] == Joke(setup="dogs", punchline="dogs", rating=10)  # clamped to le


def test_structured_output_include_raw(llm: ChatPathors):
    out = llm.with_structured_output(Joke, include_raw=True).invoke("A joke about 'owls'")
    assert isinstance(out["raw"], AIMessage)
    assert out["raw"].tool_calls[0]["name"] == "Joke"
    assert out["parsed"] == Joke(setup="owls", punchline="owls", rating=1)
    assert out["parsing_error"] is None


def test_structured_output_json_schema(emulator: PathorsEmulator, llm: ChatPathors):
    structured = llm.with_structured_output(Joke, method="json_schema")
    assert structured.invoke("A joke about 'bees', 3 stars") == Joke(
        setup="bees", punchline="bees", rating=3
    )
    sent = chat_bodies(emulator)[0]
    assert "tools" not in sent
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == [
        "setup",
        "punchline",
        "rating",
    ]
    schema = {
        "title": "city",
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    }
    dict_output = llm.with_structured_output(schema, method="json_schema")
    assert dict_output.invoke("the city of 'Lyon'") == {"name": "Lyon"}


def test_structured_output_json_mode(emulator: PathorsEmulator, llm: ChatPathors):
    schema = {"title": "reply", "type": "object", "properties": {"reply": {"type": "string"}}}
    out = llm.with_structured_output(schema, method="json_mode").invoke("Hi in JSON")
    assert out == {"reply": "You said: Hi in JSON"}
    assert chat_bodies(emulator)[0]["response_format"] == {"type": "json_object"}


def test_agent_with_two_tools_runs_to_completion(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    executed: list[tuple[str, Any]] = []

    @tool
    def lookup_weather(city: str) -> str:
        """Look up the current weather in a city."""
        executed.append(("lookup_weather", city))
        return f"18°C and cloudy in {city}"

    @tool
    def convert_temperature(celsius: float) -> float:
        """Convert a temperature from Celsius to Fahrenheit."""
        executed.append(("convert_temperature", celsius))
        return celsius * 9 / 5 + 32

    sid = f"it-agent-{uuid.uuid4().hex[:12]}"
    with pathors_connection.model(session_id=sid) as llm:
        agent = create_agent(
            llm, [lookup_weather, convert_temperature], system_prompt="You are a weather helper."
        )
        result = agent.invoke(
            {
                "messages": [
                    HumanMessage(
                        "Use lookup_weather for 'Paris' and convert_temperature for 18 degrees"
                    )
                ]
            }
        )

    messages = result["messages"]
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "ToolMessage", "AIMessage"]
    calls = messages[1].tool_calls
    assert [(c["name"], c["args"]) for c in calls] == [
        ("lookup_weather", {"city": "Paris"}),
        ("convert_temperature", {"celsius": 18.0}),
    ]
    # The agent runs parallel calls concurrently, so only the set of executions is fixed.
    assert sorted(executed) == [("convert_temperature", 18.0), ("lookup_weather", "Paris")]
    assert [m.tool_call_id for m in messages[2:4]] == [c["id"] for c in calls]
    final = messages[-1]
    assert final.content == (
        "Tool results: lookup_weather: 18°C and cloudy in Paris; convert_temperature: 64.4."
    )
    assert final.tool_calls == []
    # Both model turns went to the agent's session, with the system prompt first.
    record = emulator.session(sid)
    assert record is not None
    assert record.turns == 2
    for body in chat_bodies(emulator):
        assert body["messages"][0] == {"role": "system", "content": "You are a weather helper."}


async def test_agent_async_stream_of_updates(emulator: PathorsEmulator, llm: ChatPathors):
    agent = create_agent(llm, [get_weather, add_numbers])
    steps: list[str] = []
    async for update in agent.astream(
        {"messages": [HumanMessage("add_numbers 20 and 22")]}, stream_mode="updates"
    ):
        steps.extend(update)
    assert steps == ["model", "tools", "model"]
    final = await agent.ainvoke({"messages": [HumanMessage("add_numbers 1 and 2")]})
    assert final["messages"][-1].content == "Tool results: add_numbers: 3."
    await llm.aclose()


class WeatherReport(BaseModel):
    """The agent's final, structured answer."""

    summary: str = Field(description="what the tools found")


def test_agent_with_a_structured_response(emulator: PathorsEmulator, llm: ChatPathors):
    # ToolStrategy: the schema is one more tool and tool_choice is "required" on every
    # turn, so after the weather result the pathway must call WeatherReport.
    agent = create_agent(llm, [get_weather], response_format=ToolStrategy(WeatherReport))
    result = agent.invoke({"messages": [HumanMessage("Use get_weather for 'Lima'")]})
    assert result["structured_response"] == WeatherReport(
        summary="Tool results: get_weather: 72°F and sunny in Lima."
    )
    bodies = chat_bodies(emulator)
    assert [b["tool_choice"] for b in bodies] == ["required", "required"]
    assert [
        m.tool_calls[0]["name"] for m in result["messages"] if getattr(m, "tool_calls", None)
    ] == [
        "get_weather",
        "WeatherReport",
    ]


def test_scripted_pathway_with_a_fake_chat_model(
    start_emulator: Callable[[Any], PathorsEmulator],
):
    script = iter(
        [
            AIMessage(
                "",
                tool_calls=[
                    {"name": "get_weather", "args": {"location": "Rome"}, "id": "call_rome"}
                ],
            ),
            "Rome is warm and sunny today.",
        ]
    )
    emu = start_emulator(ChatModelPathway(GenericFakeChatModel(messages=script)))
    with model_for(emu) as llm:
        agent = create_agent(llm, [get_weather])
        result = agent.invoke({"messages": [HumanMessage("How is Rome?")]})
    messages = result["messages"]
    assert messages[1].tool_calls[0]["args"] == {"location": "Rome"}
    assert messages[1].tool_calls[0]["id"] == "call_rome"  # the script's id, unchanged
    assert messages[2].content == "72°F and sunny in Rome"
    assert messages[-1].content == "Rome is warm and sunny today."
    # The fake model saw the tool result the client sent back.
    last = [r.json for r in emu.requests][-1]
    assert last["messages"][-1]["tool_call_id"] == "call_rome"


def test_streamed_agent_over_a_scripted_pathway(
    start_emulator: Callable[[Any], PathorsEmulator],
):
    # stream_mode="messages" makes the agent stream the model: the scripted tool call must
    # survive the emulator's stream and ChatPathors' chunk merging.
    script = iter(
        [
            AIMessage(
                "", tool_calls=[{"name": "add_numbers", "args": {"a": 2, "b": 5}, "id": "c"}]
            ),
            "The sum is 7.",
        ]
    )
    emu = start_emulator(GenericFakeChatModel(messages=script))
    with model_for(emu) as llm:
        agent = create_agent(llm, [add_numbers])
        streamed = list(
            agent.stream({"messages": [HumanMessage("2 + 5?")]}, stream_mode="messages")
        )
    texts = "".join(str(m.content) for m, meta in streamed if meta["langgraph_node"] == "model")
    assert texts == "The sum is 7."
    tool_results = [m for m, _ in streamed if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.content) for m in tool_results] == [("c", "7")]
    assert all(r.json["stream"] is True for r in emu.requests)


def test_scripted_pathway_streams_the_fake_models_chunks(
    start_emulator: Callable[[Any], PathorsEmulator],
):
    fake = GenericFakeChatModel(messages=iter(["Scripted answer, streamed word by word"]))
    emu = start_emulator(fake)  # a chat model is wrapped in ChatModelPathway
    with model_for(emu) as llm:
        pieces = [str(c.content) for c in llm.stream("anything")]
    assert "".join(pieces) == "Scripted answer, streamed word by word"
    assert len([p for p in pieces if p]) > 1


def test_callable_pathway_uses_session_variables(
    start_emulator: Callable[[Any], PathorsEmulator],
):
    def pathway(request: PathwayRequest) -> PathwayReply:
        name = request.session.variables.get("userName", "stranger")
        if "book" in request.last_user_text and request.tools:
            return PathwayReply(tool_calls=[ToolCallReply("add_numbers", {"a": 1, "b": 1})])
        return PathwayReply(content=f"Turn {request.session.turns}: hello {name}")

    emu = start_emulator(CallablePathway(pathway))
    with model_for(emu) as llm:
        session = llm.create_session(variables={"userName": "Ada"})
        sid = session.session_id
        assert llm.invoke("hi", session_id=sid).content == "Turn 1: hello Ada"
        assert llm.invoke("hi again", session_id=sid).content == "Turn 2: hello Ada"
        ai = llm.bind_tools([add_numbers]).invoke("book it", session_id=sid)
        assert ai.tool_calls[0]["args"] == {"a": 1, "b": 1}
        assert llm.invoke("hi").content == "Turn 1: hello stranger"  # a fresh session
    record = emu.session(sid)
    assert record is not None
    assert record.turns == 3
