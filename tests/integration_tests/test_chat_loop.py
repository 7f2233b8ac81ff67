"""A plain chat loop keeps its session with no id passed, the way users write one.

`history += [reply, HumanMessage(...)]; llm.invoke(history)`: the reply carries its
session, the next turn continues it. Also: a "regenerate" is a fork, and what the next
call does after PathorsOutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from langchain_pathors import (
    ChatPathors,
    PathorsOutcomeUnknownError,
    PathorsSessionForkedError,
)
from langchain_pathors.emulator import Fault, PathorsEmulator

from ._connection import REAL_SERVICE, Connection

pytestmark = pytest.mark.skipif(
    REAL_SERVICE, reason="asserts on the emulator's turn log (which session got which turn)"
)

QUESTIONS = ["Hi, I'd like to book a table", "For four people", "At eight, please"]


async def ask(llm: ChatPathors, mode: str, history: list[BaseMessage]) -> AIMessage:
    """One turn, the way each API is used; a stream's chunks are added up."""
    if mode == "invoke":
        return llm.invoke(history)
    if mode == "ainvoke":
        return await llm.ainvoke(history)
    chunks: list[AIMessageChunk] = []
    if mode == "stream":
        chunks = [c for c in llm.stream(history) if isinstance(c, AIMessageChunk)]
    else:
        chunks = [c async for c in llm.astream(history) if isinstance(c, AIMessageChunk)]
    reply = chunks[0]
    for chunk in chunks[1:]:
        reply += chunk
    return reply


async def chat(llm: ChatPathors, mode: str, questions: list[str]) -> list[BaseMessage]:
    history: list[BaseMessage] = []
    for question in questions:
        history.append(HumanMessage(question))
        history.append(await ask(llm, mode, history))
    return history


def chat_sync(llm: ChatPathors, questions: list[str]) -> list[BaseMessage]:
    """The same loop in plain sync code (run in OS threads below)."""
    history: list[BaseMessage] = []
    for question in questions:
        history.append(HumanMessage(question))
        history.append(llm.invoke(history))
    return history


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_a_chat_loop_keeps_its_session(
    emulator: PathorsEmulator, llm: ChatPathors, mode: str
):
    history = await chat(llm, mode, QUESTIONS)
    replies = [m for m in history if isinstance(m, AIMessage)]
    (session,) = {r.response_metadata["session_id"] for r in replies}
    assert [r.response_metadata["session_source"] for r in replies] == [
        "server",
        "history",
        "history",
    ]
    assert list(emulator.turns_by_session()) == [session]
    assert [t.message_count for t in emulator.turns(session)] == [1, 3, 5]
    assert [r.content for r in replies] == [f"You said: {q}" for q in QUESTIONS]
    await llm.aclose()


async def test_conversations_at_once_keep_apart(emulator: PathorsEmulator, llm: ChatPathors):
    # The same opening message in every conversation: only the history tells them apart.
    histories = await asyncio.gather(
        *(chat(llm, "ainvoke", QUESTIONS) for _ in range(4)),
        *(asyncio.to_thread(chat_sync, llm, QUESTIONS) for _ in range(2)),
    )
    sessions = [h[1].response_metadata["session_id"] for h in histories]
    assert len(set(sessions)) == 6
    for history, session in zip(histories, sessions, strict=True):
        assert {m.response_metadata["session_id"] for m in history if m.type == "ai"} == {session}
        assert [t.turn for t in emulator.turns(session)] == [1, 2, 3]
    await llm.aclose()


def test_regenerate_is_a_fork(emulator: PathorsEmulator, pathors_connection: Connection):
    with pathors_connection.model() as llm:
        history: list[BaseMessage] = [HumanMessage("Hi")]
        history.append(llm.invoke(history))
        history.append(HumanMessage("Book it"))
        first_try = llm.invoke(history)
        session = first_try.response_metadata["session_id"]
        # "Regenerate": the same history again; the session already took this turn.
        with pytest.raises(PathorsSessionForkedError) as info:
            llm.invoke(history)
    assert info.value.session_id == session
    assert len(emulator.turns(session)) == 2


def test_regenerate_in_a_new_session(emulator: PathorsEmulator, pathors_connection: Connection):
    with pathors_connection.model(on_session_fork="new_session") as llm:
        history: list[BaseMessage] = [HumanMessage("Hi")]
        history.append(llm.invoke(history))
        history.append(HumanMessage("Book it"))
        first_try, second_try = llm.invoke(history), llm.invoke(history)
    old, new = (m.response_metadata["session_id"] for m in (first_try, second_try))
    assert old != new
    assert second_try.response_metadata["session_source"] == "new"
    assert len(emulator.turns(old)) == 2
    assert [t.roles for t in emulator.turns(new)] == [("user", "assistant", "user")]


def test_after_an_unknown_outcome_the_next_call_is_sent(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    # The documented behaviour (docs/sessions.md): the head is forgotten, so re-sending
    # the same history is not called a fork; the app decides whether to re-send.
    with pathors_connection.model() as llm:
        history: list[BaseMessage] = [HumanMessage("Hi")]
        history.append(llm.invoke(history))
        session = history[-1].response_metadata["session_id"]
        history.append(HumanMessage("Book it"))
        emulator.inject(Fault(status=500, session_id=session))
        with pytest.raises(PathorsOutcomeUnknownError) as info:
            llm.invoke(history)
        assert info.value.session_id == session
        again: Any = llm.invoke(history)
    assert again.response_metadata["session_id"] == session
    assert [t.reply_tool_calls for t in emulator.turns(session)] == [(), None, ()]
