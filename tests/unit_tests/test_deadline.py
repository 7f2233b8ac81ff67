"""The per-attempt deadline: every socket operation of the package's clients is capped.

The end-to-end cases (a status line trickled one byte at a time...) are in
tests/reliability/test_hostile_server.py; here, the rules, without sockets.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from types import SimpleNamespace

import httpcore
import httpx
import pytest

from langchain_pathors import _deadline, _deadline_sockets


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    fake = SimpleNamespace(now=100.0)
    monkeypatch.setattr(_deadline, "time", SimpleNamespace(monotonic=lambda: fake.now))
    return fake


class Recorder(httpcore.NetworkStream):
    """A network stream that records the timeouts it is given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        return b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)


def test_no_deadline_leaves_timeouts_alone() -> None:
    inner = Recorder()
    stream = _deadline_sockets._Stream(inner)
    stream.read(10, 60.0)
    stream.write(b"x", None)
    assert inner.timeouts == [60.0, None]
    assert _deadline.time_left() is None
    assert not _deadline.expired()


def test_each_operation_gets_at_most_the_time_left(clock: SimpleNamespace) -> None:
    inner = Recorder()
    stream = _deadline_sockets._Stream(inner)
    with _deadline.deadline(5.0):
        stream.read(10, 60.0)  # 5 s left: the 60 s read timeout is cut to 5
        clock.now += 4.0
        stream.write(b"x", None)  # no timeout of its own: still bounded
        stream.read(10, 0.5)  # a shorter timeout of its own is kept
    assert inner.timeouts == [5.0, 1.0, 0.5]
    assert _deadline.time_left() is None  # the block ended: no deadline any more


@pytest.mark.parametrize(
    ("operation", "error"),
    [("read", httpcore.ReadTimeout), ("write", httpcore.WriteTimeout)],
)
def test_past_the_deadline_an_operation_times_out(
    clock: SimpleNamespace, operation: str, error: type[Exception]
) -> None:
    inner = Recorder()
    stream = _deadline_sockets._Stream(inner)
    with _deadline.deadline(1.0):
        clock.now += 1.0
        assert _deadline.expired()
        with pytest.raises(error, match="total_timeout"):
            if operation == "read":
                stream.read(10, 60.0)
            else:
                stream.write(b"x", 60.0)
    assert inner.timeouts == []  # never a zero timeout, which means "non-blocking"


def test_deadline_none_means_no_limit() -> None:
    with _deadline.deadline(None):
        assert _deadline.time_left() is None


async def test_each_task_has_its_own_deadline() -> None:
    async def left_after(seconds: float) -> float | None:
        with _deadline.deadline(seconds):
            await asyncio.sleep(0)
            return _deadline.time_left()

    short, long = await asyncio.gather(left_after(1.0), left_after(100.0))
    assert short is not None
    assert long is not None
    assert short < 1.0 < 50.0 < long


def test_install_wraps_the_pools_the_package_creates() -> None:
    with httpx.Client() as client:
        _deadline_sockets.install(client)
        _deadline_sockets.install(client)  # idempotent: not wrapped twice
        backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
        assert isinstance(backend, _deadline_sockets._Backend)
        assert not isinstance(backend._inner, _deadline_sockets._Backend)


async def test_install_wraps_async_pools() -> None:
    async with httpx.AsyncClient() as client:
        _deadline_sockets.install(client)
        backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
        assert isinstance(backend, _deadline_sockets._AsyncBackend)


def test_install_leaves_other_transports_alone() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        _deadline_sockets.install(client)
        assert client._transport is transport


def test_importing_the_package_leaves_httpcore_for_the_first_client() -> None:
    # httpx loads httpcore (and h11) only when a client is built; so does the package, so
    # `import langchain_pathors` stays cheap for scripts that never call the model.
    code = (
        "import sys, langchain_pathors\n"
        "assert 'httpcore' not in sys.modules, 'httpcore imported'\n"
        "import httpx\n"
        "from langchain_pathors._connections import SharedConnections\n"
        "SharedConnections(httpx.URL('http://127.0.0.1:9'), httpx.Timeout(1.0)).sync()\n"
        "assert 'httpcore' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
