"""A deadline for a whole request, enforced on every socket operation.

httpx's timeouts are per operation: a server that sends its status line one byte every
two seconds, or its body one byte at a time, never trips a 60 s read timeout. So the
client sets a deadline (`deadline(seconds)`, a context variable, so each thread and task
has its own) and the network streams of the clients this package creates cap every
connect, read and write at the time left (`bounded`). Past the deadline an operation
raises httpcore's own timeout, which httpx turns into `httpx.ReadTimeout` (or
`WriteTimeout`, `ConnectTimeout`); `expired()` then tells a deadline from an ordinary
timeout.

`_deadline_sockets` installs the checks on the network backends of the clients this
package creates (it imports httpcore, which httpx itself loads only when a client is
built, so `import langchain_pathors` does not pay for it). Clients the user injects keep
their own network backend; for them the deadline is checked between the chunks of a body
(see `_responses`), not inside a single read.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["bounded", "deadline", "expired", "time_left"]

_deadline: ContextVar[float | None] = ContextVar("pathors_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every socket operation inside the block to end `seconds` from now.

    Never wrap a `yield` in it: a generator would carry the deadline to its caller.
    """
    if seconds is None:
        yield
        return
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds until the current deadline (negative once past), or None without one."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def expired() -> bool:
    """Whether the current deadline has passed."""
    left = time_left()
    return left is not None and left <= 0


def bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's own timeout, shortened to the time left; raise when none is."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        # A zero timeout would make the socket non-blocking instead of failing.
        raise error("the request's total_timeout passed")
    return left if timeout is None else min(timeout, left)
