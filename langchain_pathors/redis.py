"""A session registry on Redis, shared by every process that points at the same server.

`ChatPathors(session_registry=RedisSessionRegistry("redis://..."))` in each worker process
(gunicorn or uvicorn workers, Agent Server replicas, batch workers) makes three things
hold across all of them, as they hold inside one process by default:

* **A session with variables is created once.** Creating takes a lock (`SET NX` with a
  lease) and leaves a marker (with `session_ttl`); a worker that finds the marker skips
  the create request.
* **One turn at a time per session.** A turn holds the session's lock, a lease of
  `turn_lease` seconds that a background thread renews while the turn runs, so a worker
  that crashes mid-turn frees the session after at most `turn_lease` seconds. Inside a
  process, waiters keep their arrival order; between processes, the next holder is
  whoever asks first after the lock is free (no FIFO across processes).
* **Heads are shared**, so a turn sent from a stale history is noticed by whichever
  worker receives it (`on_session_fork`).

Requires the `redis` extra: `pip install "langchain-pathors[redis]"`.

The registry talks to Redis synchronously (a lookup or two per turn, sub-millisecond on
a nearby server), also from `ainvoke`/`astream`; only waiting for a busy session sleeps
asynchronously there. A pickled registry carries its URL and settings, never a
connection, and reconnects on first use; after `os.fork`, redis-py opens new connections
in the child.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from langchain_pathors._session_gate import GateBusyError, KeyedGate, Ticket
from langchain_pathors.errors import PathorsSessionRegistryError

try:
    import redis
    from redis.exceptions import LockError, RedisError
    from redis.lock import Lock
except ImportError:  # the module still imports (docs, doctests); building a registry fails
    redis = None  # type: ignore[assignment]

# The error is re-exported: it lived here before it moved to `langchain_pathors.errors`.
__all__ = ["PathorsSessionRegistryError", "RedisSessionRegistry"]

logger = logging.getLogger("langchain_pathors")

DEFAULT_SESSION_TTL = 7 * 24 * 3600.0
DEFAULT_TURN_LEASE = 30.0


def _redis_key(prefix: str, kind: str, key: Hashable) -> str:
    # A digest: bounded length, and no user data (session ids, variables) stored in key names.
    encoded = json.dumps(key, default=str, separators=(",", ":")).encode()
    return f"{prefix}:{kind}:{hashlib.sha256(encoded).hexdigest()}"


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if parts.hostname else ''}"


class RedisSessionRegistry:
    """Sessions, heads and turn locks in Redis, for `ChatPathors(session_registry=...)`.

    Args:
        url: A redis-py URL (`redis://[:password@]host:port/db`, `rediss://...`,
            `unix://...`).
        prefix: Prefix of every key this registry writes; give each application its own
            when several share one Redis database.
        session_ttl: Seconds a created-session marker and a head are kept after their
            last write. A session idle longer may be created again with the same
            variables (and its head is unknown, so no fork is reported for it).
        turn_lease: Seconds a turn's lock outlives a worker that died holding it. A live
            worker renews the lease every third of it, so a long stream keeps its lock.
        poll_interval: Seconds between tries while waiting for a busy session (with
            jitter), across processes.
        socket_timeout: Seconds a Redis command may take before it fails.

    Example:
        ```python
        from langchain_pathors import ChatPathors
        from langchain_pathors.redis import RedisSessionRegistry

        registry = RedisSessionRegistry("redis://localhost:6379/0")
        llm = ChatPathors(session_registry=registry)  # in every worker process
        ```
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        prefix: str = "pathors",
        session_ttl: float = DEFAULT_SESSION_TTL,
        turn_lease: float = DEFAULT_TURN_LEASE,
        poll_interval: float = 0.02,
        socket_timeout: float = 5.0,
    ) -> None:
        if redis is None:
            msg = 'RedisSessionRegistry needs redis-py: pip install "langchain-pathors[redis]"'
            raise ImportError(msg)
        if turn_lease <= 0 or session_ttl <= 0 or poll_interval <= 0:
            msg = "session_ttl, turn_lease and poll_interval must be positive"
            raise ValueError(msg)
        self.url = url
        self.prefix = prefix
        self.session_ttl = session_ttl
        self.turn_lease = turn_lease
        self.poll_interval = poll_interval
        self.socket_timeout = socket_timeout
        self._client: redis.Redis | None = None
        self._client_lock = threading.Lock()
        self.gate = RedisGate(self)
        self.heads = RedisHeads(self)
        self.created = RedisCreated(self)

    def __repr__(self) -> str:
        return f"RedisSessionRegistry({_redacted(self.url)!r}, prefix={self.prefix!r})"

    # A pickle carries the settings (the URL may hold a password: treat it as a secret).
    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "prefix": self.prefix,
            "session_ttl": self.session_ttl,
            "turn_lease": self.turn_lease,
            "poll_interval": self.poll_interval,
            "socket_timeout": self.socket_timeout,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        url = state.pop("url")
        self.__init__(url, **state)  # type: ignore[misc]

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, created on first use (its pool reconnects after a fork)."""
        with self._client_lock:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self.url,
                    decode_responses=True,
                    socket_timeout=self.socket_timeout,
                    socket_connect_timeout=self.socket_timeout,
                    health_check_interval=30,
                )
            return self._client

    def key(self, kind: str, key: Hashable) -> str:
        """The Redis key of one lock, head or marker."""
        return _redis_key(self.prefix, kind, key)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn redis-py failures into `PathorsSessionRegistryError`."""
        try:
            yield
        except LockError:
            raise
        except RedisError as exc:
            detail = type(exc).__name__
            msg = f"session registry at {_redacted(self.url)} failed ({detail})"
            raise PathorsSessionRegistryError(msg) from None

    def close(self) -> None:
        """Close this registry's connections (it reconnects if used again)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


class _RedisTicket:
    """A holder's place: its place in this process's queue and its Redis lease."""

    __slots__ = ("lease", "local")

    def __init__(self, local: Ticket, lease: Lock) -> None:
        self.local = local
        self.lease = lease


class RedisGate:
    """Turn locks: this process's FIFO gate first, then a renewed Redis lease."""

    def __init__(self, registry: RedisSessionRegistry) -> None:
        self._registry = registry
        self._local = KeyedGate()
        self._keeper = _LeaseKeeper(registry.turn_lease)

    def _lease(self, key: Hashable) -> Lock:
        reg = self._registry
        # thread_local=False: a stream may be finished (and its turn released) by another
        # thread than the one that started it.
        return Lock(reg.client, reg.key("lock", key), timeout=reg.turn_lease, thread_local=False)

    def _pause(self) -> float:
        return self._registry.poll_interval * (1 + random.random())  # noqa: S311

    def held(self, key: Hashable) -> bool:
        """Whether a turn on `key` runs now, in this process or another."""
        if self._local.held(key):
            return True
        with self._registry.errors():
            return bool(self._registry.client.exists(self._registry.key("lock", key)))

    def acquire(self, key: Hashable, *, wait: bool = True) -> _RedisTicket:
        """Hold `key` across processes (see `TurnGate.acquire`)."""
        local = self._local.acquire(key, wait=wait)
        try:
            lease = self._lease(key)
            with self._registry.errors():
                while not lease.acquire(blocking=False):
                    if not wait:
                        raise GateBusyError(self_deadlock=False)
                    time.sleep(self._pause())
        except BaseException:
            self._local.release(key, local)
            raise
        self._keeper.hold(lease)
        return _RedisTicket(local, lease)

    async def aacquire(self, key: Hashable, *, wait: bool = True) -> _RedisTicket:
        """Async twin of `acquire`: waits for another process with `asyncio.sleep`."""
        local = await self._local.aacquire(key, wait=wait)
        try:
            lease = self._lease(key)
            with self._registry.errors():
                while not lease.acquire(blocking=False):
                    if not wait:
                        raise GateBusyError(self_deadlock=False)
                    await asyncio.sleep(self._pause())
        except BaseException:
            self._local.release(key, local)
            raise
        self._keeper.hold(lease)
        return _RedisTicket(local, lease)

    def release(self, key: Hashable, ticket: _RedisTicket) -> None:
        """Free `key` in Redis, then hand it to this process's next waiter."""
        try:
            self._keeper.drop(ticket.lease)
            # A lease that expired (Redis unreachable for a whole lease) is not ours any
            # more: nothing to free. Other Redis failures must not hide the turn's result.
            with self._registry.errors():
                ticket.lease.release()
        except (LockError, PathorsSessionRegistryError) as exc:
            # The session stays locked until its lease ends (no one renews it any more).
            logger.warning("could not release a session's turn lock: %s", exc)
        finally:
            self._local.release(key, ticket.local)


