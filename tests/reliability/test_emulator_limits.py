"""The emulator as a server others use: heavy or hostile requests neither eat its memory
nor stall the requests running beside them, and its limits reach users as typed errors.

The memory and stall checks run the emulator in a child process (its own GIL and RSS),
read its peak RSS from /proc (Linux), and ping it from a thread while the heavy request
runs. Their bounds are generous; before the limits existed the same requests took
+234 MB and stalled a ping for 21 s (586 KB streamed), stalled it for 32 s (1,000 tools
and a 500 KB message), and kept 381 MB after eight refused 50 MB bodies.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from langchain_pathors import ChatPathors, PathorsBadRequestError
from langchain_pathors.emulator import EmulatorLimits, PathorsEmulator

from ._child_emulator import ChildEmulator
from .conftest import API_KEY, FIGURES, PROJECT

CHAT = f"/api/project/{PROJECT}/integration/api/chat/completions"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
PING_BOUND_S = 3.0
PEAK_BOUND_MB = 64

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads peak RSS from /proc"
)


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def while_pinging(child: ChildEmulator, heavy: Callable[[], object]) -> tuple[object, float, float]:
    """Run `heavy`; return its result, the slowest concurrent ping (s), the RSS peak rise (MB)."""
    child.reset()
    pid = child.process.pid
    with httpx.Client(base_url=child.base_url, headers=AUTH, timeout=60) as pinger:
        ping = {"messages": [{"role": "user", "content": "ping"}]}
        pinger.post(CHAT, json=ping).raise_for_status()  # warm
        before = memory_mb(pid, "VmHWM")
        done, slowest = threading.Event(), [0.0]

        def keep_pinging() -> None:
            while not done.is_set():
                start = time.monotonic()
                assert pinger.post(CHAT, json=ping).status_code == 200
                slowest[0] = max(slowest[0], time.monotonic() - start)
                done.wait(0.05)

        thread = threading.Thread(target=keep_pinging)
        thread.start()
        try:
            result = heavy()
        finally:
            done.set()
            thread.join(60)
    return result, slowest[0], memory_mb(pid, "VmHWM") - before


def test_a_586_kb_streamed_request_stays_small_and_stalls_nobody(child: ChildEmulator):
    text = "a " * 293_000

    def stream() -> list[str]:
        body = {"messages": [{"role": "user", "content": text}], "stream": True}
        with httpx.stream("POST", child.base_url + CHAT, headers=AUTH, json=body, timeout=60) as r:
            return [line for line in r.iter_lines() if line.startswith("data: ")]

    events, slowest, peak = while_pinging(child, stream)
    assert isinstance(events, list)
    assert events[-1] == "data: [DONE]"
    assert len(events) <= EmulatorLimits().max_stream_deltas + 3  # role, final, [DONE]
    FIGURES["emulator: 586 KB stream, peak RSS rise / slowest ping"] = (
        f"{peak:.0f} MB / {slowest * 1000:.0f} ms"
    )
    assert peak < PEAK_BOUND_MB
    assert slowest < PING_BOUND_S


def test_many_tools_and_a_long_message_stall_nobody(child: ChildEmulator):
    def tools(count: int) -> list[dict[str, object]]:
        schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
        return [
            {"type": "function", "function": {"name": f"tool_{i}", "parameters": schema}}
            for i in range(count)
        ]

    def send(count: int, text: str) -> httpx.Response:
        body = {"messages": [{"role": "user", "content": text}], "tools": tools(count)}
        return httpx.post(child.base_url + CHAT, headers=AUTH, json=body, timeout=120)

    refused, slowest_refused, _ = while_pinging(child, lambda: send(1_000, "call it " * 62_500))
    assert isinstance(refused, httpx.Response)
    assert refused.status_code == 400
    assert refused.json() == {"error": "tools must have at most 128 entries"}
    # The most a request may carry: 128 tools, and a message near the 4 MiB cap that
    # mentions all of them (the slowest case of the mention rule).
    text = " ".join(f"tool {i}" for i in range(128)) + " tool" * 700_000
    answered, slowest, peak = while_pinging(child, lambda: send(128, text))
    assert isinstance(answered, httpx.Response)
    assert answered.status_code == 200
    assert len(answered.json()["choices"][0]["message"]["tool_calls"]) == 128
    FIGURES["emulator: 128 tools x 3.5 MB, peak RSS rise / slowest ping"] = (
        f"{peak:.0f} MB / {slowest * 1000:.0f} ms"
    )
    assert slowest_refused < PING_BOUND_S
    assert slowest < PING_BOUND_S
    assert peak < 2 * PEAK_BOUND_MB  # a body at the 4 MiB cap, parsed and scanned


def test_refused_keys_cost_no_memory(child: ChildEmulator):
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * 50_000_000 + b'"}]}'

    def eight_refused() -> list[int]:
        headers = {"Authorization": "Bearer wrong", "Content-Type": "application/json"}
        with httpx.Client(base_url=child.base_url, timeout=60) as client:
            return [client.post(CHAT, headers=headers, content=body).status_code for _ in range(8)]

    statuses, _, peak = while_pinging(child, eight_refused)
    assert statuses == [401] * 8
    FIGURES["emulator: eight 50 MB bodies with a wrong key, peak RSS rise"] = f"{peak:.0f} MB"
    assert peak < 32


@pytest.fixture
def capped(emulator: PathorsEmulator) -> Iterator[PathorsEmulator]:
    """The suite's emulator with a 20 KB body cap, restored afterwards."""
    emulator.reset()
    emulator.limits.max_body_bytes = 20_000
    yield emulator
    emulator.limits.max_body_bytes = EmulatorLimits().max_body_bytes
    emulator.reset()


