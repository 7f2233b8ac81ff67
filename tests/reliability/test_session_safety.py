"""A session turn is never sent twice: the emulator's turn count is the witness.

For a call pinned to a session, a failure after which the server may have applied the
turn (500/502/504, a read timeout, a cut stream) is not re-sent and ends in
`PathorsOutcomeUnknownError` with the session id and the text received so far. The same
faults on a call with no session are retried: each attempt gets a fresh server session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from langchain_pathors import (
    ChatPathors,
    PathorsConnectionError,
    PathorsOutcomeUnknownError,
    PathorsResponseError,
    PathorsServerError,
    PathorsStreamError,
    PathorsTimeoutError,
)
from langchain_pathors.emulator import Fault, PathorsEmulator

from ._raw_server import RawServer
from .conftest import API_KEY, PROJECT, ModelFactory, RetryCounter

READ_TIMEOUT = 0.3
SLOW = 1.0  # server latency well past READ_TIMEOUT

# name -> (fault, the underlying cause's type). The cause is always the package's own
# error: an httpx one would keep the request, and its Authorization header, alive.
FAULTS: dict[str, tuple[Fault, type[BaseException]]] = {
    "500": (Fault(status=500), PathorsServerError),
    "502": (Fault(status=502), PathorsServerError),
    "504": (Fault(status=504), PathorsServerError),
    "read-timeout": (Fault(latency=SLOW), PathorsTimeoutError),
}
STREAM_CUTS = {
    "cut-before-any-event": Fault(cut_after=0),
    "cut-after-3-events": Fault(cut_after=3),
}
MODES = ["invoke", "ainvoke", "stream", "astream"]


def chat_requests(emu: PathorsEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


async def call(
    llm: ChatPathors, mode: str, text: str, session_id: str | None, delivered: list[str]
) -> str:
    """Run one call in `mode`, appending streamed pieces to `delivered` as they arrive."""
    config: Any = {"callbacks": [RetryCounter()]}
    if mode == "invoke":
        return str(llm.invoke(text, session_id=session_id).content)
    if mode == "ainvoke":
        return str((await llm.ainvoke(text, session_id=session_id)).content)
    if mode == "stream":
        for chunk in llm.stream(text, session_id=session_id, config=config):
            delivered.append(str(chunk.content))
    else:
        async for chunk in llm.astream(text, session_id=session_id, config=config):
            delivered.append(str(chunk.content))
    return "".join(delivered)


def fresh(fault: Fault) -> Fault:
    return Fault(**fault.to_dict())  # a Fault's uses are consumed: never share one


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FAULTS))
async def test_pinned_call_is_not_resent_and_outcome_is_unknown(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], name: str, mode: str
) -> None:
    fault, cause_type = FAULTS[name]
    emu.inject(fresh(fault))
    llm = make_llm(timeout=READ_TIMEOUT, max_retries=3)
    delivered: list[str] = []
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        await call(llm, mode, "Hello there", "sess-pinned", delivered)
    error = info.value
    assert error.session_id == "sess-pinned"
    assert "sess-pinned" in str(error)
    assert error.partial_text == "".join(delivered) == ""
    assert isinstance(error.cause, cause_type)
    assert error.is_retryable is False
    assert emu.session("sess-pinned").turns == 1  # type: ignore[union-attr]
    assert len(chat_requests(emu)) == 1
    assert sleeps == []
    await llm.aclose()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FAULTS))
async def test_the_same_faults_without_a_session_are_retried(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], name: str, mode: str
) -> None:
    fault, _ = FAULTS[name]
    emu.inject(fresh(fault))
    llm = make_llm(timeout=READ_TIMEOUT, max_retries=3)
    delivered: list[str] = []
    text = await call(llm, mode, "Hello there", None, delivered)
    assert text == "You said: Hello there"
    requests = chat_requests(emu)
    assert len(requests) == 2  # the failed attempt, then the retry
    assert len(sleeps) == 1
    # Each attempt went to its own server-assigned session: nothing was advanced twice.
    assert len({r.session_id for r in requests}) == 2
    assert all(s.turns == 1 for s in emu.sessions())
    await llm.aclose()


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize("name", list(STREAM_CUTS))
async def test_cut_stream_in_a_session_is_not_resent_and_keeps_partial_text(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], name: str, mode: str
) -> None:
    emu.inject(fresh(STREAM_CUTS[name]))
    llm = make_llm(max_retries=3)
    delivered: list[str] = []
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        await call(llm, mode, "one two three four", "sess-cut", delivered)
    error = info.value
    assert error.session_id == "sess-cut"
    assert error.partial_text == "".join(delivered)
    if name == "cut-after-3-events":
        assert error.partial_text == "You said: "  # role chunk, "You ", "said: "
    assert isinstance(error.cause, PathorsStreamError)
    assert "RemoteProtocolError" in str(error.cause)  # what happened, without the request
    assert emu.session("sess-cut").turns == 1  # type: ignore[union-attr]
    assert len(chat_requests(emu)) == 1
    assert sleeps == []
    await llm.aclose()


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_cut_stream_before_any_event_without_a_session_is_retried(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], mode: str
) -> None:
    """Nothing was delivered and no session is at stake: a fresh attempt is harmless."""
    emu.inject(Fault(cut_after=0))
    llm = make_llm(max_retries=3)
    delivered: list[str] = []
    assert await call(llm, mode, "one two", None, delivered) == "You said: one two"
    assert len(chat_requests(emu)) == 2
    assert len(sleeps) == 1
    await llm.aclose()


async def test_session_with_variables_is_created_once_and_its_turn_not_repeated(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    """A 500 on the chat call after the session was created: the create is not repeated
    by the failure, and the next call (a new turn) does not create it again either."""
    llm = make_llm()
    emu.inject(Fault(status=500))
    with pytest.raises(PathorsOutcomeUnknownError):
        await llm.ainvoke("Hi", session_id="s-vars", session_variables={"plan": "pro"})
    reply = await llm.ainvoke("Again", session_id="s-vars", session_variables={"plan": "pro"})
    assert reply.content == "You said: Again"
    record = emu.session("s-vars")
    assert record is not None
    assert record.variables == {"plan": "pro"}
    assert record.turns == 2  # the failed turn and the new one: nothing re-sent
    session_calls = [r for r in emu.requests if r.path.endswith("/session")]
    assert len(session_calls) == 1
    await llm.aclose()


# ------------------------------------------------------------------ a connection dropped
@pytest.fixture(scope="module")
def dropping_server() -> Iterator[RawServer]:
    """A server that reads the request and closes the connection without answering."""
    with RawServer() as server:
        server.script = lambda request: [None]
        yield server


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_connection_dropped_before_the_answer(
    dropping_server: RawServer, sleeps: list[float], is_async: bool
) -> None:
    """The request reached the server, which hung up: unknown outcome in a session,
    a retried (then typed) connection error without one."""
    dropping_server.clear()
    llm = ChatPathors(
        base_url=dropping_server.base_url, project_id=PROJECT, api_key=API_KEY, max_retries=2
    )

    async def call(session_id: str | None) -> Any:
        if is_async:
            return await llm.ainvoke("Hi", session_id=session_id)
        return llm.invoke("Hi", session_id=session_id)

    with pytest.raises(PathorsOutcomeUnknownError) as info:
        await call("s-dropped")
    assert info.value.session_id == "s-dropped"
    assert isinstance(info.value.cause, PathorsConnectionError)
    assert "RemoteProtocolError" in str(info.value.cause)
    assert len(dropping_server.received) == 1
    assert sleeps == []

    with pytest.raises(PathorsConnectionError, match="RemoteProtocolError"):
        await call(None)
    assert len(dropping_server.received) == 1 + 3  # then one attempt and two retries
    assert len(sleeps) == 2
    llm.close()
    await llm.aclose()


@pytest.mark.parametrize("session_id", [None, "s-malformed"])
def test_malformed_answer_is_a_response_error_and_not_resent(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], session_id: str | None
) -> None:
    """The server answered (in a session, the turn happened), but not with JSON."""
    emu.inject(Fault(malformed=True))
    with pytest.raises(PathorsResponseError, match="not JSON") as info:
        make_llm().invoke("Hi", session_id=session_id)
    assert not isinstance(info.value, PathorsOutcomeUnknownError)
    assert len(chat_requests(emu)) == 1
    assert sleeps == []
