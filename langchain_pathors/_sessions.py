"""Session ids: validation, the created-session value, and the "create exactly once" registry.

A session is server-side state (the pathway's position and its variables). Ids are user
input that ends up in an HTTP header, so they are validated before any request is built.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "PathorsSession",
    "SessionRegistry",
    "new_session_id",
    "validate_project_id",
    "validate_session_id",
]

MAX_SESSION_ID_LENGTH = 256


@dataclass(frozen=True)
class PathorsSession:
    """A session the server has created.

    Attributes:
        session_id: The id to pass as `session_id=` on later calls.
        pathway_id: The pathway that serves this project.

    Example:
        ```python
        session = llm.create_session(variables={"userName": "John"})
        llm.invoke("Hi", session_id=session.session_id)
        ```
    """

    session_id: str
    pathway_id: str | None = None


def validate_session_id(value: object) -> str:
    """Return `value` if it can travel safely in the `X-Session-ID` header, else raise.

    Allowed: 1 to 256 visible ASCII characters (no spaces, CR, LF or other control
    characters), so an id can neither inject a header nor be mangled in transit.
    """
    if not isinstance(value, str):
        msg = f"session_id must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    if not value:
        msg = "session_id must not be empty"
        raise ValueError(msg)
    if len(value) > MAX_SESSION_ID_LENGTH:
        msg = f"session_id is {len(value)} characters long; the limit is {MAX_SESSION_ID_LENGTH}"
        raise ValueError(msg)
    if not all("!" <= ch <= "~" for ch in value):
        msg = (
            "session_id may contain only visible ASCII characters "
            "(no spaces, control characters or line breaks)"
        )
        raise ValueError(msg)
    return value


def validate_project_id(value: object) -> str:
    """Return `value` if it can be one URL path segment once quoted, else raise.

    Quoting handles `/`, `?`, `#` and `%`; the dot segments `.` and `..` must be refused
    because URL normalisation would resolve them against the path.
    """
    if not isinstance(value, str) or not value:
        msg = (
            "project_id is required: pass project_id=... or set PATHORS_PROJECT_ID "
            "(find it in your Pathors project settings)"
        )
        raise ValueError(msg)
    if value.strip() in {".", ".."} or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        msg = "project_id must be a plain identifier, not a path or control characters"
        raise ValueError(msg)
    return value


def new_session_id() -> str:
    """A fresh, unguessable session id for `create_session(session_id=None)`."""
    return f"lc-{uuid.uuid4().hex}"


def _fingerprint(session_id: str, variables: dict[str, Any]) -> str:
    # A digest rather than the variables themselves: the registry must not hold user data.
    encoded = json.dumps(variables, sort_keys=True, default=str).encode()
    return session_id + ":" + hashlib.sha256(encoded).hexdigest()


class SessionRegistry:
    """Remembers which (session id, variables) pairs this model has created.

    The create call runs once per pair, before the first chat call that needs it, even when
    many threads or tasks race for it. A failed creation is forgotten, so the next call
    tries again. The registry is bounded (least recently used pairs are forgotten; at worst
    a forgotten pair is created again with the same variables).

    It holds no conversation state: which session a call uses always comes from that call's
    arguments or the model's configuration, never from here.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._created: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._inflight: dict[tuple[int, str], asyncio.Future[None]] = {}

    def _is_created(self, key: str) -> bool:
        with self._lock:
            if key in self._created:
                self._created.move_to_end(key)
                return True
            return False

    def _mark_created(self, key: str) -> None:
        with self._lock:
            self._created[key] = None
            self._created.move_to_end(key)
            while len(self._created) > self._max_entries:
                self._created.popitem(last=False)

    def ensure(
        self, session_id: str, variables: dict[str, Any], create: Callable[[], object]
    ) -> None:
        """Run `create()` unless this pair was created already (blocking callers wait)."""
        key = _fingerprint(session_id, variables)
        if self._is_created(key):
            return
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if not self._is_created(key):
                create()
                self._mark_created(key)
        with self._lock:
            self._key_locks.pop(key, None)

    async def aensure(
        self, session_id: str, variables: dict[str, Any], create: Callable[[], Awaitable[object]]
    ) -> None:
        """Async twin of `ensure`: concurrent tasks on one loop share one create call."""
        key = _fingerprint(session_id, variables)
        loop = asyncio.get_running_loop()
        # Futures belong to one event loop, so in-flight creations are keyed by loop too.
        slot = (id(loop), key)
        while not self._is_created(key):
            existing = self._inflight.get(slot)
            if existing is not None:
                # Wait for the task that is creating it; if that task was cancelled,
                # loop round and create it here instead.
                await asyncio.wait([existing])
                if not existing.cancelled() and existing.exception() is not None:
                    raise existing.exception()  # type: ignore[misc]
                continue
            future: asyncio.Future[None] = loop.create_future()
            self._inflight[slot] = future
            try:
                await create()
            except asyncio.CancelledError:
                future.cancel()
                raise
            except BaseException as exc:
                future.set_exception(exc)
                # Mark it retrieved: with no waiter, asyncio would otherwise log
                # "Future exception was never retrieved" when the future is collected.
                future.exception()
                raise
            else:
                self._mark_created(key)
                future.set_result(None)
            finally:
                self._inflight.pop(slot, None)
