"""What a session registry is: where turns wait, heads live and created sessions are known.

`_session_turns` runs every turn against one registry. The default is this process's
memory (`PROCESS_SESSIONS`); `langchain_pathors.redis.RedisSessionRegistry` shares the
same three parts between processes. A registry is three objects:

* `gate`: one holder at a time per key, for a session's turn and for creating a session.
  Keys are tuples of strings (`(base_url, project_id, session_id)`, `("create", digest)`).
* `heads`: each session's latest reply id, to notice forks.
* `created`: digests of the (endpoint, session, variables) triples already created.

Every method is synchronous except `gate.aacquire`: heads and digests are small lookups.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol, runtime_checkable

__all__ = ["CreatedStore", "HeadStore", "SessionRegistry", "TurnGate"]


class TurnGate(Protocol):
    """Mutual exclusion per key; a waiter is granted the key in arrival order."""

    def held(self, key: Hashable) -> bool:
        """Whether someone holds `key` now."""

    def acquire(self, key: Hashable, *, wait: bool = True) -> Any:
        """Hold `key` (block until then); returns the ticket `release` takes.

        Raises `GateBusyError` when `key` is held and `wait` is False, or when waiting
        could never end.
        """

    async def aacquire(self, key: Hashable, *, wait: bool = True) -> Any:
        """Async twin of `acquire`: waits without blocking the event loop."""

    def release(self, key: Hashable, ticket: Any) -> None:
        """Give `key` up (to the next waiter)."""


class HeadStore(Protocol):
    """Each session's head: the id of the last reply it produced."""

    def get(self, key: Hashable) -> str | None:
        """The head, or None when unknown."""

    def set(self, key: Hashable, reply_id: str) -> None:
        """Record the session's latest reply."""

    def forget(self, key: Hashable) -> None:
        """Make the head unknown."""

    def clear(self) -> None:
        """Forget every head."""


class CreatedStore(Protocol):
    """The digests of the sessions already created with their variables."""

    def __contains__(self, digest: object) -> bool:
        """Whether `digest` was created."""

    def add(self, digest: str) -> None:
        """Remember that `digest` was created."""

    def clear(self) -> None:
        """Forget every digest."""


@runtime_checkable
class SessionRegistry(Protocol):
    """Where the session state of `ChatPathors` lives (see the module docstring)."""

    @property
    def gate(self) -> TurnGate:
        """Turn and creation locks."""

    @property
    def heads(self) -> HeadStore:
        """Session heads."""

    @property
    def created(self) -> CreatedStore:
        """Created sessions."""
