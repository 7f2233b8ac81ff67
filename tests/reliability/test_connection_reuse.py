"""Streams keep their connection, and a server that misbehaves after `[DONE]` cannot hang.

Witnesses: the local ports of this process's sockets to the server (psutil), the shared
pool's connections, and, for the scripted server, how many connections it accepted and
when the client went away. A hang would run into the test's timeout (the model's read
timeout is far longer), so no wall-clock figure is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from .conftest import API_KEY, PROJECT, pool_connections, port_of


@pytest.fixture
def own_emu() -> Iterator[PathorsEmulator]:
    with PathorsEmulator(project_id=PROJECT, api_key=API_KEY) as emu:
        yield emu


def local_ports(port: int) -> set[int]:
    """Local ports of this process's open TCP sockets to `port`."""
    return {
        conn.laddr.port
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    }


def model(base_url: str, **kwargs: Any) -> ChatPathors:
    params: dict[str, Any] = {"base_url": base_url, "project_id": PROJECT, "api_key": API_KEY}
    return ChatPathors(**{**params, **kwargs})


def test_twenty_sequential_streams_use_one_connection(own_emu: PathorsEmulator) -> None:
    llm = model(own_emu.base_url)
    port = port_of(own_emu.base_url)
    seen: set[int] = set()
    for n in range(20):
        text = "".join(str(c.content) for c in llm.stream(f"stream {n}"))
        assert text == f"You said: stream {n}"
        seen |= local_ports(port)
    assert len(seen) == 1
    client = llm._client.connections.current_sync_client()
    assert client is not None
    assert len(pool_connections(client)) == 1
    assert llm.invoke("and an invoke").content == "You said: and an invoke"
    assert local_ports(port) == seen  # the same connection again
    llm.close()
    assert local_ports(port) == set()


async def test_twenty_sequential_async_streams_use_one_connection(
    own_emu: PathorsEmulator,
) -> None:
    llm = model(own_emu.base_url)
    port = port_of(own_emu.base_url)
    seen: set[int] = set()
    for n in range(20):
        text = "".join([str(c.content) async for c in llm.astream(f"stream {n}")])
        assert text == f"You said: stream {n}"
        seen |= local_ports(port)
    assert len(seen) == 1
    assert len(pool_connections(llm._client.connections.loop_client())) == 1
    await llm.aclose()
    assert local_ports(port) == set()


def test_streams_of_many_per_user_models_share_one_connection(own_emu: PathorsEmulator) -> None:
    port = port_of(own_emu.base_url)
    seen: set[int] = set()
    for n in range(10):  # a model per request, as per-user code builds them
        llm = model(own_emu.base_url, session_id=f"user-{n}")
        assert "".join(str(c.content) for c in llm.stream(f"user {n}")) == f"You said: user {n}"
        seen |= local_ports(port)
        del llm
    assert len(seen) == 1


# ----------------------------------------------------------------------------- after [DONE]
EVENTS = (
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":'
    b'[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":'
    b'[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class AfterDoneServer:
    """A keep-alive HTTP/1.1 server whose stream does not end after `[DONE]`.

    `mode="talks"`: it goes on sending SSE comments, as fast as the client reads, for up
    to 30 s. `mode="silent"`: it sends nothing more and keeps the body open for 30 s.
    It records each connection it accepts and when the client closed it.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.accepted = 0
        self.client_gone = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length")
            )
            while len(body) < length:
                body += conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + b"".join(map(_chunk, EVENTS))
            )
            deadline = time.monotonic() + 30
            try:
                while time.monotonic() < deadline and not self._stop.is_set():
                    if self.mode == "talks":
                        conn.sendall(_chunk(b": still talking\n\n" * 64))
                    elif conn.recv(1) == b"":  # silent: wait for the client to go away
                        break
            except OSError:
                pass
            self.client_gone.set()

    def __enter__(self) -> AfterDoneServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["talks", "silent"])
def test_a_server_that_does_not_end_after_done_neither_hangs_nor_is_reused(mode: str) -> None:
    with AfterDoneServer(mode) as server:
        llm = model(server.base_url, timeout=60)
        chunks = list(llm.stream("Hi"))
        assert "".join(str(c.content) for c in chunks) == "Hello"
        assert chunks[-1].response_metadata["finish_reason"] == "stop"
        client = llm._client.connections.current_sync_client()
        assert client is not None
        assert all(c.is_closed() for c in pool_connections(client))  # not back in the pool
        assert server.client_gone.wait(10)  # the client closed the connection
        assert "".join(str(c.content) for c in llm.stream("again")) == "Hello"
        assert server.accepted == 2  # the second stream needed a new connection
        llm.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["talks", "silent"])
async def test_an_async_stream_from_such_a_server_neither_hangs_nor_is_reused(mode: str) -> None:
    with AfterDoneServer(mode) as server:
        llm = model(server.base_url, timeout=60)
        chunks = [c async for c in llm.astream("Hi")]
        assert "".join(str(c.content) for c in chunks) == "Hello"
        client = llm._client.connections.loop_client()
        assert all(c.is_closed() for c in pool_connections(client))
        for _ in range(500):  # the server thread notices the close (bounded wait)
            if server.client_gone.is_set():
                break
            await asyncio.sleep(0.01)
        assert server.client_gone.is_set()
        with contextlib.suppress(Exception):
            await llm.aclose()
