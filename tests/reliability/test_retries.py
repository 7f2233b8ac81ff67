"""Retries over real sockets: what is re-sent, how often, and how long the client waits.

The emulator's request log is the witness for how many requests reached the server;
the `on_retry` callback and the patched sleeps show what the client did in between.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_pathors import (
    PathorsAuthenticationError,
    PathorsBadRequestError,
    PathorsConnectionError,
    PathorsNotFoundError,
    PathorsRateLimitError,
    PathorsServerError,
)
from langchain_pathors.emulator import Fault, PathorsEmulator

from .conftest import API_KEY, PROJECT, ModelFactory, RetryCounter, free_port


def chat_requests(emu: PathorsEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def ceiling(retry_number: int, initial: float = 0.5, cap: float = 8.0) -> float:
    """The documented backoff ceiling for a retry (before jitter)."""
    return min(cap, initial * 2 ** (retry_number - 1))


# ----------------------------------------------------------------------- connect errors
@pytest.mark.parametrize("session_id", [None, "sess-connect"])
def test_connect_errors_are_retried_even_in_a_session(
    make_llm: ModelFactory, sleeps: list[float], session_id: str | None
) -> None:
    """Nothing listens on the port: the request never reached a server, so re-sending
    is safe, even for a call pinned to a session."""
    llm = make_llm(base_url=f"http://127.0.0.1:{free_port()}", max_retries=3)
    counter = RetryCounter()
    with pytest.raises(PathorsConnectionError) as info:
        llm.invoke("Hi", session_id=session_id, config={"callbacks": [counter]})
    assert len(counter.retries) == 3  # max_retries retries, each visible to callbacks
    assert len(sleeps) == 3
    assert "ConnectError" in str(info.value)
    assert counter.errors == [info.value]


async def test_connect_errors_are_retried_async(
    make_llm: ModelFactory, sleeps: list[float]
) -> None:
    llm = make_llm(base_url=f"http://127.0.0.1:{free_port()}", max_retries=2)
    counter = RetryCounter()
    with pytest.raises(PathorsConnectionError):
        await llm.ainvoke("Hi", session_id="s-async", config={"callbacks": [counter]})
    assert len(counter.retries) == 2
    assert len(sleeps) == 2
    await llm.aclose()


def test_server_that_starts_refusing_is_retried_then_typed(sleeps: list[float]) -> None:
    """A server that was answering goes away: the pooled connection is dead, new ones
    are refused. The pinned call is retried (never reached the server), then fails typed."""
    from langchain_pathors import ChatPathors

    emu = PathorsEmulator(project_id=PROJECT, api_key=API_KEY).start()
    llm = ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY, max_retries=2)
    try:
        assert llm.invoke("first", session_id="s-gone").content == "You said: first"
        emu.stop()
        counter = RetryCounter()
        with pytest.raises(PathorsConnectionError):
            llm.invoke("second", session_id="s-gone", config={"callbacks": [counter]})
        assert len(counter.retries) == 2
        assert emu.session("s-gone").turns == 1  # type: ignore[union-attr]
    finally:
        emu.stop()
        llm.close()


def test_server_that_comes_back_during_backoff_gets_the_turn_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused at first, the server starts during the first backoff: the retry lands,
    and the session sees exactly one turn."""
    from langchain_pathors import ChatPathors

    port = free_port()
    emu = PathorsEmulator(project_id=PROJECT, api_key=API_KEY, port=port)
    slept: list[float] = []

    def start_server_instead_of_sleeping(delay: float) -> None:
        slept.append(delay)
        if len(slept) == 1:
            emu.start()

    monkeypatch.setattr("langchain_pathors._retry_loop.sleep", start_server_instead_of_sleeping)
    llm = ChatPathors(
        base_url=f"http://127.0.0.1:{port}", project_id=PROJECT, api_key=API_KEY, max_retries=3
    )
    try:
        reply = llm.invoke("back?", session_id="s-back")
        assert reply.content == "You said: back?"
        assert len(slept) == 1
        assert emu.session("s-back").turns == 1  # type: ignore[union-attr]
        assert len(emu.requests) == 1
    finally:
        llm.close()
        emu.stop()


