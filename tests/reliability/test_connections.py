"""Connections are released after errors, retries, an early `break` and cancellation.

Two witnesses: the httpx pool (no connection may stay checked out: each is idle and
reusable, or closed), and the kernel (psutil: this process's TCP sockets to the
emulator's port that are still open never outnumber the idle pooled connections).
Each test has its own emulator, so no other test's sockets are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from langchain_pathors import ChatPathors, PathorsError
from langchain_pathors.emulator import Fault, PathorsEmulator

from .conftest import API_KEY, PROJECT, busy_connections, pool_connections, port_of

OPEN_STATES = (psutil.CONN_ESTABLISHED, psutil.CONN_CLOSE_WAIT)


@pytest.fixture
def own_emu() -> Iterator[PathorsEmulator]:
    with PathorsEmulator(project_id=PROJECT, api_key=API_KEY) as emu:
        yield emu


def open_sockets(port: int) -> int:
    """Client-side sockets of this process to `port` that are not yet closed."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status in OPEN_STATES
    )


def idle(client: httpx.Client | httpx.AsyncClient) -> int:
    return sum(1 for c in pool_connections(client) if c.is_idle())


def assert_released(client: httpx.Client | httpx.AsyncClient, port: int) -> None:
    assert busy_connections(client) == []
    assert open_sockets(port) <= idle(client)


def model(emu: PathorsEmulator, **kwargs: Any) -> ChatPathors:
    params: dict[str, Any] = {"max_retries": 2, "timeout": 0.5, "stream_idle_timeout": 0.3}
    params.update(kwargs)
    return ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY, **params)


# Faults, the session to pin the call to, and whether to stream.
FAILURES: list[tuple[str, Fault, str | None, bool]] = [
    ("500 pinned", Fault(status=500), "s-1", False),
    ("500 retried then exhausted", Fault(status=500, times=3), None, False),
    ("400", Fault(status=400), None, False),
    ("503 exhausted", Fault(status=503, retry_after=0, times=3), "s-2", False),
    ("read timeout pinned", Fault(latency=1.5), "s-3", False),
    ("malformed JSON body", Fault(malformed=True), None, False),
    ("stream cut", Fault(cut_after=2), None, True),
    ("stream cut pinned", Fault(cut_after=2), "s-4", True),
    ("stream malformed", Fault(malformed=True), None, True),
    ("stream error event", Fault(error_event_after=1), None, True),
    ("JSON for a stream", Fault(json_for_stream=True), None, True),
    ("stream stalled", Fault(stall_after=1, stall_seconds=3), None, True),
    ("stream status 500 pinned", Fault(status=500), "s-5", True),
]


def test_every_failure_releases_its_connection_sync(
    own_emu: PathorsEmulator, sleeps: list[float]
) -> None:
    llm = model(own_emu)
    port = port_of(own_emu.base_url)
    llm.invoke("warm up")
    client = llm._client.connections.current_sync_client()
    assert client is not None
    for name, fault, session_id, stream in FAILURES:
        own_emu.inject(Fault(**fault.to_dict()))
        with pytest.raises(PathorsError):
            if stream:
                list(llm.stream("a b c", session_id=session_id))
            else:
                llm.invoke("a b c", session_id=session_id)
        assert busy_connections(client) == [], name
        # Sequential calls: at most the one kept-alive connection is open.
        assert open_sockets(port) <= min(1, idle(client)), name
    assert llm.invoke("still fine").content == "You said: still fine"
    llm.close()
    assert open_sockets(port) == 0


async def test_every_failure_releases_its_connection_async(
    own_emu: PathorsEmulator, sleeps: list[float]
) -> None:
    llm = model(own_emu)
    port = port_of(own_emu.base_url)
    await llm.ainvoke("warm up")
    client = llm._client.connections.loop_client()
    for name, fault, session_id, stream in FAILURES:
        own_emu.inject(Fault(**fault.to_dict()))
        with pytest.raises(PathorsError):
            if stream:
                async for _ in llm.astream("a b c", session_id=session_id):
                    pass
            else:
                await llm.ainvoke("a b c", session_id=session_id)
        assert busy_connections(client) == [], name
        assert open_sockets(port) <= min(1, idle(client)), name
    await llm.aclose()
    assert open_sockets(port) == 0


