"""Fixtures for the reliability suite: the emulator on 127.0.0.1, models, sleeps, sockets.

Every test here talks to a real server over real sockets (loopback only). Retry sleeps
are patched where a test would otherwise wait; nothing asserts on wall-clock speed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

if TYPE_CHECKING:
    from ._child_emulator import ChildEmulator

# A canary: if this string shows up anywhere it should not, a secret has leaked.
API_KEY = "sk-pathors-canary-5b1f0c7e9d2a"
PROJECT = "rel-project"
CHAT_PATH = f"/api/project/{PROJECT}/integration/api/chat/completions"


@pytest.fixture(scope="session")
def emulator() -> Iterator[PathorsEmulator]:
    """One emulator for the whole suite, on an ephemeral loopback port."""
    with PathorsEmulator(project_id=PROJECT, api_key=API_KEY) as emu:
        yield emu


@pytest.fixture
def emu(emulator: PathorsEmulator) -> Iterator[PathorsEmulator]:
    """The suite's emulator with no sessions, recorded requests or faults."""
    emulator.reset()
    emulator.config.latency = 0.0
    emulator.config.chunk_latency = 0.0
    yield emulator
    emulator.reset()
    emulator.config.latency = 0.0
    emulator.config.chunk_latency = 0.0


@pytest.fixture(scope="module")
def child() -> Iterator[ChildEmulator]:
    """An emulator in a child process, one per module that asks for it (load suites)."""
    from ._child_emulator import ChildEmulator  # it reads this module's key and project

    emulator = ChildEmulator()
    try:
        yield emulator
    finally:
        emulator.stop()


ModelFactory = Callable[..., ChatPathors]


@pytest.fixture
def make_llm(emu: PathorsEmulator) -> Iterator[ModelFactory]:
    """Build ChatPathors instances aimed at the emulator; their sync clients close after."""
    made: list[ChatPathors] = []

    def factory(**kwargs: Any) -> ChatPathors:
        params: dict[str, Any] = {
            "base_url": emu.base_url,
            "project_id": PROJECT,
            "api_key": API_KEY,
        }
        params.update(kwargs)
        llm = ChatPathors(**params)
        made.append(llm)
        return llm

    yield factory
    for llm in made:
        llm.close()


class RetryCounter(BaseCallbackHandler):
    """Counts `on_retry` callbacks and `on_llm_error` calls (thread-safe enough: append)."""

    def __init__(self) -> None:
        self.retries: list[Any] = []
        self.errors: list[BaseException] = []

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        self.retries.append(retry_state)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def established_to(port: int) -> int:
    """Client-side TCP sockets of this process connected to `port` and still ESTABLISHED."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


def pool_connections(client: httpx.Client | httpx.AsyncClient) -> list[Any]:
    """The httpcore connections an httpx client's pool holds."""
    return list(client._transport._pool.connections)  # type: ignore[attr-defined]


def busy_connections(client: httpx.Client | httpx.AsyncClient) -> list[Any]:
    """Pool connections that are neither idle (reusable) nor closed: checked out or leaked."""
    return [c for c in pool_connections(client) if not (c.is_idle() or c.is_closed())]


# Figures measured by the load tests, shown at the end of the run (they are reported,
# never asserted on: wall-clock speed depends on the machine).
FIGURES: dict[str, object] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
