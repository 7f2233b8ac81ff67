"""Sessions over HTTP: created with variables the pathway uses, ids in the X-Session-ID
header (never the deprecated body field), turns counted by the server, and the id
flowing back in response_metadata.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import ConfigurableField

from langchain_pathors import ChatPathors, PathorsSessionBusyError, PathorsSessionForkedError
from langchain_pathors._session_resolver import thread_session_id
from langchain_pathors.emulator import PathorsEmulator, PathwayRequest

from ._connection import Connection
from .conftest import model_for

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


# =========================================================================== issue 9
# The session follows the conversation, written the way users write their code.


def merged(chunks: list[Any]) -> Any:
    message = chunks[0]
    for chunk in chunks[1:]:
        message += chunk
    return message


def turn_in(llm: ChatPathors, mode: str, history: list[BaseMessage]) -> Any:
    """One turn, in one of the four ways a user calls a chat model."""
    if mode == "invoke":
        return llm.invoke(history)
    if mode == "stream":
        return merged(list(llm.stream(history)))

    async def run() -> Any:
        if mode == "ainvoke":
            return await llm.ainvoke(history)
        return merged([c async for c in llm.astream(history)])

    return asyncio.run(run())


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
def test_chat_loop_keeps_one_session_with_no_id_passed(emulator: PathorsEmulator, mode: str):
    llm = ChatPathors(
        base_url=emulator.base_url, project_id=emulator.project_id, api_key=emulator.api_key
    )
    history: list[BaseMessage] = [HumanMessage("Hi")]
    for text in ("Tell me more", "Thanks"):
        reply = turn_in(llm, mode, history)
        history += [reply, HumanMessage(text)]
    last = turn_in(llm, mode, history)

    (session,) = emulator.sessions()  # one conversation, one server session
    assert session.turns == 3
    assert last.response_metadata["session_id"] == session.session_id
    sources = [m.response_metadata["session_source"] for m in [*history[1::2], last]]
    assert sources == ["server", "history", "history"]
    assert all(
        r.headers.get("x-session-id") == session.session_id for r in chat_requests(emulator)[1:]
    )


def test_session_variables_without_id_give_each_conversation_its_own_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(session_variables={"userName": "Ada"})
    conversations = []
    for opening in ("Hi", "Hi"):
        history: list[BaseMessage] = [HumanMessage(opening)]
        reply = llm.invoke(history)
        assert str(reply.content).startswith("Hello! Session variables: userName=Ada.")
        history += [reply, HumanMessage("again")]
        assert llm.invoke(history).content == "You said: again"
        conversations.append(reply.response_metadata["session_id"])

    assert len(set(conversations)) == 2
    assert len(session_requests(emulator)) == 2  # each created once, with the variables
    for sid in conversations:
        record = emulator.session(sid)
        assert record is not None
        assert (record.variables, record.turns, record.created_by) == (
            {"userName": "Ada"},
            2,
            "session_endpoint",
        )


# --------------------------------------------------------------------------- cache
@pytest.fixture
def global_cache() -> Iterator[None]:
    set_llm_cache(InMemoryCache())
    yield
    set_llm_cache(None)


@pytest.mark.usefixtures("global_cache")
async def test_with_a_global_cache_every_turn_reaches_the_server(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = new_id("cache")
    llm.invoke("same words", session_id=sid)
    llm.invoke("same words", session_id=sid)
    await llm.ainvoke("same words", session_id=sid)
    record = emulator.session(sid)
    assert record is not None
    assert record.turns == 3

    # Two conversations that open alike still get their own sessions on turn two.
    first: list[BaseMessage] = [HumanMessage("Hello")]
    second: list[BaseMessage] = [HumanMessage("Hello")]
    first += [llm.invoke(first), HumanMessage("more")]
    second += [await llm.ainvoke(second), HumanMessage("more")]
    a = llm.invoke(first).response_metadata["session_id"]
    b = (await llm.ainvoke(second)).response_metadata["session_id"]
    assert a != b
    assert emulator.session(a).turns == emulator.session(b).turns == 2  # type: ignore[union-attr]
    await llm.aclose()


# --------------------------------------------------------------------------- forks
def two_turns(llm: ChatPathors) -> tuple[list[BaseMessage], AIMessage]:
    history: list[BaseMessage] = [HumanMessage("first")]
    history += [llm.invoke(history), HumanMessage("second")]
    return history, llm.invoke(history)


def test_regenerate_raises_a_fork_and_the_session_is_untouched(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(session_variables={"plan": "pro"})
    history, latest = two_turns(llm)
    sid = latest.response_metadata["session_id"]
    with pytest.raises(PathorsSessionForkedError) as info:
        llm.invoke(history)  # "regenerate" the second answer
    assert info.value.session_id == sid
    assert emulator.session(sid).turns == 2  # type: ignore[union-attr]
    # Continuing from the latest reply is fine.
    llm.invoke([*history, latest, HumanMessage("third")])
    assert emulator.session(sid).turns == 3  # type: ignore[union-attr]


async def test_fork_new_session_continues_in_a_new_session_with_the_variables(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(session_variables={"plan": "pro"}, on_session_fork="new_session")
    history, latest = two_turns(llm)
    old = latest.response_metadata["session_id"]
    regenerated = await llm.ainvoke(history)
    new = regenerated.response_metadata["session_id"]
    assert new != old
    assert regenerated.response_metadata["session_source"] == "new"
    record = emulator.session(new)
    assert record is not None
    assert (record.variables, record.turns) == ({"plan": "pro"}, 1)
    assert emulator.session(old).turns == 2  # type: ignore[union-attr]
    await llm.aclose()


def test_fork_allow_sends_into_the_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(on_session_fork="allow")
    history, latest = two_turns(llm)
    assert (
        llm.invoke(history).response_metadata["session_id"]
        == latest.response_metadata["session_id"]
    )
    assert emulator.session(latest.response_metadata["session_id"]).turns == 3  # type: ignore[union-attr]


def test_langgraph_time_travel_is_a_fork(emulator: PathorsEmulator, llm: ChatPathors):
    graph = chat_graph(llm)
    config: Any = {"configurable": {"thread_id": new_id("tt")}}
    graph.invoke({"messages": [HumanMessage("first")]}, config)
    graph.invoke({"messages": [HumanMessage("second")]}, config)
    history = list(graph.get_state_history(config))
    # Replay: run the second turn again from its checkpoint.
    before_second = next(
        s for s in history if s.next == ("chat",) and len(s.values["messages"]) == 3
    )
    with pytest.raises(PathorsSessionForkedError):
        graph.invoke(None, before_second.config)
    # Fork: edit the state after the first answer (update_state), then go on from there.
    after_first = next(s for s in history if not s.next and len(s.values["messages"]) == 2)
    forked = graph.update_state(after_first.config, {"messages": [HumanMessage("note")]})
    with pytest.raises(PathorsSessionForkedError):
        graph.invoke({"messages": [HumanMessage("other second")]}, forked)
    (session,) = emulator.sessions()
    assert session.turns == 2


def chat_graph(llm: ChatPathors) -> Any:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, MessagesState, StateGraph

    def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=InMemorySaver())


# --------------------------------------------------------------------------- thread and config
async def test_session_from_thread_in_a_langgraph_run(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(session_from_thread=True)
    graph = chat_graph(llm)
    for thread in ("1", "2"):
        config: Any = {"configurable": {"thread_id": thread}}
        graph.invoke({"messages": [HumanMessage("hi")]}, config)
        await graph.ainvoke({"messages": [HumanMessage("again")]}, config)
    expected = {thread_session_id(t, True) for t in ("1", "2")}
    assert {s.session_id for s in emulator.sessions()} == expected
    assert all(s.turns == 2 for s in emulator.sessions())
    await llm.aclose()


def test_configurable_session_id_and_configurable_fields(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = new_id("cfg")
    reply = llm.invoke("Hi", config={"configurable": {"session_id": sid}})
    assert (reply.response_metadata["session_id"], reply.response_metadata["session_source"]) == (
        sid,
        "call",
    )
    configurable = llm.configurable_fields(session_id=ConfigurableField(id="session_id"))
    configurable.invoke("Hi", config={"configurable": {"session_id": sid}})
    assert emulator.session(sid).turns == 2  # type: ignore[union-attr]


def test_typos_fail_before_anything_is_sent(
    emulator: PathorsEmulator, pathors_connection: Connection, llm: ChatPathors
):
    with pytest.raises(ValueError, match="did you mean 'session_id'"):
        llm.invoke("Hi", sesion_id="s")
    with pytest.raises(ValueError, match="did you mean 'session_id'"):
        llm.invoke("Hi", sessionId="s")
    with pytest.raises(ValueError, match="did you mean 'session_variables'"):
        pathors_connection.model(session_id="s", session_variable={"a": 1})
    assert emulator.requests == []


# --------------------------------------------------------------------------- one turn at a time
class OverlapPathway:
    """Answers slowly and records how many turns of one session were in flight at once."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}

    async def __call__(self, request: PathwayRequest) -> str:
        sid = request.session.session_id
        self.in_flight[sid] = self.in_flight.get(sid, 0) + 1
        self.most[sid] = max(self.most.get(sid, 0), self.in_flight[sid])
        await asyncio.sleep(0.01)  # long enough for an unordered turn to arrive meanwhile
        self.in_flight[sid] -= 1
        return f"turn {request.session.turns}"


