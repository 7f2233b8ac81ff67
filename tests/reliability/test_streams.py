"""Streams that go wrong midway: each ends in a typed error, nothing delivered is lost.

Chunks are collected as they arrive, before the error; the error then carries the same
text (`partial_text`), and `on_llm_error` receives that very error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_pathors import (
    ChatPathors,
    PathorsError,
    PathorsOutcomeUnknownError,
    PathorsStreamError,
    PathorsTimeoutError,
)
from langchain_pathors.emulator import Fault, PathorsEmulator

from ._raw_server import RawServer, http_reply
from .conftest import API_KEY, PROJECT, ModelFactory, RetryCounter

IDLE = 0.3  # stream_idle_timeout for the stall case
READ = 0.4  # the HTTP read timeout for the slow-chunks case


class Case:
    def __init__(
        self,
        fault: Fault,
        error: type[PathorsError],
        delivered: list[str],
        match: str,
    ) -> None:
        self.fault, self.error, self.delivered, self.match = fault, error, delivered, match


# The echo pathway answers "You said: one two three four" as the events
# "" (role), "You ", "said: ", "one ", "two ", "three ", "four", then finish_reason.
CASES: dict[str, Case] = {
    "cut-after-3": Case(
        Fault(cut_after=3), PathorsStreamError, ["", "You ", "said: "], "stream was cut"
    ),
    "malformed-json": Case(Fault(malformed=True), PathorsStreamError, [""], "not JSON"),
    "error-event": Case(
        Fault(error_event_after=2, message="the pathway fell over"),
        PathorsStreamError,
        ["", "You "],
        "the pathway fell over",
    ),
    "json-for-stream": Case(
        Fault(json_for_stream=True), PathorsStreamError, [], "application/json"
    ),
    "stall-on-keep-alives": Case(
        Fault(stall_after=2, stall_seconds=5),
        PathorsTimeoutError,
        ["", "You "],
        "stream_idle_timeout",
    ),
    "slow-chunks": Case(Fault(chunk_latency=2 * READ), PathorsTimeoutError, [""], "timed out"),
}


def model(make_llm: ModelFactory) -> ChatPathors:
    return make_llm(stream_idle_timeout=IDLE, timeout=READ, max_retries=2)


async def consume(
    llm: ChatPathors, is_async: bool, session_id: str | None, handler: RetryCounter
) -> tuple[list[str], BaseException]:
    """Stream until the error; return what was delivered first, and the error."""
    delivered: list[str] = []
    config: Any = {"callbacks": [handler]}
    try:
        if is_async:
            async for chunk in llm.astream(
                "one two three four", session_id=session_id, config=config
            ):
                delivered.append(str(chunk.content))
        else:
            for chunk in llm.stream("one two three four", session_id=session_id, config=config):
                delivered.append(str(chunk.content))
    except Exception as exc:
        return delivered, exc
    raise AssertionError(f"the stream succeeded: {delivered!r}")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(CASES))
async def test_stream_failure_is_typed_and_keeps_what_was_delivered(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], name: str, is_async: bool
) -> None:
    case = CASES[name]
    emu.inject(Fault(**case.fault.to_dict()))
    llm = model(make_llm)
    handler = RetryCounter()
    delivered, error = await consume(llm, is_async, None, handler)
    assert type(error) is case.error, repr(error)
    assert case.match in str(error)
    assert delivered == case.delivered
    assert error.partial_text == "".join(delivered)  # type: ignore[attr-defined]
    assert error.session_id is not None  # type: ignore[attr-defined]  # server-assigned
    assert handler.errors == [error]  # on_llm_error got the very error raised
    assert len(emu.requests) == 1  # a failing stream is not re-sent once data has come
    assert sleeps == []
    await llm.aclose()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(CASES))
async def test_stream_failure_in_a_session_is_outcome_unknown(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], name: str, is_async: bool
) -> None:
    case = CASES[name]
    emu.inject(Fault(**case.fault.to_dict()))
    llm = model(make_llm)
    handler = RetryCounter()
    delivered, error = await consume(llm, is_async, "sess-stream", handler)
    assert isinstance(error, PathorsOutcomeUnknownError), repr(error)
    assert case.match in str(error)
    assert error.session_id == "sess-stream"
    assert delivered == case.delivered
    assert error.partial_text == "".join(delivered)
    assert handler.errors == [error]
    assert emu.session("sess-stream").turns == 1  # type: ignore[union-attr]
    assert sleeps == []
    await llm.aclose()


def test_invoke_with_streaming_keeps_partial_text_in_the_error(
    emu: PathorsEmulator, make_llm: ModelFactory
) -> None:
    """`invoke` on a streaming model aggregates chunks; the error still has the text."""
    emu.inject(Fault(cut_after=4))
    llm = make_llm(streaming=True)
    with pytest.raises(PathorsStreamError) as info:
        llm.invoke("one two three four")
    assert info.value.partial_text == "You said: one "


def test_stream_recovers_after_a_failure(emu: PathorsEmulator, make_llm: ModelFactory) -> None:
    """A failed stream leaves the model (and its connection pool) usable."""
    llm = make_llm()
    for fault in (Fault(cut_after=2), Fault(malformed=True), Fault(error_event_after=1)):
        emu.inject(fault)
        with pytest.raises(PathorsStreamError):
            list(llm.stream("a b"))
        assert "".join(str(c.content) for c in llm.stream("a b")) == "You said: a b"


# ------------------------------------------------------------- replies the emulator cannot give
def chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


@pytest.fixture(scope="module")
def raw_server() -> Any:
    with RawServer() as server:
        yield server


def raw_model(server: RawServer, **kwargs: Any) -> ChatPathors:
    return ChatPathors(base_url=server.base_url, project_id=PROJECT, api_key=API_KEY, **kwargs)


@pytest.mark.parametrize("session_id", [None, "sess-raw"])
def test_clean_end_without_finish_reason_is_a_truncation(
    raw_server: RawServer, session_id: str | None
) -> None:
    raw_server.script = lambda request: http_reply(
        200, {"Content-Type": "text/event-stream"}, [chunk("Half "), chunk("an answer")]
    )
    llm = raw_model(raw_server)
    delivered: list[str] = []
    with pytest.raises((PathorsStreamError, PathorsOutcomeUnknownError)) as info:
        for piece in llm.stream("Hi", session_id=session_id):
            delivered.append(str(piece.content))
    llm.close()
    assert "ended before the answer finished" in str(info.value)
    assert delivered == ["Half ", "an answer"]
    assert info.value.partial_text == "Half an answer"  # type: ignore[union-attr]
    if session_id is not None:
        assert isinstance(info.value, PathorsOutcomeUnknownError)


def test_final_event_without_trailing_blank_line_is_kept(raw_server: RawServer) -> None:
    raw_server.script = lambda request: http_reply(
        200,
        {"Content-Type": "text/event-stream"},
        [chunk("All "), chunk("there"), chunk(finish="stop").rstrip(b"\n")],
    )
    llm = raw_model(raw_server)
    pieces = list(llm.stream("Hi"))
    llm.close()
    assert "".join(str(p.content) for p in pieces) == "All there"
    assert pieces[-1].response_metadata.get("finish_reason") == "stop"


@pytest.mark.parametrize(
    "event",
    [
        b"event: error\ndata: upstream exploded\n\n",
        b'event: error\ndata: {"error": {"message": "upstream exploded"}}\n\n',
        b'data: {"error": {"message": "upstream exploded", "code": 500}}\n\n',
    ],
)
def test_error_events_in_any_shape_raise(raw_server: RawServer, event: bytes) -> None:
    raw_server.script = lambda request: http_reply(
        200, {"Content-Type": "text/event-stream"}, [chunk("Hi "), event, chunk("more")]
    )
    llm = raw_model(raw_server)
    delivered: list[str] = []
    with pytest.raises(PathorsStreamError, match="upstream exploded") as info:
        for piece in llm.stream("Hi"):
            delivered.append(str(piece.content))
    llm.close()
    assert delivered == ["Hi "]
    assert info.value.partial_text == "Hi "
