"""Lifecycle: one model across event loops, and clean `close()` / `aclose()` / `with`.

The ResourceWarning checks run in a child Python with `-W error::ResourceWarning` and
a `sys.unraisablehook` that records what `__del__` methods complain about (an unclosed
socket, transport or client), so no warning can slip by in this process's noise. The
child talks to the suite's emulator (in this process) over loopback.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import httpx
import pytest

from langchain_pathors import ChatPathors, PathorsError
from langchain_pathors.emulator import Fault, PathorsEmulator

from .conftest import API_KEY, PROJECT, ModelFactory, established_to, port_of

CHILD_PRELUDE = """
import asyncio, contextlib, gc, sys
import httpx
from langchain_pathors import ChatPathors, PathorsError

problems = []
sys.unraisablehook = lambda u: problems.append(f"{u.exc_type.__name__}: {u.exc_value}")
BASE, PROJECT, KEY = sys.argv[1:4]

def make(**kw):
    return ChatPathors(**{"base_url": BASE, "project_id": PROJECT, "api_key": KEY, **kw})

def finish():
    gc.collect()
    gc.collect()
    if problems:
        print("\\n".join(problems))
        sys.exit(3)
    print("clean")
"""

SCENARIOS = {
    "sync context manager": """
with make() as llm:
    assert llm.invoke("Hi").content == "You said: Hi"
    assert "".join(c.content for c in llm.stream("a b")) == "You said: a b"
    for _ in llm.stream("one two three"):
        break
    with contextlib.suppress(PathorsError):
        make(base_url="http://127.0.0.1:9").invoke("Hi")
del llm
""",
    "explicit close": """
llm = make()
llm.invoke("Hi")
list(llm.stream("Hi"))
llm.close()
llm.invoke("again")  # a closed model re-creates its client on demand
llm.close()
del llm
""",
    "two asyncio.run with aclose": """
llm = make()
async def use(n):
    assert (await llm.ainvoke(f"run {n}")).content == f"You said: run {n}"
    assert "".join([c.content async for c in llm.astream("a b")]) == "You said: a b"
    await llm.aclose()
asyncio.run(use(1))
asyncio.run(use(2))
del llm
""",
    "async context manager in two loops": """
llm = make()
async def use():
    async with llm:
        await llm.ainvoke("Hi")
        async for _ in llm.astream("one two three"):
            break
asyncio.run(use())
asyncio.run(use())
del llm
""",
    "sync and async on one model": """
llm = make()
llm.invoke("sync first")
async def use():
    await llm.ainvoke("then async")
    await llm.aclose()
asyncio.run(use())
llm.invoke("sync again")
llm.close()
del llm
""",
    "injected clients, closed by their owner": """
sync_client, async_client = httpx.Client(), httpx.AsyncClient()
llm = make(http_client=sync_client, http_async_client=async_client)
llm.invoke("Hi")
llm.close()  # the model leaves injected clients open...
assert not sync_client.is_closed
sync_client.close()  # ...their owner closes them
async def use():
    await llm.ainvoke("Hi")
    await llm.aclose()
    assert not async_client.is_closed
    await async_client.aclose()
asyncio.run(use())
del llm
""",
}

# Regression: each loop's client used to stay open (until the garbage collector warned
# "unclosed transport") when the loop ended without aclose().
SCENARIOS["two asyncio.run without aclose"] = """
llm = make()
async def use(n):
    async for _ in llm.astream("one two"):
        pass
    # Last, so that the loop ends with a kept-alive connection in the pool.
    assert (await llm.ainvoke(f"run {n}")).content == f"You said: run {n}"
asyncio.run(use(1))
asyncio.run(use(2))
del llm
"""
SCENARIOS["own loop, shut down properly"] = """
llm = make()
loop = asyncio.new_event_loop()
loop.run_until_complete(llm.ainvoke("Hi"))
loop.run_until_complete(loop.shutdown_asyncgens())  # what asyncio.run does
loop.close()
del llm
"""

LEAKY = """
import socket
leaked = socket.socket()  # never closed: the garbage collector will warn
llm = make()
llm.invoke("Hi")
llm.close()
del llm, leaked
"""


def run_child(emu: PathorsEmulator, body: str) -> subprocess.CompletedProcess[str]:
    script = CHILD_PRELUDE + textwrap.dedent(body) + "\nfinish()\n"
    command = [sys.executable, "-W", "error::ResourceWarning", "-c", script]
    return subprocess.run(
        [*command, emu.base_url, PROJECT, API_KEY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_resource_warning(emu: PathorsEmulator, name: str) -> None:
    result = run_child(emu, SCENARIOS[name])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("clean")
    assert "ResourceWarning" not in result.stderr
    assert "unclosed" not in result.stderr.lower()
    assert emu.requests  # the scenario really talked to the server


def test_the_child_detects_an_unclosed_resource(emu: PathorsEmulator) -> None:
    """The detector works: a socket left open is reported (exit code 3)."""
    result = run_child(emu, LEAKY)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "ResourceWarning" in result.stdout


# ----------------------------------------------------------------------------- in process
def test_one_model_across_two_asyncio_runs(make_llm: ModelFactory) -> None:
    llm = make_llm()

    async def use(n: int) -> tuple[str, httpx.AsyncClient]:
        reply = await llm.ainvoke(f"run {n}")
        text = "".join([str(c.content) async for c in llm.astream(f"stream {n}")])
        assert text == f"You said: stream {n}"
        return str(reply.content), llm._client.connections.loop_client()

    first, client_1 = asyncio.run(use(1))
    second, client_2 = asyncio.run(use(2))
    assert (first, second) == ("You said: run 1", "You said: run 2")
    assert client_1 is not client_2  # never a client bound to a closed loop
    assert client_1.is_closed  # each closed when its loop ended
    assert client_2.is_closed


def test_close_releases_every_socket_and_the_model_stays_usable() -> None:
    with PathorsEmulator(project_id=PROJECT, api_key=API_KEY) as emu:
        port = port_of(emu.base_url)
        llm = ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY)
        llm.invoke("Hi")
        client = llm._client.connections.current_sync_client()
        assert client is not None
        assert established_to(port) == 1
        llm.close()
        assert client.is_closed
        assert llm._client.connections.current_sync_client() is None
        assert established_to(port) == 0
        llm.close()  # twice is harmless
        assert llm.invoke("again").content == "You said: again"
        with llm:
            llm.invoke("in a with block")
        assert established_to(port) == 0


async def test_aclose_and_async_with_release_every_socket() -> None:
    with PathorsEmulator(project_id=PROJECT, api_key=API_KEY) as emu:
        port = port_of(emu.base_url)
        async with ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY) as llm:
            await asyncio.gather(*(llm.ainvoke(f"n{i}") for i in range(5)))
            client = llm._client.connections.loop_client()
            assert established_to(port) >= 1
        assert client.is_closed
        assert established_to(port) == 0
        await llm.aclose()  # twice is harmless
        assert (await llm.ainvoke("again")).content == "You said: again"
        await llm.aclose()
        assert established_to(port) == 0


def test_closed_model_after_failures_is_clean(emu: PathorsEmulator, make_llm: ModelFactory) -> None:
    llm = make_llm(max_retries=0)
    emu.inject(Fault(cut_after=1))
    with pytest.raises(PathorsError):
        list(llm.stream("a b c"))
    llm.close()
    assert established_to(port_of(emu.base_url)) == 0
