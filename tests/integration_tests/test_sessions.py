"""Sessions over HTTP: created with variables the pathway uses, ids in the X-Session-ID
header (never the deprecated body field), turns counted by the server, and the id
flowing back in response_metadata.
"""

from __future__ import annotations

import asyncio
import uuid

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from ._connection import Connection

CHAT_PATH = "/integration/api/chat/completions"
SESSION_PATH = "/integration/api/session"


def new_id(label: str) -> str:
    return f"it-{label}-{uuid.uuid4().hex[:12]}"


def chat_requests(emulator: PathorsEmulator) -> list:
    return [r for r in emulator.requests if r.path.endswith(CHAT_PATH)]


def session_requests(emulator: PathorsEmulator) -> list:
    return [r for r in emulator.requests if r.path.endswith(SESSION_PATH)]


def test_session_id_flows_back_on_invoke_and_stream(llm: ChatPathors):
    sid = new_id("flow")
    reply = llm.invoke("Hi", session_id=sid)
    assert reply.response_metadata["session_id"] == sid
    chunks = list(llm.stream("And again", session_id=sid))
    first_with_id = next(c for c in chunks if "session_id" in c.response_metadata)
    assert first_with_id is chunks[0]  # on the first chunk that can carry it
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.response_metadata["session_id"] == sid  # once, not repeated


def test_create_session_with_variables_the_pathway_uses(
    emulator: PathorsEmulator, llm: ChatPathors
):
    variables = {"userName": "John Doe", "userRole": "admin"}
    session = llm.create_session(variables=variables)
    assert session.session_id.strip()
    assert session.pathway_id == "pathway-default"

    greeting = llm.invoke("Hi", session_id=session.session_id)
    assert greeting.content == (
        "Hello! Session variables: userName=John Doe, userRole=admin. You said: Hi"
    )
    second = llm.invoke("What's my name?", session_id=session.session_id)
    assert second.content == "You said: What's my name?"  # the greeting is turn 1 only

    record = emulator.session(session.session_id)
    assert record is not None
    assert record.variables == variables
    assert record.turns == 2
    assert record.created_by == "session_endpoint"

    (created,) = session_requests(emulator)
    assert created.json == {"session_id": session.session_id, "variables": variables}
    for request in chat_requests(emulator):
        assert request.headers["x-session-id"] == session.session_id
        assert "session_id" not in request.json  # the deprecated body field is never sent


def test_per_call_session_variables_create_the_session_once(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = new_id("percall")
    variables = {"plan": "pro", "seats": 3}
    first = llm.invoke("Hello", session_id=sid, session_variables=variables)
    assert first.content == "Hello! Session variables: plan=pro, seats=3. You said: Hello"
    streamed = "".join(
        str(c.content) for c in llm.stream("More", session_id=sid, session_variables=variables)
    )
    assert streamed == "You said: More"

    assert len(session_requests(emulator)) == 1  # created before the first call, once
    assert emulator.requests[0].path.endswith(SESSION_PATH)  # and before any chat turn
    record = emulator.session(sid)
    assert record is not None
    assert (record.variables, record.turns) == (variables, 2)


async def test_concurrent_first_calls_create_the_session_once(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = new_id("concurrent")
    variables = {"userName": "Ada"}
    replies = await asyncio.gather(
        *(
            llm.ainvoke(f"message {i}", session_id=sid, session_variables=variables)
            for i in range(6)
        )
    )
    assert len(session_requests(emulator)) == 1
    record = emulator.session(sid)
    assert record is not None
    assert record.turns == 6
    assert record.variables == variables
    # Exactly one reply took the session's first turn, and it greets with the variables.
    greeted = [r for r in replies if str(r.content).startswith("Hello! Session variables")]
    assert len(greeted) == 1
    assert all(r.response_metadata["session_id"] == sid for r in replies)
    await llm.aclose()


def test_model_level_session_and_bind(emulator: PathorsEmulator, pathors_connection: Connection):
    sid, other = new_id("model"), new_id("bound")
    with pathors_connection.model(session_id=sid, session_variables={"tier": "gold"}) as llm:
        assert llm.invoke("Hi").content == "Hello! Session variables: tier=gold. You said: Hi"
        # .bind(session_id=...) wins over the model's session for those calls.
        assert llm.bind(session_id=other).invoke("Hi").response_metadata["session_id"] == other
    record, bound = emulator.session(sid), emulator.session(other)
    assert record is not None
    assert (record.turns, record.variables) == (1, {"tier": "gold"})
    # The model's variables belong to its own session: the bound one was adopted bare.
    assert bound is not None
    assert (bound.turns, bound.variables) == (1, {})
    assert bound.created_by == "chat"


def test_no_session_gets_a_fresh_server_session_each_call(
    emulator: PathorsEmulator, llm: ChatPathors
):
    first = llm.invoke("Hi").response_metadata["session_id"]
    second = llm.invoke("Hi").response_metadata["session_id"]
    assert first != second
    for request in chat_requests(emulator):
        assert "x-session-id" not in request.headers
    assert {s.session_id for s in emulator.sessions()} == {first, second}


async def test_acreate_session_then_astream(emulator: PathorsEmulator, llm: ChatPathors):
    session = await llm.acreate_session(new_id("async"), {"userName": "Grace"})
    text = "".join([str(c.content) async for c in llm.astream("Hi", session_id=session.session_id)])
    assert text == "Hello! Session variables: userName=Grace. You said: Hi"
    record = emulator.session(session.session_id)
    assert record is not None
    assert record.turns == 1
    await llm.aclose()


def test_session_round_trip_as_documented(llm: ChatPathors):
    # Runs in both modes: only what the documented API promises.
    session = llm.create_session(new_id("real"), {"userName": "John Doe"})
    reply = llm.invoke("Hi", session_id=session.session_id)
    assert reply.response_metadata["session_id"] == session.session_id
    assert isinstance(reply.content, str)
