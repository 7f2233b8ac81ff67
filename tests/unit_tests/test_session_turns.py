"""A call's turn in its session, through ChatPathors on a scripted double (no sockets).

Chat loops keep their session with no id passed, results carry the stamp, forks follow
`on_session_fork`, turns on one session never overlap, sessions are created once, and the
LLM cache never answers a turn.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Generator
from typing import Any

import httpx
import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_pathors import (
    ChatPathors,
    PathorsOutcomeUnknownError,
    PathorsSessionBusyError,
    PathorsSessionForkedError,
)
from tests.unit_tests.conftest import PROJECT, FakePathors, completion

STAMP_KEYS = {"session_id", "session_source", "pathors_project_id", "pathors_base_url"}


def sent_sessions(fake: FakePathors) -> list[str | None]:
    return [r.headers.get("x-session-id") for r in fake.chat_requests()]


# --------------------------------------------------------------------------- chat loops
def test_chat_loop_keeps_the_server_session_with_no_id_passed(fake: FakePathors) -> None:
    llm = fake.model()
    history: list[BaseMessage] = [HumanMessage("Hi")]
    for text in ("And then?", "Thanks"):
        reply = llm.invoke(history)
        history += [reply, HumanMessage(text)]
    llm.invoke(history)
    assert sent_sessions(fake) == [None, "sess-server", "sess-server"]
    assert [m.response_metadata["session_source"] for m in history[1::2]] == [
        "server",
        "history",
    ]


def test_one_shot_calls_keep_no_head_and_a_fork_from_a_first_reply_is_still_seen(
    fake: FakePathors,
) -> None:
    from langchain_pathors._session_turns import PROCESS_SESSIONS

    llm = fake.model()
    for _ in range(20):  # one-shot calls (scripts, per-request handlers)
        llm.invoke("Hi")
    assert len(PROCESS_SESSIONS.heads) == 0  # a first reply is not recorded
    first = llm.invoke("Hi")
    branch: list[BaseMessage] = [HumanMessage("Hi"), first]
    llm.invoke([*branch, HumanMessage("one way")])  # continues: this head is recorded
    assert len(PROCESS_SESSIONS.heads) == 1
    with pytest.raises(PathorsSessionForkedError):
        llm.invoke([*branch, HumanMessage("another way")])  # from the same first reply


async def test_async_stream_loop_keeps_the_session(fake: FakePathors) -> None:
    llm = fake.model(session_variables={"plan": "pro"})
    history: list[BaseMessage] = [HumanMessage("Hi")]
    for text in ("More", "Bye"):
        chunks = [c async for c in llm.astream(history)]
        merged = chunks[0]
        for c in chunks[1:]:
            merged += c
        history += [merged, HumanMessage(text)]
    (created,) = fake.session_requests()
    sid = json.loads(created.content)["session_id"]
    assert sent_sessions(fake) == [sid, sid]
    assert history[1].response_metadata["session_source"] == "new"
    assert history[3].response_metadata["session_source"] == "history"


def test_results_carry_the_stamp_on_invoke_and_first_chunk(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-1")
    meta = llm.invoke("Hi").response_metadata
    assert meta.keys() >= STAMP_KEYS
    assert meta["model_provider"] == "pathors"
    assert (meta["session_id"], meta["session_source"]) == ("s-1", "model")
    assert (meta["pathors_project_id"], meta["pathors_base_url"]) == (
        PROJECT,
        "https://pathors.test",
    )
    chunks = list(llm.stream("Hi"))
    assert chunks[0].response_metadata.keys() >= STAMP_KEYS
    assert all("session_source" not in c.response_metadata for c in chunks[1:])


def test_a_reply_from_another_base_url_is_not_continued(fake: FakePathors) -> None:
    first = fake.model(base_url="https://elsewhere.test").invoke("Hi")
    fake.model().invoke([HumanMessage("Hi"), first, HumanMessage("again")])
    assert sent_sessions(fake) == [None, None]


def test_history_off_replays_without_sessions(fake: FakePathors) -> None:
    llm = fake.model()
    recorded = [HumanMessage("Hi"), llm.invoke("Hi"), HumanMessage("again")]
    fake.model(session_from_history=False).invoke(recorded)
    assert sent_sessions(fake) == [None, None]


# --------------------------------------------------------------------------- config
def test_configurable_session_id_on_a_direct_call(fake: FakePathors) -> None:
    llm = fake.model()
    reply = llm.invoke("Hi", config={"configurable": {"session_id": "cfg-1"}})
    list(llm.stream("Hi", config={"configurable": {"session_id": "cfg-2"}}))
    assert sent_sessions(fake) == ["cfg-1", "cfg-2"]
    assert reply.response_metadata["session_source"] == "call"


def test_thread_id_is_used_only_when_session_from_thread_is_on(fake: FakePathors) -> None:
    config: Any = {"configurable": {"thread_id": "t-1"}}
    fake.model().invoke("Hi", config=config)
    reply = fake.model(session_from_thread=lambda t: f"app-{t}").invoke("Hi", config=config)
    assert sent_sessions(fake) == [None, "app-t-1"]
    assert reply.response_metadata["session_source"] == "thread"
    with pytest.raises(ValueError, match="session_from_thread"):
        fake.model().invoke("Hi", thread_id="t-1")


# --------------------------------------------------------------------------- forks
def regenerate_setup(
    fake: FakePathors, **kwargs: Any
) -> tuple[ChatPathors, list[BaseMessage], AIMessage]:
    """Two turns in one session: the second turn's input, and its reply (the head)."""
    llm = fake.model(session_id="s-fork", session_variables={"v": 1}, **kwargs)
    history: list[BaseMessage] = [HumanMessage("one")]
    history += [llm.invoke(history), HumanMessage("two")]
    return llm, history, llm.invoke(history)


