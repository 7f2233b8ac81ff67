"""KeyedGate: one holder per key, arrival order, threads, tasks and event loops mixed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable

import pytest

from langchain_pathors._session_gate import GateBusyError, KeyedGate


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll (no timing assertion): a hang fails through pytest's own timeout."""
    event = threading.Event()
    while not condition():
        event.wait(0.001)


def queued(gate: KeyedGate, key: str) -> int:
    return len(gate._queues.get(key, ()))


def test_uncontended_key_is_granted_and_freed() -> None:
    gate = KeyedGate()
    ticket = gate.acquire("s")
    assert gate.held("s")
    gate.release("s", ticket)
    assert not gate.held("s")
    assert gate._queues == {}  # idle keys take no memory


def test_threads_get_the_key_in_arrival_order_one_at_a_time() -> None:
    gate, order, inside = KeyedGate(), [], []
    first = gate.acquire("s")
    threads = []
    for i in range(8):

        def worker(i: int = i) -> None:
            ticket = gate.acquire("s")
            inside.append(i)
            assert len(inside) == 1  # nobody else holds it
            order.append(i)
            inside.remove(i)
            gate.release("s", ticket)

        t = threading.Thread(target=worker)
        t.start()
        threads.append(t)

        def enqueued(expected: int = i + 2) -> bool:
            return queued(gate, "s") == expected

        wait_until(enqueued)  # enqueued before the next starts
    gate.release("s", first)
    for t in threads:
        t.join()
    assert order == list(range(8))
    assert not gate.held("s")


def test_other_keys_are_not_blocked() -> None:
    gate = KeyedGate()
    held = gate.acquire("a")
    other = gate.acquire("b")  # would block forever if keys shared a lock
    gate.release("b", other)
    gate.release("a", held)


def test_reject_when_held_and_not_waiting() -> None:
    gate = KeyedGate()
    ticket = gate.acquire("s")
    done: list[BaseException] = []

    def other() -> None:
        try:
            gate.acquire("s", wait=False)
        except GateBusyError as exc:
            done.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(done) == 1
    assert not done[0].self_deadlock  # type: ignore[attr-defined]
    gate.release("s", ticket)


def test_same_thread_waiting_on_itself_fails_instead_of_hanging() -> None:
    gate = KeyedGate()
    ticket = gate.acquire("s")
    with pytest.raises(GateBusyError) as info:
        gate.acquire("s")
    assert info.value.self_deadlock
    gate.release("s", ticket)
    gate.release("s", gate.acquire("s"))  # the failed attempt left nothing behind


async def test_tasks_get_the_key_in_arrival_order() -> None:
    gate, order = KeyedGate(), []
    first = await gate.aacquire("s")

    async def worker(i: int) -> None:
        ticket = await gate.aacquire("s")
        order.append(i)
        await asyncio.sleep(0)  # hold it across a loop turn
        gate.release("s", ticket)

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(worker(i)))
        await asyncio.sleep(0)  # let it enqueue
    assert order == []
    gate.release("s", first)
    await asyncio.gather(*tasks)
    assert order == list(range(10))


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    gate = KeyedGate()
    first = await gate.aacquire("s")
    waiter = asyncio.create_task(gate.aacquire("s"))
    third = asyncio.create_task(gate.aacquire("s"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release("s", first)
    gate.release("s", await third)  # the key skipped the cancelled waiter
    assert not gate.held("s")


async def test_a_waiter_cancelled_after_the_handover_passes_the_key_on() -> None:
    gate = KeyedGate()
    first = await gate.aacquire("s")
    waiter = asyncio.create_task(gate.aacquire("s"))
    third = asyncio.create_task(gate.aacquire("s"))
    await asyncio.sleep(0)
    gate.release("s", first)  # granted to `waiter`, whose wake-up is only scheduled
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release("s", await third)
    assert not gate.held("s")


async def test_a_task_left_holding_by_an_unclosed_stream_gets_it_after_the_close() -> None:
    gate = KeyedGate()

    async def stream() -> AsyncGenerator[int, None]:
        ticket = await gate.aacquire("s")
        try:
            yield 1
            yield 2
        finally:
            gate.release("s", ticket)

    agen = stream()
    async for _ in agen:  # like `async for ... break`: the close is only scheduled
        break
    closing = asyncio.ensure_future(agen.aclose())
    ticket = await gate.aacquire("s")  # waits for the close instead of failing
    gate.release("s", ticket)
    await closing


async def test_a_task_that_still_holds_the_key_fails_instead_of_hanging() -> None:
    gate = KeyedGate()
    ticket = await gate.aacquire("s")
    with pytest.raises(GateBusyError) as info:
        await gate.aacquire("s")
    assert info.value.self_deadlock
    gate.release("s", ticket)


def test_threads_tasks_and_several_event_loops_share_one_order() -> None:
    gate = KeyedGate()
    inside: list[str] = []
    overlaps: list[str] = []
    entered: list[str] = []

    def enter(name: str) -> None:
        if inside:
            overlaps.append(name)
        inside.append(name)
        entered.append(name)

    def leave(name: str) -> None:
        inside.remove(name)

    async def task(name: str) -> None:
        ticket = await gate.aacquire("s")
        enter(name)
        await asyncio.sleep(0.001)
        leave(name)
        gate.release("s", ticket)

    def loop_worker(n: int) -> None:
        async def main() -> None:
            await asyncio.gather(*(task(f"loop{n}-task{i}") for i in range(5)))

        asyncio.run(main())

    def thread_worker(n: int) -> None:
        ticket = gate.acquire("s")
        enter(f"thread{n}")
        threading.Event().wait(0.001)
        leave(f"thread{n}")
        gate.release("s", ticket)

    workers = [threading.Thread(target=loop_worker, args=(n,)) for n in range(3)]
    workers += [threading.Thread(target=thread_worker, args=(n,)) for n in range(5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert overlaps == []
    assert len(entered) == 3 * 5 + 5
    assert not gate.held("s")


def test_a_waiter_whose_loop_has_closed_is_skipped() -> None:
    gate = KeyedGate()
    first = gate.acquire("s")
    loop = asyncio.new_event_loop()
    task = loop.create_task(gate.aacquire("s"))
    loop.run_until_complete(asyncio.sleep(0))  # the task is now queued
    loop.close()  # abandoned without cancelling the waiting task
    after: list[bool] = []

    def later() -> None:
        ticket = gate.acquire("s")
        after.append(True)
        gate.release("s", ticket)

    t = threading.Thread(target=later)
    t.start()
    wait_until(lambda: queued(gate, "s") == 3)
    gate.release("s", first)
    t.join()
    assert after == [True]
    del task
