"""LangGraph time travel and update_state forks: never sent silently into a moved-on session.

A thread's checkpoints let users go back (`get_state_history` + the checkpoint's config)
or rewrite the past (`update_state`). The Pathors session does not go back with them: it
has already taken the later turns. By default the next model call raises
PathorsSessionForkedError; `on_session_fork="new_session"` continues in a new session,
`"allow"` sends the turn anyway.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_pathors import PathorsSessionForkedError
from langchain_pathors.emulator import PathorsEmulator
from langchain_pathors.middleware import PathorsSessionMiddleware

from ._connection import REAL_SERVICE, Connection

pytestmark = pytest.mark.skipif(
    REAL_SERVICE, reason="asserts on the emulator's turn log (which session got which turn)"
)


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"18°C in {city}"


def two_turns(agent: Any) -> tuple[RunnableConfig, str]:
    """A thread with two finished turns; returns its config and its session."""
    config: RunnableConfig = {"configurable": {"thread_id": f"thread-{uuid.uuid4().hex[:12]}"}}
    agent.invoke({"messages": [HumanMessage("Hi")]}, config)
    agent.invoke({"messages": [HumanMessage("Use get_weather for 'Rome'")]}, config)
    messages = agent.get_state(config).values["messages"]
    (session,) = {m.response_metadata["session_id"] for m in messages if isinstance(m, AIMessage)}
    return config, session


def after_first_turn(agent: Any, config: RunnableConfig) -> RunnableConfig:
    """The config of the checkpoint where the first turn had just ended (time travel)."""
    for snapshot in agent.get_state_history(config):  # newest first
        if len(snapshot.values["messages"]) == 2 and not snapshot.next:
            return RunnableConfig(**snapshot.config)
    raise AssertionError("no checkpoint after the first turn")


@pytest.mark.parametrize("use_async", [False, True])
async def test_time_travel_raises_by_default_and_sends_nothing(
    emulator: PathorsEmulator, pathors_connection: Connection, use_async: bool
):
    with pathors_connection.model() as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config, session = two_turns(agent)
        past = after_first_turn(agent, config)
        retry = HumanMessage("Actually, tell me a joke")
        with pytest.raises(PathorsSessionForkedError) as info:
            if use_async:
                await agent.ainvoke({"messages": [retry]}, past)
            else:
                agent.invoke({"messages": [retry]}, past)
        await llm.aclose()
    assert info.value.session_id == session
    assert not info.value.is_retryable
    assert "on_session_fork" in str(info.value)  # says what to do
    assert [t.turn for t in emulator.turns(session)] == [1, 2, 3]  # nothing after the fork
    assert list(emulator.turns_by_session()) == [session]


def test_time_travel_with_new_session_continues_in_a_new_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model(on_session_fork="new_session") as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config, session = two_turns(agent)
        past = after_first_turn(agent, config)
        agent.invoke({"messages": [HumanMessage("Actually, tell me a joke")]}, past)
        # The fork is now the thread's latest checkpoint; the next turn follows it.
        agent.invoke({"messages": [HumanMessage("Another one")]}, config)
        replies = [m for m in agent.get_state(config).values["messages"] if m.type == "ai"]

    forked = replies[1].response_metadata["session_id"]
    assert forked != session
    assert [m.response_metadata["session_source"] for m in replies] == [
        "server",
        "new",
        "history",
    ]
    assert [t.turn for t in emulator.turns(session)] == [1, 2, 3]  # untouched by the fork
    # The new session got the branch's history (Hi, its reply, the new question) and on.
    assert [t.message_count for t in emulator.turns(forked)] == [3, 5]


def test_time_travel_with_allow_sends_into_the_old_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model(on_session_fork="allow") as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config, session = two_turns(agent)
        agent.invoke(
            {"messages": [HumanMessage("Actually, tell me a joke")]},
            after_first_turn(agent, config),
        )
    fork_turn = emulator.turns(session)[-1]
    assert fork_turn.turn == 4
    assert fork_turn.roles == ("user", "assistant", "user")


def test_update_state_that_drops_a_turn_is_a_fork(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model() as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config, session = two_turns(agent)
        # "Undo" the last turn: remove everything after the first reply.
        messages = agent.get_state(config).values["messages"]
        agent.update_state(config, {"messages": [RemoveMessage(id=m.id) for m in messages[2:]]})
        with pytest.raises(PathorsSessionForkedError):
            agent.invoke({"messages": [HumanMessage("Let's start that again")]}, config)
    assert len(emulator.turns(session)) == 3


def test_update_state_that_only_adds_is_no_fork(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model() as llm:
        agent = create_agent(llm, [get_weather], checkpointer=InMemorySaver())
        config, session = two_turns(agent)
        agent.update_state(config, {"messages": [HumanMessage("A note from the operator")]})
        agent.invoke({"messages": [HumanMessage("Go on")]}, config)
    last = emulator.turns(session)[-1]
    assert last.turn == 4
    assert last.roles[-2:] == ("user", "user")


def test_a_forked_threads_new_session_gets_the_middleware_variables(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    with pathors_connection.model(on_session_fork="new_session") as llm:
        agent = create_agent(
            llm,
            [get_weather],
            checkpointer=InMemorySaver(),
            middleware=[PathorsSessionMiddleware(variables={"plan": "pro"})],
        )
        config, session = two_turns(agent)
        agent.invoke(
            {"messages": [HumanMessage("Actually, tell me a joke")]},
            after_first_turn(agent, config),
        )
        forked = agent.get_state(config).values["messages"][-1].response_metadata["session_id"]
    assert forked != session
    for sid in (session, forked):
        record = emulator.session(sid)
        assert record is not None
        assert (record.variables, record.created_by) == ({"plan": "pro"}, "session_endpoint")
