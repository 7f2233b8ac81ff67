"""Agents keep one Pathors session per thread, with nothing but a thread_id.

Written the way users write agents: `create_agent(ChatPathors(...), tools,
checkpointer=InMemorySaver())`, run with `{"configurable": {"thread_id": ...}}`, and
PathorsSessionMiddleware for variables. The emulator's turn log says which request
landed in which session. Prompts name the tool they want, which is when the emulator's
echo pathway calls one (docs/testing.md).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_pathors import ChatPathors
from langchain_pathors._session_resolver import thread_session_id
from langchain_pathors.emulator import PathorsEmulator, TurnRecord
from langchain_pathors.middleware import PathorsSessionMiddleware

from ._connection import REAL_SERVICE, Connection

pytestmark = pytest.mark.skipif(
    REAL_SERVICE,
    reason="asserts on the emulator's turn log and its echo rules (a named tool is called)",
)

MODES = ["invoke", "stream", "ainvoke", "astream"]
# One conversation: two tool rounds (2 model calls each) and a text turn (1 call).
TURNS = ["Use get_weather for 'Paris'", "Use get_weather for 'Oslo'", "Thanks, that is all"]


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"18°C in {city}"


def new_thread() -> RunnableConfig:
    # Unique per test: this process remembers sessions (heads, "created once") by id.
    return {"configurable": {"thread_id": f"thread-{uuid.uuid4().hex[:12]}"}}


async def run(agent: Any, mode: str, text: str, config: RunnableConfig, **kw: Any) -> None:
    """Run one user turn the way each API is used."""
    state = {"messages": [HumanMessage(text)]}
    if mode == "invoke":
        agent.invoke(state, config, **kw)
    elif mode == "ainvoke":
        await agent.ainvoke(state, config, **kw)
    elif mode == "stream":  # "messages" makes the agent stream the model itself
        for _ in agent.stream(state, config, stream_mode="messages", **kw):
            pass
    else:
        async for _ in agent.astream(state, config, stream_mode="messages", **kw):
            pass


def replies(agent: Any, config: RunnableConfig) -> list[AIMessage]:
    messages: list[BaseMessage] = agent.get_state(config).values["messages"]
    return [m for m in messages if isinstance(m, AIMessage)]


def session_of(agent: Any, config: RunnableConfig) -> str:
    """The one session a thread's replies came from (fails if there are several)."""
    (session,) = {m.response_metadata["session_id"] for m in replies(agent, config)}
    return str(session)


def assert_one_conversation(turns: list[TurnRecord]) -> None:
    """The turns of TURNS, in order, in one session: tool calls and results included."""
    assert [t.turn for t in turns] == [1, 2, 3, 4, 5]
    assert [t.reply_tool_calls for t in turns] == [
        ("get_weather",),
        (),
        ("get_weather",),
        (),
        (),
    ]
    assert [t.has_tool_results for t in turns] == [False, True, False, True, False]
    assert [t.message_count for t in turns] == [1, 3, 5, 7, 9]


@pytest.mark.parametrize("mode", MODES)
async def test_each_thread_keeps_one_session_tool_rounds_included(
    emulator: PathorsEmulator, pathors_connection: Connection, mode: str
):
    llm = pathors_connection.model()
    agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
    first, second = new_thread(), new_thread()
    for text in TURNS:  # the two threads take turns
        await run(agent, mode, text, first)
        await run(agent, mode, text, second)

    a, b = session_of(agent, first), session_of(agent, second)
    assert a != b
    assert list(emulator.turns_by_session()) == [a, b]  # nothing landed anywhere else
    assert_one_conversation(emulator.turns(a))
    assert_one_conversation(emulator.turns(b))
    # The first call opens a server session; every later one continues it by id.
    sources = [m.response_metadata["session_source"] for m in replies(agent, first)]
    assert sources == ["server"] + ["history"] * 4
    chats = [r for r in emulator.requests if r.session_id == a]
    assert "x-session-id" not in chats[0].headers
    assert {r.headers["x-session-id"] for r in chats[1:]} == {a}
    llm.close()
    await llm.aclose()


async def test_a_rebuilt_agent_continues_the_threads_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    saver, config = InMemorySaver(), new_thread()
    with pathors_connection.model() as llm:
        agent = create_agent(llm, [get_weather], checkpointer=saver)
        await run(agent, "invoke", TURNS[0], config)
        session = session_of(agent, config)
    # A restart: a new model and a new agent on the same checkpointer.
    with pathors_connection.model() as llm:
        agent = create_agent(llm, [get_weather], checkpointer=saver)
        await run(agent, "invoke", TURNS[1], config)
        await run(agent, "invoke", TURNS[2], config)
        assert session_of(agent, config) == session
    assert list(emulator.turns_by_session()) == [session]
    assert_one_conversation(emulator.turns(session))


async def test_threads_and_tasks_at_once_never_share_a_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model()
    agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
    configs = [new_thread() for _ in range(6)]

    def in_a_thread(config: RunnableConfig) -> None:
        for text in TURNS:
            agent.invoke({"messages": [HumanMessage(text)]}, config)

    async def in_a_task(config: RunnableConfig) -> None:
        for text in TURNS:
            await agent.ainvoke({"messages": [HumanMessage(text)]}, config)

    await asyncio.gather(
        *(asyncio.to_thread(in_a_thread, c) for c in configs[:3]),
        *(in_a_task(c) for c in configs[3:]),
    )
    sessions = [session_of(agent, c) for c in configs]
    assert len(set(sessions)) == 6
    assert set(emulator.turns_by_session()) == set(sessions)
    for session in sessions:
        assert_one_conversation(emulator.turns(session))
    llm.close()
    await llm.aclose()