class _LeaseKeeper:
    """Renews the leases this process holds, every third of a lease, from one thread."""

    def __init__(self, lease: float) -> None:
        self._interval = lease / 3
        self._held: dict[int, Lock] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = 0  # the process whose thread runs: a forked child starts its own

    def hold(self, lease: Lock) -> None:
        with self._lock:
            self._held[id(lease)] = lease
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._held = {id(lease): lease}  # a child does not renew its parent's
                threading.Thread(target=self._run, name="pathors-leases", daemon=True).start()

    def drop(self, lease: Lock) -> None:
        with self._lock:
            self._held.pop(id(lease), None)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._wake.wait(self._interval) and os.getpid() == pid:
            with self._lock:
                leases = list(self._held.values())
            for lease in leases:
                try:
                    lease.reacquire()  # resets the TTL to a full lease if still ours
                except (LockError, RedisError):
                    self.drop(lease)


class RedisHeads:
    """Session heads in Redis, each kept `session_ttl` seconds after its last write."""

    def __init__(self, registry: RedisSessionRegistry) -> None:
        self._registry = registry

    def get(self, key: Hashable) -> str | None:
        """The session's head, or None when unknown."""
        reg = self._registry
        with reg.errors():
            value = reg.client.get(reg.key("head", key))
        return value if isinstance(value, str) else None

    def set(self, key: Hashable, reply_id: str) -> None:
        """Record the session's latest reply."""
        reg = self._registry
        with reg.errors():
            reg.client.set(reg.key("head", key), reply_id, px=int(reg.session_ttl * 1000))

    def forget(self, key: Hashable) -> None:
        """Make the head unknown."""
        reg = self._registry
        with reg.errors():
            reg.client.delete(reg.key("head", key))

    def clear(self) -> None:
        """Forget every head under this registry's prefix."""
        _delete_matching(self._registry, "head")


class RedisCreated:
    """Created-session markers in Redis, each kept `session_ttl` seconds."""

    def __init__(self, registry: RedisSessionRegistry) -> None:
        self._registry = registry

    def __contains__(self, digest: object) -> bool:
        reg = self._registry
        with reg.errors():
            return bool(reg.client.exists(reg.key("created", str(digest))))

    def add(self, digest: str) -> None:
        """Remember that the session of `digest` was created."""
        reg = self._registry
        with reg.errors():
            reg.client.set(reg.key("created", digest), "1", px=int(reg.session_ttl * 1000))

    def clear(self) -> None:
        """Forget every marker under this registry's prefix."""
        _delete_matching(self._registry, "created")


def _delete_matching(registry: RedisSessionRegistry, kind: str) -> None:
    with registry.errors():
        batch = list(registry.client.scan_iter(match=f"{registry.prefix}:{kind}:*", count=500))
        if batch:
            registry.client.delete(*batch)
