"""One holder at a time per key, in arrival order, across threads, tasks and event loops.

`asyncio.Lock` belongs to one event loop and `threading.Lock` blocks a loop, so neither
can order a sync caller, a task on one loop and a task on another `asyncio.run` loop.
Here each key has a FIFO queue guarded by one `threading.Lock` held only for a few dict
operations: a sync waiter sleeps on a `threading.Event`, an async waiter on a future of
its own loop, woken with `call_soon_threadsafe`. An uncontended key costs one lock round
trip and no allocation beyond the waiter; an idle key is deleted, so memory is bounded by
the keys in use.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Hashable

__all__ = ["GateBusyError", "KeyedGate", "Ticket"]

# How many loop iterations a task waits for its own finished stream to be finalised
# (an `async for ... break` closes the generator in a task scheduled by the loop).
_SELF_RELEASE_SPINS = 20


class GateBusyError(Exception):
    """The key is held and the caller may not (or could never) wait for it."""

    def __init__(self, *, self_deadlock: bool) -> None:
        super().__init__("busy")
        self.self_deadlock = self_deadlock


class Ticket:
    """One caller's place in a key's queue; the head of the queue holds the key."""

    __slots__ = ("event", "future", "granted", "loop", "task", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.thread = threading.get_ident()
        self.loop = loop
        self.task = asyncio.current_task(loop) if loop is not None else None
        self.event: threading.Event | None = None
        self.future: asyncio.Future[None] | None = None
        self.granted = False

    def wake(self) -> bool:
        """Tell a waiter it holds the key; False when its event loop is gone."""
        if self.event is not None:
            self.event.set()
            return True
        if self.loop is not None and self.future is not None:
            try:
                self.loop.call_soon_threadsafe(_resolve, self.future)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class KeyedGate:
    """FIFO mutual exclusion per key, for sync and async callers mixed.

    Example:
        ```python
        gate = KeyedGate()
        ticket = gate.acquire("session-1")
        try:
            ...  # the only turn on session-1 in this process
        finally:
            gate.release("session-1", ticket)
        ```
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queues: dict[Hashable, deque[Ticket]] = {}

    def held(self, key: Hashable) -> bool:
        """Whether someone holds `key` now."""
        with self._mutex:
            return key in self._queues

    def acquire(self, key: Hashable, *, wait: bool = True) -> Ticket:
        """Block until this thread holds `key`.

        Raises:
            GateBusyError: `key` is held and `wait` is False, or it is held by this very
                thread (waiting would never end).
        """
        ticket = Ticket(None)
        with self._mutex:
            queue = self._enqueue(key, ticket)
            if ticket.granted:
                return ticket
            if not wait or any(t.thread == ticket.thread for t in queue):
                # A ticket of this thread ahead of us (a stream still open here, or a task
                # of the loop this call now blocks) could never be released.
                raise GateBusyError(self_deadlock=wait)
            ticket.event = threading.Event()
            queue.append(ticket)
        try:
            ticket.event.wait()
        except BaseException:
            self._abandon(key, ticket)
            raise
        return ticket

    async def aacquire(self, key: Hashable, *, wait: bool = True) -> Ticket:
        """Wait, without blocking the loop, until this task holds `key`.

        Raises:
            GateBusyError: `key` is held and `wait` is False, or it is held by this very
                task (an unfinished stream it is still reading).
        """
        loop = asyncio.get_running_loop()
        for _ in range(_SELF_RELEASE_SPINS):
            ticket = Ticket(loop)
            with self._mutex:
                queue = self._enqueue(key, ticket)
                if ticket.granted:
                    return ticket
                if not wait:
                    raise GateBusyError(self_deadlock=False)
                if ticket.task is None or queue[0].task is not ticket.task:
                    ticket.future = loop.create_future()
                    queue.append(ticket)
                    break
            # Our own task holds it: usually a stream left by `break`, whose close the
            # loop has scheduled. Let it run, then look again.
            await asyncio.sleep(0)
        else:
            raise GateBusyError(self_deadlock=True)
        try:
            await ticket.future
        except BaseException:
            self._abandon(key, ticket)
            raise
        return ticket

    def release(self, key: Hashable, ticket: Ticket) -> None:
        """Give `key` to the next waiter in arrival order (or free it)."""
        with self._mutex:
            self._release_locked(key, ticket)

    # ---------------------------------------------------------------- internals
    def _enqueue(self, key: Hashable, ticket: Ticket) -> deque[Ticket]:
        queue = self._queues.get(key)
        if queue is None:
            ticket.granted = True
            queue = self._queues[key] = deque([ticket])
        return queue

    def _release_locked(self, key: Hashable, ticket: Ticket) -> None:
        queue = self._queues.get(key)
        if queue is None or not queue or queue[0] is not ticket:
            return
        queue.popleft()
        while queue:
            nxt = queue[0]
            nxt.granted = True
            if nxt.wake():
                return
            queue.popleft()
        del self._queues[key]

    def _abandon(self, key: Hashable, ticket: Ticket) -> None:
        # Cancelled or interrupted while waiting: leave the queue, or pass the key on if
        # it was handed over in the meantime.
        with self._mutex:
            if ticket.granted:
                self._release_locked(key, ticket)
                return
            queue = self._queues.get(key)
            if queue is not None and ticket in queue:
                queue.remove(ticket)