# --------------------------------------------------------------------------- middleware


@dataclass
class Customer:
    name: str
    plan: str


def creates(emulator: PathorsEmulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path.endswith("/integration/api/session")]


@pytest.mark.parametrize("mode", MODES)
async def test_middleware_creates_each_threads_session_once_with_its_variables(
    emulator: PathorsEmulator, pathors_connection: Connection, mode: str
):
    llm = pathors_connection.model()
    agent = create_agent(
        llm,
        [get_weather],
        checkpointer=InMemorySaver(),
        middleware=[PathorsSessionMiddleware(variables={"plan": "pro"})],
    )
    first, second = new_thread(), new_thread()
    for text in ["Hi", *TURNS[:2]]:
        await run(agent, mode, text, first)
        await run(agent, mode, text, second)

    sessions = [session_of(agent, first), session_of(agent, second)]
    assert creates(emulator) == [{"session_id": s, "variables": {"plan": "pro"}} for s in sessions]
    for config, session in zip([first, second], sessions, strict=True):
        record = emulator.session(session)
        assert record is not None
        assert (record.variables, record.created_by, record.turns) == (
            {"plan": "pro"},
            "session_endpoint",
            5,
        )
        greeting = replies(agent, config)[0]
        assert greeting.content == "Hello! Session variables: plan=pro. You said: Hi"
        assert greeting.response_metadata["session_source"] == "new"
    # The create request went out before the thread's first chat request.
    paths = [r.path.rsplit("/", 1)[-1] for r in emulator.requests]
    assert paths[:2] == ["session", "completions"]
    llm.close()
    await llm.aclose()


async def test_middleware_variables_from_the_runtime_context(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    asked: list[Customer | None] = []

    def variables(customer: Customer | None) -> dict[str, str]:
        asked.append(customer)
        assert customer is not None, "the first run of a thread gives the context"
        return {"userName": customer.name, "plan": customer.plan}

    llm = pathors_connection.model()
    agent = create_agent(
        llm,
        [get_weather],
        checkpointer=InMemorySaver(),
        context_schema=Customer,
        middleware=[PathorsSessionMiddleware(variables=variables)],
    )
    ada, bob = new_thread(), new_thread()
    await run(agent, "astream", "Hi", ada, context=Customer("Ada", "pro"))
    await run(agent, "ainvoke", "Hi", bob, context=Customer("Bob", "free"))
    # Later runs need no context: the thread's session exists.
    await run(agent, "ainvoke", TURNS[0], ada)
    await run(agent, "astream", TURNS[0], bob)

    assert asked == [Customer("Ada", "pro"), Customer("Bob", "free")]
    by_name = {c["variables"]["userName"]: c["session_id"] for c in creates(emulator)}
    assert by_name == {"Ada": session_of(agent, ada), "Bob": session_of(agent, bob)}
    greeting = replies(agent, bob)[0].content
    assert isinstance(greeting, str)
    assert greeting.startswith("Hello! Session variables: userName=Bob, plan=free.")
    for session in by_name.values():
        assert [t.turn for t in emulator.turns(session)] == [1, 2, 3]
    await llm.aclose()


async def test_middleware_binds_the_session_to_the_thread(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model()
    middleware = PathorsSessionMiddleware(variables={"plan": "pro"}, session_from_thread=True)
    config = new_thread()
    expected = thread_session_id(config["configurable"]["thread_id"], True)
    agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver(), middleware=[middleware])
    for text in TURNS:
        await run(agent, "invoke", text, config)

    assert session_of(agent, config) == expected
    assert creates(emulator) == [{"session_id": expected, "variables": {"plan": "pro"}}]
    assert list(emulator.turns_by_session()) == [expected]
    assert_one_conversation(emulator.turns(expected))
    # Every request named the thread's session, the first one included.
    chats = [r for r in emulator.requests if r.path.endswith("/completions")]
    assert [r.headers.get("x-session-id") for r in chats] == [expected] * 5
    sources = [m.response_metadata["session_source"] for m in replies(agent, config)]
    assert sources == ["thread"] + ["history"] * 4
    llm.close()


def test_the_model_alone_can_bind_sessions_to_threads(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model(session_from_thread=lambda t: f"support-{t}") as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config = new_thread()
        for text in TURNS[:2]:
            agent.invoke({"messages": [HumanMessage(text)]}, config)
    expected = f"support-{config['configurable']['thread_id']}"
    assert list(emulator.turns_by_session()) == [expected]
    assert [t.turn for t in emulator.turns(expected)] == [1, 2, 3, 4]


def test_a_model_with_variables_gives_each_conversation_its_own_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    # No middleware: ChatPathors(session_variables=...) without a session id.
    with pathors_connection.model(session_variables={"store": "Berlin"}) as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        first, second = new_thread(), new_thread()
        for config in (first, second, first):
            agent.invoke({"messages": [HumanMessage("Hi")]}, config)
        sessions = [session_of(agent, first), session_of(agent, second)]
    assert sessions[0] != sessions[1]
    assert [c["session_id"] for c in creates(emulator)] == sessions
    assert [len(emulator.turns(s)) for s in sessions] == [2, 1]
    assert isinstance(llm, ChatPathors)