def test_threads_tasks_and_event_loops_race_one_session(start_emulator: Any):
    pathway = OverlapPathway()
    emu = start_emulator(pathway)
    sid = new_id("race")
    llm = model_for(emu, session_id=sid, session_variables={"userName": "Ada"})

    def loop_worker() -> None:
        async def main() -> None:
            async def astream() -> None:
                [c async for c in llm.astream("hi")]

            await asyncio.gather(*(llm.ainvoke("hi") for _ in range(3)), astream())

        asyncio.run(main())

    def thread_worker(n: int) -> None:
        if n % 2:
            llm.invoke("hi")
        else:
            list(llm.stream("hi"))

    workers = [threading.Thread(target=loop_worker) for _ in range(3)]
    workers += [threading.Thread(target=thread_worker, args=(n,)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    creates = [r for r in emu.requests if r.path.endswith(SESSION_PATH)]
    assert len(creates) == 1  # created exactly once in this process
    record = emu.session(sid)
    assert record is not None
    assert (record.turns, record.variables) == (3 * 4 + 4, {"userName": "Ada"})
    assert pathway.most == {sid: 1}  # never two turns of the session at the server at once
    llm.close()


def test_reject_raises_busy_while_a_stream_holds_the_session(
    emulator: PathorsEmulator, pathors_connection: Connection
):
    llm = pathors_connection.model(session_id=new_id("busy"), session_concurrency="reject")
    stream = llm.stream("Hi")
    next(stream)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            llm.invoke("me too")
        except PathorsSessionBusyError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 1
    for _ in stream:
        pass
    llm.invoke("now")
    assert emulator.session(llm.session_id or "").turns == 2  # type: ignore[union-attr]


class MeetPathway:
    """A turn waits (up to 5 s) until a turn of another session is in flight too."""

    def __init__(self) -> None:
        self.sessions_in_flight: set[str] = set()

    async def __call__(self, request: PathwayRequest) -> str:
        sid = request.session.session_id
        self.sessions_in_flight.add(sid)
        for _ in range(500):
            if len(self.sessions_in_flight) > 1:
                return "met"
            await asyncio.sleep(0.01)
        return "alone"


async def test_different_sessions_run_at_the_same_time(start_emulator: Any):
    emu = start_emulator(MeetPathway())
    llm = model_for(emu)
    replies = await asyncio.gather(
        llm.ainvoke("a", session_id=new_id("x")), llm.ainvoke("b", session_id=new_id("y"))
    )
    assert [r.content for r in replies] == ["met", "met"]
    await llm.aclose()