def llm_for(emulator: PathorsEmulator) -> ChatPathors:
    return ChatPathors(base_url=emulator.base_url, project_id=PROJECT, api_key=API_KEY)


@pytest.mark.parametrize("stream", [False, True])
def test_an_oversized_prompt_is_a_typed_error_that_is_not_retried(
    capped: PathorsEmulator, stream: bool
):
    llm = llm_for(capped)
    document = "lorem ipsum " * 2_000  # 24 KB, over the 20 KB cap
    with pytest.raises(PathorsBadRequestError, match="413") as info:
        if stream:
            for _ in llm.stream(f"Summarise: {document}"):
                pass
        else:
            llm.invoke(f"Summarise: {document}")
    assert "request body too large" in str(info.value)
    assert len(capped.requests) == 1  # not re-sent
    assert capped.requests[0].json is None  # and not kept
    assert llm.invoke("Summarise: a short one").content == "You said: Summarise: a short one"
    llm.close()


async def test_an_oversized_prompt_async_leaves_other_users_served(capped: PathorsEmulator):
    import asyncio

    llm = llm_for(capped)
    big, small = "x " * 15_000, [f"user {i}" for i in range(5)]
    results = await asyncio.gather(
        llm.ainvoke(big), *(llm.ainvoke(text) for text in small), return_exceptions=True
    )
    assert isinstance(results[0], PathorsBadRequestError)
    # An exception stays in the list as itself, so that it shows in the failed comparison.
    answers = [r if isinstance(r, BaseException) else r.content for r in results[1:]]
    assert answers == [f"You said: {text}" for text in small]
    with pytest.raises(PathorsBadRequestError, match="request body too large"):
        async for _ in llm.astream(big):
            pass
    await llm.aclose()


def test_a_chat_app_over_many_sessions_with_a_small_session_store():
    # A user's test: a support bot serves 8 customers with an emulator that keeps 3
    # sessions. The busiest sessions stay; the app never sees an error.
    with PathorsEmulator(limits=EmulatorLimits(max_sessions=3)) as emulator:
        llm = ChatPathors(
            base_url=emulator.base_url, project_id=emulator.project_id, api_key=emulator.api_key
        )
        for customer in range(8):
            reply = llm.invoke(f"order {customer}?", session_id=f"customer-{customer}")
            assert reply.content == f"You said: order {customer}?"
        again = llm.invoke("and now?", session_id="customer-7")
        assert again.response_metadata["session_id"] == "customer-7"
        assert [s.session_id for s in emulator.sessions()] == [
            "customer-5",
            "customer-6",
            "customer-7",
        ]
        record = emulator.session("customer-7")
        assert record is not None
        assert record.turns == 2
        llm.close()