def test_retries_reuse_or_release_connections(
    own_emu: PathorsEmulator, sleeps: list[float]
) -> None:
    own_emu.inject(Fault(status=503, times=20))
    llm = model(own_emu, max_retries=25)
    assert llm.invoke("Hi").content == "You said: Hi"
    client = llm._client.connections.current_sync_client()
    assert client is not None
    assert len(sleeps) == 20
    assert_released(client, port_of(own_emu.base_url))
    assert len(pool_connections(client)) == 1  # 21 attempts, one connection
    llm.close()


def test_early_break_from_a_stream_releases_the_connection(own_emu: PathorsEmulator) -> None:
    llm = model(own_emu)
    port = port_of(own_emu.base_url)
    for _ in range(5):
        for _chunk in llm.stream("one two three four five six"):
            break
        client = llm._client.connections.current_sync_client()
        assert client is not None
        assert_released(client, port)
    assert open_sockets(port) == 0  # a half-read body cannot be reused: it was closed
    llm.close()


async def settle(client: httpx.AsyncClient) -> None:
    """Let the loop finish closing abandoned generators (bounded: at most ~2 s)."""
    for _ in range(200):
        if not busy_connections(client):
            return
        await asyncio.sleep(0.01)


async def test_early_break_from_an_async_stream_releases_the_connection(
    own_emu: PathorsEmulator,
) -> None:
    """LangChain's `astream` does not close the inner generator it was iterating, so
    after a `break` (even inside `contextlib.aclosing`) the package's generator is
    closed by the event loop's asyncgen finalizer a few iterations later; its `finally`
    then closes the response."""
    llm = model(own_emu)
    port = port_of(own_emu.base_url)
    client = llm._client.connections.loop_client()
    async with contextlib.aclosing(llm.astream("one two three four five")) as stream:
        async for _chunk in stream:
            break
    await settle(client)
    assert_released(client, port)
    for _ in range(5):
        async for _chunk in llm.astream("one two three four five"):
            break
        await settle(client)
        assert_released(client, port)
    await llm.aclose()
    assert open_sockets(port) == 0


async def test_cancelled_stream_releases_the_connection(own_emu: PathorsEmulator) -> None:
    own_emu.config.chunk_latency = 0.2
    llm = model(own_emu, timeout=5)
    port = port_of(own_emu.base_url)
    client = llm._client.connections.loop_client()
    received: list[str] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for chunk in llm.astream("one two three four five six"):
            received.append(str(chunk.content))
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received  # it was cancelled midway, not before or after
    assert_released(client, port)
    own_emu.config.chunk_latency = 0.0
    assert (await llm.ainvoke("after")).content == "You said: after"
    await llm.aclose()


async def test_cancelled_invoke_releases_the_connection(own_emu: PathorsEmulator) -> None:
    own_emu.inject(Fault(latency=3))
    llm = model(own_emu, timeout=10)
    port = port_of(own_emu.base_url)
    client = llm._client.connections.loop_client()
    task = asyncio.create_task(llm.ainvoke("slow", session_id="s-cancel"))
    for _ in range(200):  # until the server has the request
        if own_emu.requests:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_released(client, port)
    assert own_emu.session("s-cancel").turns == 1  # type: ignore[union-attr]
    assert (await llm.ainvoke("after")).content == "You said: after"
    await llm.aclose()


async def test_many_concurrent_failures_leave_no_connection_checked_out(
    own_emu: PathorsEmulator, sleeps: list[float]
) -> None:
    own_emu.inject(Fault(status=500, probability=0.3, times=None))
    own_emu.inject(Fault(cut_after=2, probability=0.3, times=None))
    llm = model(own_emu, max_retries=1)
    port = port_of(own_emu.base_url)
    client = llm._client.connections.loop_client()

    async def one(i: int) -> str:
        try:
            if i % 2:
                return "".join([str(c.content) async for c in llm.astream(f"n{i}")])
            return str((await llm.ainvoke(f"n{i}", session_id=f"s-{i}")).content)
        except PathorsError as exc:
            return type(exc).__name__

    results = await asyncio.gather(*(one(i) for i in range(60)))
    assert any(r.startswith("You said") for r in results)
    assert any(r.startswith("Pathors") for r in results)
    assert_released(client, port)
    await llm.aclose()
    assert open_sockets(port) == 0