# ----------------------------------------------------------------------- max_retries
@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_max_retries_counts_retries_not_attempts(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], max_retries: int
) -> None:
    emu.inject(Fault(status=503, times=None))
    counter = RetryCounter()
    with pytest.raises(PathorsServerError) as info:
        make_llm(max_retries=max_retries).invoke("Hi", config={"callbacks": [counter]})
    assert info.value.status_code == 503
    assert len(chat_requests(emu)) == max_retries + 1
    assert len(counter.retries) == max_retries
    assert len(sleeps) == max_retries


# ----------------------------------------------------------------------- backoff
def test_backoff_is_exponential_with_jitter_and_a_cap(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    llm = make_llm(max_retries=7)
    runs: list[list[float]] = []
    for _ in range(3):
        emu.inject(Fault(status=503, times=7))
        assert llm.invoke("Hi").content == "You said: Hi"  # succeeds on the 7th retry
        runs.append(list(sleeps))
        sleeps.clear()
    for run in runs:
        assert len(run) == 7
        for number, delay in enumerate(run, start=1):
            top = ceiling(number)
            assert top / 2 <= delay <= top, (number, delay)  # equal jitter under the ceiling
        assert max(run) <= 8.0  # the cap
        assert run[-1] > run[0]  # it grows
    # Jitter: three runs of seven random delays do not coincide.
    assert len({tuple(run) for run in runs}) == 3
    assert len(chat_requests(emu)) == 3 * 8


async def test_async_backoff_follows_the_same_policy(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    emu.inject(Fault(status=502, times=4))
    llm = make_llm(max_retries=4)
    assert (await llm.ainvoke("Hi")).content == "You said: Hi"
    assert len(sleeps) == 4
    for number, delay in enumerate(sleeps, start=1):
        assert ceiling(number) / 2 <= delay <= ceiling(number)
    await llm.aclose()


# ----------------------------------------------------------------------- Retry-After
@pytest.mark.parametrize(
    ("fault", "expected_sleep"),
    [
        (Fault(status=429, retry_after=1.5), 1.5),
        (Fault(status=503, retry_after=3), 3.0),
        (Fault(status=429, retry_after_ms=250), 0.25),
        (Fault(status=429, retry_after=30, retry_after_ms=120), 0.12),  # ms wins
        (Fault(status=503, retry_after=0), 0.0),
    ],
)
def test_retry_after_is_honoured(
    emu: PathorsEmulator,
    make_llm: ModelFactory,
    sleeps: list[float],
    fault: Fault,
    expected_sleep: float,
) -> None:
    emu.inject(fault)
    reply = make_llm().invoke("Hi", session_id="s-ra")  # refused before work: safe in a session
    assert reply.content == "You said: Hi"
    assert sleeps == [pytest.approx(expected_sleep)]
    assert len(chat_requests(emu)) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_retry_after_above_the_cap_fails_at_once(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], stream: bool
) -> None:
    emu.inject(Fault(status=429, retry_after=120))
    llm = make_llm(max_retry_after=60)
    with pytest.raises(PathorsRateLimitError) as info:
        if stream:
            list(llm.stream("Hi"))
        else:
            llm.invoke("Hi")
    assert info.value.retry_after == 120
    assert info.value.status_code == 429
    assert sleeps == []
    assert len(chat_requests(emu)) == 1


async def test_retry_after_ms_above_the_cap_fails_at_once_async(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    emu.inject(Fault(status=503, retry_after_ms=90_000))
    llm = make_llm(max_retry_after=10)
    with pytest.raises(PathorsServerError) as info:
        await llm.ainvoke("Hi")
    assert info.value.retry_after == 90
    assert sleeps == []
    assert len(chat_requests(emu)) == 1
    await llm.aclose()


# ----------------------------------------------------------------------- never retried
@pytest.mark.parametrize("session_id", [None, "s-4xx"])
@pytest.mark.parametrize("mode", ["invoke", "stream"])
@pytest.mark.parametrize(
    ("how", "error_type"),
    [
        ("fault-400", PathorsBadRequestError),
        ("wrong-key", PathorsAuthenticationError),
        ("wrong-project", PathorsNotFoundError),
        ("fault-401", PathorsAuthenticationError),
        ("fault-404", PathorsNotFoundError),
    ],
)
def test_400_401_404_are_never_retried(
    emu: PathorsEmulator,
    make_llm: ModelFactory,
    sleeps: list[float],
    how: str,
    error_type: type[Exception],
    mode: str,
    session_id: str | None,
) -> None:
    kwargs: dict[str, Any] = {"max_retries": 5}
    if how == "wrong-key":
        kwargs["api_key"] = "sk-wrong"
    elif how == "wrong-project":
        kwargs["project_id"] = "no-such-project"
    else:
        emu.inject(Fault(status=int(how.rsplit("-", 1)[1]), times=None))
    llm = make_llm(**kwargs)
    counter = RetryCounter()
    config: Any = {"callbacks": [counter]}
    with pytest.raises(error_type) as info:
        if mode == "stream":
            list(llm.stream("Hi", session_id=session_id, config=config))
        else:
            llm.invoke("Hi", session_id=session_id, config=config)
    assert len(emu.requests) == 1  # the log proves a single request reached the server
    assert sleeps == []
    assert counter.retries == []
    assert info.value.status_code in (400, 401, 404)
    assert counter.errors == [info.value]


async def test_401_is_never_retried_async(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    llm = make_llm(api_key="sk-wrong", max_retries=5)
    with pytest.raises(PathorsAuthenticationError):
        await llm.ainvoke("Hi")
    with pytest.raises(PathorsAuthenticationError):
        async for _ in llm.astream("Hi"):
            pass
    assert len(emu.requests) == 2
    assert sleeps == []
    await llm.aclose()


def test_create_session_is_retried_on_503_and_not_on_400(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float]
) -> None:
    llm = make_llm()
    emu.inject(Fault(status=503, endpoint="session", retry_after=0))
    session = llm.create_session("s-create", {"plan": "pro"})
    assert session.session_id == "s-create"
    assert emu.session("s-create").variables == {"plan": "pro"}  # type: ignore[union-attr]
    assert sleeps == [0.0]
    emu.inject(Fault(status=400, endpoint="session"))
    with pytest.raises(PathorsBadRequestError):
        llm.create_session("s-create-2")
    assert len(emu.requests) == 3


@pytest.mark.xfail(
    strict=True,
    reason="langchain-core 1.7 calls _stream/_astream without a run_manager (from stream, "
    "astream, and invoke on a streaming model), so ChatPathors cannot report a stream's "
    "retries to callbacks (chat_models.py; not this suite's to fix). The retry happens.",
)
@pytest.mark.parametrize("mode", ["stream", "astream", "invoke-streaming"])
async def test_stream_retries_are_visible_to_callbacks(
    emu: PathorsEmulator, make_llm: ModelFactory, sleeps: list[float], mode: str
) -> None:
    emu.inject(Fault(status=503, retry_after=0))
    counter = RetryCounter()
    config: Any = {"callbacks": [counter]}
    if mode == "stream":
        text = "".join(str(p.content) for p in make_llm().stream("Hi", config=config))
    elif mode == "astream":
        text = "".join([str(p.content) async for p in make_llm().astream("Hi", config=config)])
    else:
        text = str(make_llm(streaming=True).invoke("Hi", config=config).content)
    assert text == "You said: Hi"
    assert sleeps == [0.0]  # retried once...
    assert len(chat_requests(emu)) == 2
    assert len(counter.retries) == 1  # ...but no callback was told
