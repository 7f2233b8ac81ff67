"""Fault injection: every Fault field, how faults are matched and consumed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from pytest_socket import socket_allow_hosts
from starlette.testclient import TestClient

from langchain_pathors.emulator import Fault, PathorsEmulator
from langchain_pathors.emulator._faults import FaultPlan

from .conftest import AUTH, CHAT, SESSION, deltas, sse_events, user

BODY = {"messages": [user("one two three four")]}


# No return annotation: TestClient answers with httpx's or httpx2's Response, by version.
def chat(client: TestClient, sid: str = "s", stream: bool = False):
    return client.post(CHAT, headers={**AUTH, "X-Session-ID": sid}, json={**BODY, "stream": stream})


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "Rate limit exceeded"),
        (500, "Internal server error"),
        (503, "Service unavailable"),
        (418, "I'm a Teapot"),
    ],
)
def test_status_fault_uses_a_default_message(
    client: TestClient, emulator: PathorsEmulator, status: int, message: str
):
    emulator.inject(Fault(status=status))
    r = chat(client)
    assert r.status_code == status
    assert r.json() == {"error": message}
    assert r.headers["X-Session-ID"] == "s"
    assert chat(client).status_code == 200  # times=1 by default


def test_status_fault_counts_the_turn_but_skips_the_pathway(client: TestClient):
    seen: list[int] = []

    def pathway(req: Any) -> str:
        seen.append(req.session.turns)
        return "ok"

    emu = PathorsEmulator(pathway)
    with TestClient(emu.app) as c:
        emu.inject(Fault(status=500, message="boom"))
        first, second = chat(c), chat(c)
    assert first.json() == {"error": "boom"}
    assert second.status_code == 200
    record = emu.session("s")
    assert record is not None
    assert record.turns == 2  # the failed attempt was counted: a re-send is visible
    assert seen == [2]


def test_retry_after_headers(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=429, retry_after=1.5, retry_after_ms=1500))
    r = chat(client)
    assert r.headers["Retry-After"] == "1.5"
    assert r.headers["retry-after-ms"] == "1500"
    emulator.inject(Fault(status=503, retry_after=2))
    assert chat(client).headers["Retry-After"] == "2"


def test_session_endpoint_faults(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=503, endpoint="session"))
    emulator.inject(Fault(malformed=True, endpoint="session"))
    assert chat(client).status_code == 200  # chat requests do not match
    refused = client.post(SESSION, headers=AUTH, json={"session_id": "x", "variables": {"a": 1}})
    assert refused.status_code == 503
    assert emulator.session("x") is None  # refused before any work
    garbled = client.post(SESSION, headers=AUTH, json={"session_id": "x"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbled.text)
    assert client.post(SESSION, headers=AUTH, json={"session_id": "x"}).json()["sessionId"] == "x"


def test_endpoint_any_matches_both(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=502, endpoint="any", times=2))
    assert client.post(SESSION, headers=AUTH, json={"session_id": "x"}).status_code == 502
    assert chat(client).status_code == 502
    assert chat(client).status_code == 200


def test_times_and_unlimited(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=500, times=2))
    assert [chat(client).status_code for _ in range(3)] == [500, 500, 200]
    emulator.inject(Fault(status=503, times=None))
    assert [chat(client).status_code for _ in range(5)] == [503] * 5
    emulator.clear_faults()
    assert chat(client).status_code == 200


def test_session_filter_and_first_match_wins(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=500, session_id="victim"))
    emulator.inject(Fault(status=503))
    assert chat(client, sid="bystander").status_code == 503  # first fault did not match...
    assert chat(client, sid="victim").status_code == 500  # ...so it was not consumed
    assert chat(client, sid="victim").status_code == 200


def test_probability_is_seeded_and_reproducible():
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed)
        plan.add(Fault(status=500, times=None, probability=0.3))
        return [plan.pick("chat", "s") is not None for _ in range(200)]

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 30 <= sum(first) <= 90


def test_probability_zero_never_fires(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=500, probability=0.0))
    assert [chat(client).status_code for _ in range(5)] == [200] * 5


def test_malformed_non_stream_body(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(malformed=True))
    r = chat(client)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


def test_malformed_stream_event(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(malformed=True))
    text = chat(client, stream=True).text
    blocks = text.split("\n\n")
    json.loads(blocks[0][len("data: ") :])  # the opening chunk is intact
    with pytest.raises(json.JSONDecodeError):
        json.loads(blocks[1][len("data: ") :])
    assert text.endswith("data: [DONE]\n\n")


@pytest.fixture
def loopback_only() -> None:
    socket_allow_hosts(["127.0.0.1"])  # sockets on, but only towards loopback


def read_until_cut(emulator: PathorsEmulator) -> str:
    """Stream one chat over a real socket and return the text that arrived before the cut.

    A cut is seen here as any HTTP client sees it, over TCP: the body stops short and httpx
    raises. In-process clients disagree on what a cut looks like (starlette's TestClient
    before 1.9, the newest on Python 3.10, returns an empty body).
    """
    received = bytearray()
    with (
        emulator,
        httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as c,
        pytest.raises(httpx.RemoteProtocolError),  # the response never completed
        c.stream(
            "POST", CHAT, headers={"X-Session-ID": "s"}, json={**BODY, "stream": True}
        ) as response,
    ):
        assert response.status_code == 200
        for piece in response.iter_bytes():
            received += piece
    return received.decode()


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_cut_after_ends_the_stream_without_finish_or_done(emulator: PathorsEmulator):
    emulator.inject(Fault(cut_after=2))
    events = sse_events(read_until_cut(emulator))
    assert len(events) == 2
    assert "[DONE]" not in events
    assert all(e["choices"][0]["finish_reason"] is None for e in events)


@pytest.mark.enable_socket
@pytest.mark.usefixtures("loopback_only")
def test_cut_after_past_the_end_still_cuts_before_finish(emulator: PathorsEmulator):
    emulator.inject(Fault(cut_after=1000))
    events = sse_events(read_until_cut(emulator))
    assert "[DONE]" not in events
    assert all(e["choices"][0]["finish_reason"] is None for e in events)
    assert "".join(d.get("content", "") for d in deltas(events)) == "You said: one two three four"


def test_error_event_after(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(error_event_after=3, message="pathway crashed"))
    r = chat(client, stream=True)
    events = sse_events(r.text)
    assert r.status_code == 200
    assert len(events) == 4
    assert events[-1] == {"error": "pathway crashed"}
    assert "[DONE]" not in events


def test_stall_sends_keep_alives_then_continues(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(stall_after=2, stall_seconds=0.35))
    start = time.monotonic()
    text = chat(client, stream=True).text
    elapsed = time.monotonic() - start
    blocks = text.split("\n\n")
    assert blocks[0].startswith("data: ")
    assert blocks[1].startswith("data: ")
    keep_alives = [b for b in blocks if b == ": keep-alive"]
    assert 3 <= len(keep_alives) <= 5
    assert all(b.startswith("data: ") for b in blocks[2 + len(keep_alives) : -1])
    assert elapsed >= 0.35
    assert sse_events(text)[-1] == "[DONE]"


def test_json_for_stream(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(json_for_stream=True))
    r = chat(client, stream=True)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["object"] == "chat.completion"


def test_chunk_latency_spaces_events(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(chunk_latency=0.05))
    start = time.monotonic()
    events = sse_events(chat(client, stream=True).text)
    assert time.monotonic() - start >= 0.05 * (len(events) - 1)


def test_global_latency_and_chunk_latency():
    emu = PathorsEmulator(latency=0.1, chunk_latency=0.02)
    with TestClient(emu.app) as c:
        start = time.monotonic()
        chat(c)
        plain = time.monotonic() - start
        start = time.monotonic()
        events = sse_events(chat(c, stream=True).text)
        streamed = time.monotonic() - start
    assert plain >= 0.1
    assert streamed >= 0.1 + 0.02 * (len(events) - 1)


async def test_latency_does_not_block_other_requests():
    emu = PathorsEmulator()
    emu.inject(Fault(latency=0.5, session_id="slow"))
    emu.inject(Fault(stall_after=1, stall_seconds=0.5, session_id="stalled"))
    transport = httpx.ASGITransport(app=emu.app)
    finished: dict[str, float] = {}
    start = time.monotonic()

    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:

        async def call(sid: str, stream: bool = False) -> None:
            r = await c.post(
                CHAT, headers={**AUTH, "X-Session-ID": sid}, json={**BODY, "stream": stream}
            )
            assert r.status_code == 200
            finished[sid] = time.monotonic() - start

        await asyncio.gather(call("slow"), call("stalled", stream=True), call("fast"))
    assert finished["fast"] < 0.3
    assert finished["slow"] >= 0.5
    assert finished["stalled"] >= 0.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint": "chats"},
        {"times": 0},
        {"probability": 1.5},
        {"status": 99},
        {"cut_after": -1},
        {"latency": -1.0},
    ],
)
def test_invalid_faults_are_rejected(kwargs: dict[str, Any]):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Fault(**kwargs)


def test_fault_round_trips_through_a_dict():
    fault = Fault(status=429, retry_after=1.0, times=None, session_id="s")
    assert Fault.from_dict(fault.to_dict()) == fault
    with pytest.raises(ValueError, match="unknown fault field"):
        Fault.from_dict({"stauts": 500})


async def test_a_delayed_request_is_logged_and_counted_on_arrival():
    emu = PathorsEmulator()
    emu.inject(Fault(latency=0.4))
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
        pending = asyncio.ensure_future(
            c.post(CHAT, headers={**AUTH, "X-Session-ID": "early"}, json=BODY)
        )
        await asyncio.sleep(0.15)
        assert not pending.done()
        assert [r.session_id for r in emu.requests] == ["early"]
        record = emu.session("early")
        assert record is not None
        assert record.turns == 1
        assert (await pending).status_code == 200
    assert len(emu.requests) == 1