def test_regenerate_raises_a_fork_and_sends_nothing(fake: FakePathors) -> None:
    llm, history, _ = regenerate_setup(fake)
    before = len(fake.requests)
    with pytest.raises(PathorsSessionForkedError, match="moved on") as info:
        llm.invoke(history)  # turn two again: the session already answered it
    assert info.value.session_id == "s-fork"
    assert not info.value.is_retryable
    assert len(fake.requests) == before
    with pytest.raises(PathorsSessionForkedError):
        list(llm.stream(history))


def test_continuing_from_the_latest_reply_is_no_fork(fake: FakePathors) -> None:
    llm, history, latest = regenerate_setup(fake)
    llm.invoke([*history, latest, HumanMessage("three")])
    assert sent_sessions(fake) == ["s-fork"] * 3


async def test_fork_new_session_starts_a_new_session_with_the_known_variables(
    fake: FakePathors,
) -> None:
    llm, history, _ = regenerate_setup(fake, on_session_fork="new_session")
    reply = await llm.ainvoke(history)
    assert reply.response_metadata["session_source"] == "new"
    new_id = reply.response_metadata["session_id"]
    assert new_id != "s-fork"
    created = [json.loads(r.content) for r in fake.session_requests()]
    assert created[-1] == {"session_id": new_id, "variables": {"v": 1}}
    assert sent_sessions(fake)[-1] == new_id


def test_fork_allow_sends_anyway(fake: FakePathors) -> None:
    llm, history, _ = regenerate_setup(fake, on_session_fork="allow")
    llm.invoke(history)
    assert sent_sessions(fake) == ["s-fork"] * 3


def test_after_an_unknown_outcome_the_head_is_forgotten(fake: FakePathors) -> None:
    llm, history, latest = regenerate_setup(fake)
    fake.chat = [
        httpx.Response(500, json={"error": "boom"}),
        httpx.Response(200, json=completion()),
    ]
    with pytest.raises(PathorsOutcomeUnknownError):
        llm.invoke([*history, latest, HumanMessage("three")])
    # Whether the server took turn three is unknown: the next turn is sent unchecked,
    # as after a restart, even one that re-sends turn two.
    llm.invoke(history)
    assert len(fake.chat_requests()) == 4


def test_forks_are_seen_by_another_instance_in_the_process(fake: FakePathors) -> None:
    _, history, _ = regenerate_setup(fake)
    with pytest.raises(PathorsSessionForkedError):
        fake.model(session_id="s-fork").invoke(history)


# --------------------------------------------------------------------------- one turn at a time
def test_an_open_stream_holds_its_session(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-busy", session_concurrency="reject")
    stream = llm.stream("Hi")
    assert isinstance(stream, Generator)  # typed Iterator; a generator has close()
    next(stream)  # the turn is now running
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, lambda: llm.invoke("again")))
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert isinstance(errors[0], PathorsSessionBusyError)
    assert errors[0].is_retryable
    assert errors[0].session_id == "s-busy"
    stream.close()  # closing the stream ends the turn
    llm.invoke("again")
    assert len(fake.chat_requests()) == 2


