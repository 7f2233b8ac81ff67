"""Session and project id validation, and the "create exactly once" registry."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest

from langchain_pathors._sessions import (
    MAX_SESSION_ID_LENGTH,
    SessionRegistry,
    new_session_id,
    validate_project_id,
    validate_session_id,
)

VARS = {"userName": "John", "plan": "pro"}


# --------------------------------------------------------------------------- session ids
@pytest.mark.parametrize(
    "value",
    [
        "session-xyz789",
        "a",
        "lc-0123456789abcdef0123456789abcdef",
        "A.b_c~d!e#f$g%h&*+/=?^`{|}'\"",
        "x" * MAX_SESSION_ID_LENGTH,
    ],
)
def test_valid_session_ids_pass_unchanged(value: str) -> None:
    assert validate_session_id(value) == value


def test_new_session_id_is_valid_and_unique() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(validate_session_id(i) == i for i in ids)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("s1\r\nX-Injected: yes", "visible ASCII"),
        ("s1\nX", "visible ASCII"),
        ("s1\rX", "visible ASCII"),
        ("s1\x00", "visible ASCII"),
        ("s1\tX", "visible ASCII"),
        ("s1\x7f", "visible ASCII"),
        ("s1\x1b[31m", "visible ASCII"),
        ("my session", "visible ASCII"),
        (" s1", "visible ASCII"),
        ("séance", "visible ASCII"),
        ("s1\u2028", "visible ASCII"),
        ("", "empty"),
        ("x" * (MAX_SESSION_ID_LENGTH + 1), "257 characters"),
    ],
    ids=[
        "CRLF",
        "LF",
        "CR",
        "NUL",
        "tab",
        "DEL",
        "escape",
        "space",
        "leading-space",
        "non-ascii",
        "line-separator",
        "empty",
        "too-long",
    ],
)
def test_invalid_session_ids_rejected(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_session_id(value)


@pytest.mark.parametrize("value", [None, 123, b"session", ["s"]])
def test_non_string_session_id_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        validate_session_id(value)


# --------------------------------------------------------------------------- project ids
@pytest.mark.parametrize(
    "value", ["proj-1", "a/b", "../x", "a?b=c", "a#frag", "%2e%2e", "%2F", "...", ".a", "é"]
)
def test_project_ids_that_quote_to_one_segment_are_accepted(value: str) -> None:
    assert validate_project_id(value) == value
    segment = quote(value, safe="")  # how the client puts it in the path
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert segment not in {".", ".."}


@pytest.mark.parametrize(
    "value", ["", ".", "..", " .. ", "a\nb", "a\rb", "a\x00", "a\tb", "a\x7f", None, 5]
)
def test_bad_project_ids_rejected(value: Any) -> None:
    with pytest.raises(ValueError, match="project_id"):
        validate_project_id(value)


# --------------------------------------------------------------------------- registry, sync
class Creator:
    """A create() callable that counts its calls; can be slow or fail."""

    def __init__(self, *, delay: float = 0.0, fail_times: int = 0) -> None:
        self.calls = 0
        self.delay = delay
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1
            attempt = self.calls
        if self.delay:
            time.sleep(self.delay)  # widens the race window; nothing asserts on time
        if attempt <= self.fail_times:
            raise RuntimeError(f"create failed (attempt {attempt})")


def test_ensure_runs_create_once() -> None:
    registry, create = SessionRegistry(), Creator()
    for _ in range(3):
        registry.ensure("s1", VARS, create)
    assert create.calls == 1


def test_ensure_once_under_50_racing_threads() -> None:
    registry, create = SessionRegistry(), Creator(delay=0.05)
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            registry.ensure("s1", VARS, create)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert create.calls == 1


def test_ensure_again_for_different_variables_or_session() -> None:
    registry, create = SessionRegistry(), Creator()
    registry.ensure("s1", VARS, create)
    registry.ensure("s1", {"plan": "pro", "userName": "John"}, create)  # same, other order
    assert create.calls == 1
    registry.ensure("s1", {"userName": "Jane"}, create)
    assert create.calls == 2
    registry.ensure("s2", VARS, create)
    assert create.calls == 3


def test_ensure_retries_after_a_failed_create() -> None:
    registry, create = SessionRegistry(), Creator(fail_times=1)
    with pytest.raises(RuntimeError, match="attempt 1"):
        registry.ensure("s1", VARS, create)
    registry.ensure("s1", VARS, create)
    registry.ensure("s1", VARS, create)
    assert create.calls == 2


def test_lru_bound_forgets_old_pairs() -> None:
    registry, create = SessionRegistry(max_entries=2), Creator()
    registry.ensure("a", VARS, create)
    registry.ensure("b", VARS, create)
    registry.ensure("a", VARS, create)  # touches "a": "b" is now the oldest
    registry.ensure("c", VARS, create)  # evicts "b"
    assert create.calls == 3
    registry.ensure("a", VARS, create)
    registry.ensure("c", VARS, create)
    assert create.calls == 3  # still remembered
    registry.ensure("b", VARS, create)
    assert create.calls == 4  # forgotten, so created again


# --------------------------------------------------------------------------- registry, async
class AsyncCreator:
    """An async create() that counts calls; waits on `release` if given, may fail."""

    def __init__(self, *, fail_times: int = 0, release: asyncio.Event | None = None) -> None:
        self.calls = 0
        self.fail_times = fail_times
        self.release = release
        self.started = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        attempt = self.calls
        self.started.set()
        if self.release is not None:
            await self.release.wait()
        else:
            for _ in range(5):
                await asyncio.sleep(0)  # let every other task reach aensure meanwhile
        if attempt <= self.fail_times:
            raise RuntimeError(f"create failed (attempt {attempt})")


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_aensure_once_under_50_concurrent_tasks() -> None:
    registry, create = SessionRegistry(), AsyncCreator()
    await asyncio.gather(*(registry.aensure("s1", VARS, create) for _ in range(50)))
    assert create.calls == 1
    await registry.aensure("s1", VARS, create)
    assert create.calls == 1


async def test_aensure_failure_reaches_every_waiter_then_is_retried() -> None:
    registry, create = SessionRegistry(), AsyncCreator(fail_times=1)
    results = await asyncio.gather(
        *(registry.aensure("s1", VARS, create) for _ in range(10)), return_exceptions=True
    )
    assert create.calls == 1
    assert all(isinstance(r, RuntimeError) and "attempt 1" in str(r) for r in results)
    await registry.aensure("s1", VARS, create)  # a failed creation is forgotten
    assert create.calls == 2


async def test_aensure_waiter_takes_over_when_the_creator_is_cancelled() -> None:
    registry = SessionRegistry()
    release = asyncio.Event()
    create = AsyncCreator(release=release)
    creator = asyncio.create_task(registry.aensure("s1", VARS, create))
    await create.started.wait()
    waiter = asyncio.create_task(registry.aensure("s1", VARS, create))
    await settle()
    assert not waiter.done()  # it waits for the creator rather than creating too
    assert create.calls == 1

    creator.cancel()
    await settle()
    assert create.calls == 2  # the waiter took over
    release.set()
    await waiter
    with pytest.raises(asyncio.CancelledError):
        await creator
    await registry.aensure("s1", VARS, create)
    assert create.calls == 2


def test_aensure_across_two_event_loops() -> None:
    registry = SessionRegistry()
    created: list[str] = []

    def creator(name: str) -> Callable[[], Awaitable[None]]:
        async def create() -> None:
            await asyncio.sleep(0)
            created.append(name)

        return create

    async def first() -> None:
        await asyncio.gather(*(registry.aensure("s1", VARS, creator("s1")) for _ in range(5)))

    async def second() -> None:
        await registry.aensure("s1", VARS, creator("s1-again"))
        await asyncio.gather(*(registry.aensure("s2", VARS, creator("s2")) for _ in range(5)))

    asyncio.run(first())
    asyncio.run(second())
    assert created == ["s1", "s2"]


def test_aensure_failure_in_one_loop_is_retried_in_the_next() -> None:
    registry = SessionRegistry()

    async def ensure(create: AsyncCreator) -> int:
        await registry.aensure("s1", VARS, create)
        return create.calls

    with pytest.raises(RuntimeError, match="attempt 1"):
        asyncio.run(ensure(AsyncCreator(fail_times=1)))
    assert asyncio.run(ensure(AsyncCreator())) == 1


async def test_failed_aensure_logs_no_unretrieved_future_exception() -> None:
    reported: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    registry = SessionRegistry()
    with pytest.raises(RuntimeError):
        await registry.aensure("s1", VARS, AsyncCreator(fail_times=1))
    gc.collect()
    await settle()
    assert [ctx["message"] for ctx in reported] == []
