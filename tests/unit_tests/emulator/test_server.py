"""The real server on 127.0.0.1: HTTP end to end, a real connection drop, 200 concurrent
requests, the pytest fixtures and the command line.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from pytest_socket import socket_allow_hosts

from langchain_pathors.emulator import Fault, PathorsEmulator
from langchain_pathors.emulator.__main__ import _is_loopback, _load_pathway, main

from .conftest import AUTH, CHAT, user


@pytest.fixture
def loopback_only() -> None:
    socket_allow_hosts(["127.0.0.1"])  # sockets on, but only towards loopback


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_real_server_round_trip_and_connection_drop(capsys: pytest.CaptureFixture[str]):
    with PathorsEmulator() as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=emu.base_url, headers=AUTH) as c:
            r = c.post(CHAT, json={"messages": [user("Hi")]}, headers={"X-Session-ID": "real"})
            assert r.json()["choices"][0]["message"]["content"] == "You said: Hi"
            assert r.headers["x-session-id"] == "real"

            emu.inject(Fault(cut_after=2))
            received: list[str] = []
            with (
                pytest.raises(httpx.RemoteProtocolError),
                c.stream("POST", CHAT, json={"messages": [user("a b c")], "stream": True}) as s,
            ):
                received.extend(line for line in s.iter_lines() if line)
            assert len(received) == 2
            assert c.get("/_emulator/health").json() == {"status": "ok"}  # server still fine

        port = int(emu.base_url.rsplit(":", 1)[1])
        assert main(["--port", str(port)]) == 1  # the port is taken
        assert "cannot listen" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.base_url


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
async def test_200_concurrent_requests_complete():
    with PathorsEmulator(latency=0.2) as emu:
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        async with httpx.AsyncClient(
            base_url=emu.base_url, headers=AUTH, limits=limits, timeout=30
        ) as c:
            start = time.monotonic()
            responses = await asyncio.gather(
                *[
                    c.post(
                        CHAT, json={"messages": [user(f"n{i}")]}, headers={"X-Session-ID": f"c{i}"}
                    )
                    for i in range(200)
                ]
            )
            elapsed = time.monotonic() - start
        assert [r.status_code for r in responses] == [200] * 200
        assert [r.json()["choices"][0]["message"]["content"] for r in responses] == [
            f"You said: n{i}" for i in range(200)
        ]
        assert elapsed < 20  # serially this would take 40 s
        assert len(emu.sessions()) == 200
        assert all(s.turns == 1 for s in emu.sessions())


def say_hi(emu: PathorsEmulator) -> httpx.Response:
    return httpx.post(
        f"{emu.base_url}/api/project/{emu.project_id}/integration/api/chat/completions",
        headers={"Authorization": f"Bearer {emu.api_key}"},
        json={"messages": [user("Hi")]},
    )


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_pytest_plugin_fixture_is_running_and_fresh(pathors_emulator_fresh: PathorsEmulator):
    assert pathors_emulator_fresh.sessions() == []
    r = say_hi(pathors_emulator_fresh)
    assert r.status_code == 200
    pathors_emulator_fresh.inject(Fault(status=500, times=None))


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_pytest_plugin_fixture_resets_between_tests(pathors_emulator_fresh: PathorsEmulator):
    assert pathors_emulator_fresh.sessions() == []  # the previous test's session is gone
    assert pathors_emulator_fresh.requests == []
    r = say_hi(pathors_emulator_fresh)
    assert r.status_code == 200  # the previous test's fault is gone


def test_cli_refuses_non_loopback_hosts(capsys: pytest.CaptureFixture[str]):
    assert main(["--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool):
    assert _is_loopback(host) is loopback


def test_cli_pathway_loading():
    assert _load_pathway("echo") is None
    assert type(_load_pathway("langchain_pathors.emulator:EchoPathway")).__name__ == "EchoPathway"
    with pytest.raises(SystemExit, match="module:attribute"):
        _load_pathway("nonsense")


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_stop_ends_open_streams_quickly():
    emu = PathorsEmulator().start()
    emu.inject(Fault(stall_after=1, stall_seconds=30))
    outcome: list[BaseException | None] = []

    def read_stream() -> None:
        body = {"messages": [user("x")], "stream": True}
        try:
            with httpx.stream("POST", emu.base_url + CHAT, headers=AUTH, json=body) as s:
                for _ in s.iter_lines():
                    pass
            outcome.append(None)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_stream)
    reader.start()
    deadline = time.monotonic() + 5
    while not emu.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the 30 s stall
    start = time.monotonic()
    emu.stop()
    reader.join(5)
    assert time.monotonic() - start < 3
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # dropped, not finished