def test_a_turn_inside_its_own_stream_fails_instead_of_hanging(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-self")
    for _ in llm.stream("Hi"):
        with pytest.raises(PathorsSessionBusyError, match="still holds") as info:
            llm.invoke("nested")
        assert not info.value.is_retryable
        break
    llm.invoke("after the loop")  # the stream was closed by the break


async def test_async_break_then_invoke_waits_for_the_close(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-break")
    async for _ in llm.astream("Hi"):
        break
    await llm.ainvoke("next")  # the generator's close is scheduled, not yet run
    assert sent_sessions(fake) == ["s-break", "s-break"]


def test_different_sessions_do_not_wait_for_each_other(fake: FakePathors) -> None:
    llm = fake.model()
    held = llm.stream("Hi", session_id="a")
    assert isinstance(held, Generator)  # typed Iterator; a generator has close()
    next(held)
    llm.invoke("Hi", session_id="b")  # would block forever if sessions shared the gate
    held.close()


def _capture(errors: list[BaseException], call: Any) -> None:
    try:
        call()
    except BaseException as exc:
        errors.append(exc)


# --------------------------------------------------------------------------- created once
def test_created_once_across_threads_tasks_and_event_loops(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-race", session_variables={"k": "v"})

    def loop_worker() -> None:
        async def main() -> None:
            await asyncio.gather(*(llm.ainvoke("q") for _ in range(5)))

        asyncio.run(main())

    workers = [threading.Thread(target=loop_worker) for _ in range(3)]
    workers += [threading.Thread(target=lambda: llm.invoke("q")) for _ in range(5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(fake.session_requests()) == 1
    assert len(fake.chat_requests()) == 20
    assert fake.requests[0].url.path.endswith("/session")


def test_created_once_even_when_turns_are_not_ordered(fake: FakePathors) -> None:
    llm = fake.model(session_concurrency="allow").bind(session_id="s", session_variables={"a": 1})
    llm.batch(["q"] * 20, config={"max_concurrency": 20})
    assert len(fake.session_requests()) == 1


def test_a_failed_create_is_tried_again_by_the_next_turn(fake: FakePathors) -> None:
    fake.session = [httpx.Response(500, json={"error": "x"}), httpx.Response(200, json={})]
    llm = fake.model(session_id="s-c", session_variables={"a": 1}, max_retries=0)
    with pytest.raises(Exception, match="x"):
        llm.invoke("Hi")
    llm.invoke("Hi")
    llm.invoke("Hi")
    assert len(fake.session_requests()) == 2
    assert len(fake.chat_requests()) == 2


# --------------------------------------------------------------------------- cache
@pytest.fixture
def global_cache() -> Any:
    set_llm_cache(InMemoryCache())
    yield
    set_llm_cache(None)


@pytest.mark.usefixtures("global_cache")
async def test_a_global_cache_never_answers_a_turn(fake: FakePathors) -> None:
    llm = fake.model(session_id="s-cache")
    llm.invoke("same")
    llm.invoke("same")
    await llm.ainvoke("same")
    assert len(fake.chat_requests()) == 3


@pytest.mark.parametrize("cache", [True, InMemoryCache()])
def test_asking_for_a_cache_is_refused_with_the_reason(fake: FakePathors, cache: Any) -> None:
    with pytest.raises(ValueError, match="does not cache"):
        fake.model(cache=cache)


def test_profile_says_tools_yes_native_structured_output_no_images(fake: FakePathors) -> None:
    profile = fake.model().profile
    assert profile is not None
    assert profile["tool_calling"] is True
    assert profile["structured_output"] is False
    assert profile["image_inputs"] is False


# --------------------------------------------------------------------------- traces
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_traces_show_session_and_source_never_variables(fake: FakePathors, mode: str) -> None:
    from tests.tracing import RunCollector

    tracer = RunCollector()
    llm = fake.model(session_variables={"userName": "Zelda-Secret-Name"})
    config: Any = {"callbacks": [tracer]}
    if mode == "invoke":
        llm.invoke("Hi", config=config)
    else:
        list(llm.stream("Hi", config=config))
    (run,) = tracer.runs
    traced = json.dumps(run.model_dump(), default=str)
    assert "Zelda-Secret-Name" not in traced
    message = run.outputs["generations"][0][0]["message"]  # type: ignore[index]
    meta = message["kwargs"]["response_metadata"]  # the traced (serialized) reply
    assert meta["session_source"] == "new"
    assert meta["session_id"].startswith("lc-")


def test_a_session_setting_changed_after_construction_applies(fake: FakePathors) -> None:
    llm, history, _ = regenerate_setup(fake)
    llm.on_session_fork = "allow"
    llm.invoke(history)
    assert sent_sessions(fake) == ["s-fork"] * 3


def test_a_fresh_session_is_not_created_again_when_named_explicitly(fake: FakePathors) -> None:
    llm = fake.model(session_variables={"a": 1})
    sid = llm.invoke("Hi").response_metadata["session_id"]
    llm.invoke("again", session_id=sid, session_variables={"a": 1})
    assert len(fake.session_requests()) == 1
    assert sent_sessions(fake) == [sid, sid]
