"""RedisSessionRegistry on fakeredis: two registries on one server stand for two processes."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

fakeredis = pytest.importorskip("fakeredis", reason="fakeredis comes with the test group")

from langchain_core.messages import HumanMessage  # noqa: E402

from langchain_pathors import (  # noqa: E402
    PathorsSessionBusyError,
    PathorsSessionForkedError,
    PathorsSessionRegistryError,
)
from langchain_pathors._session_gate import GateBusyError  # noqa: E402
from langchain_pathors.redis import RedisSessionRegistry  # noqa: E402

from .conftest import FakePathors  # noqa: E402

KEY = ("https://pathors.test", "proj-1", "user-1")


@pytest.fixture
def server() -> Any:
    return fakeredis.FakeServer()


@pytest.fixture
def registry_on(server: Any) -> Iterator[Callable[..., RedisSessionRegistry]]:
    """A registry (one 'process') connected to the shared fake server."""
    made: list[RedisSessionRegistry] = []

    def make(**kwargs: Any) -> RedisSessionRegistry:
        registry = RedisSessionRegistry("redis://:s3cret-pw@redis.internal:6380/2", **kwargs)
        registry._client = fakeredis.FakeRedis(server=server, decode_responses=True)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.close()


def test_a_turn_held_in_one_process_is_busy_in_another(registry_on: Any) -> None:
    a, b = registry_on(), registry_on()
    ticket = a.gate.acquire(KEY)
    assert b.gate.held(KEY)
    with pytest.raises(GateBusyError):
        b.gate.acquire(KEY, wait=False)
    a.gate.release(KEY, ticket)
    assert not b.gate.held(KEY)
    b.gate.release(KEY, b.gate.acquire(KEY, wait=False))


def test_a_waiting_process_gets_the_session_once_it_is_released(registry_on: Any) -> None:
    a, b = registry_on(), registry_on()
    ticket = a.gate.acquire(KEY)
    got_it = threading.Event()

    def other_process() -> None:
        b.gate.release(KEY, b.gate.acquire(KEY))
        got_it.set()

    waiter = threading.Thread(target=other_process)
    waiter.start()
    assert not got_it.wait(0.2)  # still held by a
    a.gate.release(KEY, ticket)
    waiter.join(5)
    assert got_it.is_set()


def test_a_dead_workers_lock_frees_itself_when_its_lease_ends(registry_on: Any) -> None:
    # What a crashed worker leaves behind: its lease key, never renewed nor deleted.
    b = registry_on(turn_lease=30)
    b.client.set(b.key("lock", KEY), "dead-worker-token", px=300)
    with pytest.raises(GateBusyError):
        b.gate.acquire(KEY, wait=False)
    ticket = b.gate.acquire(KEY)  # waits out the 0.3 s lease
    assert b.client.get(b.key("lock", KEY)) != "dead-worker-token"
    b.gate.release(KEY, ticket)


async def test_an_async_waiter_waits_for_another_process_without_blocking_its_loop(
    registry_on: Any,
) -> None:
    a, b = registry_on(), registry_on()
    ticket = a.gate.acquire(KEY)
    waiter = asyncio.create_task(b.gate.aacquire(KEY))
    # The loop keeps running while the waiter polls (a blocking wait would hang right here,
    # since the holder releases only from this loop).
    await asyncio.sleep(0.1)
    assert not waiter.done()
    a.gate.release(KEY, ticket)
    b.gate.release(KEY, await asyncio.wait_for(waiter, 5))


def test_heads_and_created_markers_are_shared_and_expire(registry_on: Any) -> None:
    a, b = registry_on(session_ttl=3600), registry_on()
    a.heads.set(KEY, "reply-1")
    assert b.heads.get(KEY) == "reply-1"
    assert 0 < a.client.pttl(a.key("head", KEY)) <= 3_600_000
    b.heads.forget(KEY)
    assert a.heads.get(KEY) is None
    assert "digest-1" not in b.created
    a.created.add("digest-1")
    assert "digest-1" in b.created


def test_clear_forgets_only_this_prefix(registry_on: Any) -> None:
    mine, other_app = registry_on(), registry_on(prefix="other-app")
    mine.heads.set(KEY, "r1")
    other_app.heads.set(KEY, "r2")
    mine.created.add("d1")
    mine.heads.clear()
    mine.created.clear()
    assert mine.heads.get(KEY) is None
    assert "d1" not in mine.created
    assert other_app.heads.get(KEY) == "r2"


def test_keys_hold_no_session_id_or_variables(registry_on: Any) -> None:
    a = registry_on()
    a.heads.set(("https://pathors.test", "proj-1", "alice@example.com"), "r1")
    a.gate.release(KEY, a.gate.acquire(("create", "alice@example.com")))
    assert all("alice" not in key for key in a.client.keys("*"))


def test_the_registry_pickles_as_its_settings_and_reconnects_lazily() -> None:
    registry = RedisSessionRegistry("redis://127.0.0.1:1/0", prefix="app", turn_lease=7)
    clone = pickle.loads(pickle.dumps(registry))
    assert (clone.url, clone.prefix, clone.turn_lease) == ("redis://127.0.0.1:1/0", "app", 7)
    assert clone._client is None


def test_without_redis_py_the_module_imports_and_a_registry_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"  # as if the [redis] extra were missing
        "from langchain_pathors.redis import RedisSessionRegistry\n"
        "try:\n    RedisSessionRegistry('redis://localhost')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "langchain-pathors[redis]"' in done.stdout


def test_the_registry_error_still_imports_from_its_old_home() -> None:
    # It moved to `langchain_pathors.errors`; code written against 0.x keeps working.
    from langchain_pathors import redis as old_home

    assert old_home.PathorsSessionRegistryError is PathorsSessionRegistryError
    assert "PathorsSessionRegistryError" in old_home.__all__


def test_repr_and_errors_never_show_the_redis_password(registry_on: Any, server: Any) -> None:
    registry = registry_on()
    assert "s3cret-pw" not in repr(registry)
    server.connected = False
    with pytest.raises(PathorsSessionRegistryError) as caught:
        registry.heads.get(KEY)
    assert "s3cret-pw" not in str(caught.value)
    assert "redis.internal:6380" in str(caught.value)


# ------------------------------------------------------------ through ChatPathors
def test_two_processes_racing_one_session_with_variables_create_it_once(
    registry_on: Any, fake: FakePathors
) -> None:
    models = [
        fake.model(
            session_id="user-9",
            session_variables={"plan": "pro"},
            session_registry=registry_on(),
        )
        for _ in range(2)
    ]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: models[i % 2].invoke(f"hi {i}"), range(16)))
    assert len(fake.session_requests()) == 1
    assert len(fake.chat_requests()) == 16
    assert {r.response_metadata["session_id"] for r in replies} == {"user-9"}


def test_a_fork_is_noticed_by_another_process_through_shared_heads(
    registry_on: Any, fake: FakePathors
) -> None:
    first = fake.model(session_registry=registry_on())
    second = fake.model(session_registry=registry_on())
    history: list[Any] = [HumanMessage("Hi")]
    reply = first.invoke(history)
    history += [reply, HumanMessage("And then?")]
    first.invoke(history)  # the session moves on in 'process' one
    with pytest.raises(PathorsSessionForkedError):
        second.invoke(history)  # 'process' two replays the older history


def test_a_turn_busy_in_another_process_is_rejected_when_asked(
    registry_on: Any, fake: FakePathors
) -> None:
    holder = registry_on()
    model = fake.model(
        session_id="user-3", session_concurrency="reject", session_registry=registry_on()
    )
    key = (model._turns.endpoint.base_url, model._turns.endpoint.project_id, "user-3")
    ticket = holder.gate.acquire(key)
    with pytest.raises(PathorsSessionBusyError):
        model.invoke("Hi")
    holder.gate.release(key, ticket)
    assert model.invoke("Hi").response_metadata["session_id"] == "user-3"
    assert len(fake.chat_requests()) == 1


def test_an_unreachable_registry_fails_the_call_before_anything_is_sent(
    registry_on: Any, server: Any, fake: FakePathors
) -> None:
    model = fake.model(session_id="user-4", session_registry=registry_on())
    server.connected = False
    with pytest.raises(PathorsSessionRegistryError, match="session registry"):
        model.invoke("Hi")
    assert fake.requests == []
