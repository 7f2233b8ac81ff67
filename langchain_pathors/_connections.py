"""Process-wide connection pools for the clients the package creates itself.

Building an `httpx.Client` builds an SSL context (about 27 ms of CPU and 800 KiB, to load
the CA bundle), and every client keeps its own pool of sockets. So model instances that
were not given a client share one pooled client per connection settings (server origin,
pool limits, and the environment's proxy and CA settings, which httpx reads when a client
is built), and every such client shares one SSL context. A model sends its own headers
(auth included) and timeout with every request; cookies are never kept, so nothing one
instance received is sent by another.

Async clients cannot outlive their event loop, so there is one per loop and settings,
closed when the loop shuts its async generators down (`asyncio.run` does) and forgotten
with the loop. Sync clients live until the last model using one calls `close()`, or the
process exits. A forked child starts with no pools: the parent's sockets are left alone.
(Streams give their connection back through `_drain`.) Models send through their
shared client's transport directly (`_direct_send`).

Every pool built here has `_deadline_sockets` installed on its network backend, so a
call's total_timeout bounds each connect, read and write of an attempt.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

from langchain_pathors._direct_send import AsyncView, SyncView

__all__ = [
    "DEFAULT_LIMITS",
    "AsyncSender",
    "SharedConnections",
    "SyncSender",
    "ssl_context",
]

# Large enough that hundreds of concurrent calls do not queue behind the pool. Few idle
# connections are kept: httpcore's async pool checks every idle connection whenever a
# request starts or ends, which made 500 concurrent calls cost 11 s of client CPU with 100
# kept (2.3 s with 10; benchmarks/). Sequential calls reuse one connection.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=10)

# Environment variables httpx reads when a client is built (trust_env): a pool built under
# other values would send differently, so they are part of a pool's key.
_ENV_KEYS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


class SyncSender(Protocol):
    """What `_client` uses of an `httpx.Client` (an injected one, or a shared view)."""

    def build_request(
        self, method: str, url: httpx.URL, *, content: bytes, headers: dict[str, str]
    ) -> httpx.Request: ...

    def send(self, request: httpx.Request, *, stream: bool, follow_redirects: bool) -> Any: ...


class AsyncSender(Protocol):
    """What `_client` uses of an `httpx.AsyncClient` (an injected one, or a shared view)."""

    def build_request(
        self, method: str, url: httpx.URL, *, content: bytes, headers: dict[str, str]
    ) -> httpx.Request: ...

    async def send(
        self, request: httpx.Request, *, stream: bool, follow_redirects: bool
    ) -> Any: ...


# ----------------------------------------------------------------------------- SSL
_ssl_lock = threading.Lock()
_ssl_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}


def ssl_context(verify: bool = True) -> ssl.SSLContext:
    """One SSL context per verify setting and CA environment, made once per process."""
    key = (verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _ssl_contexts.get(key)
    if context is None:
        with _ssl_lock:
            context = _ssl_contexts.get(key)
            if context is None:
                context = _ssl_contexts[key] = httpx.create_ssl_context(verify=verify)
    return context


# ----------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class PoolKey:
    """The settings a pooled client is shared under."""

    origin: str
    limits: tuple[int | None, int | None, float | None]
    environment: tuple[str | None, ...]


def pool_key(url: httpx.URL, limits: httpx.Limits = DEFAULT_LIMITS) -> PoolKey:
    """The key for requests to `url`'s server under the current environment."""
    return PoolKey(
        origin=f"{url.scheme}://{url.netloc.decode('ascii')}",
        limits=(limits.max_connections, limits.max_keepalive_connections, limits.keepalive_expiry),
        environment=tuple(os.environ.get(name) for name in _ENV_KEYS),
    )


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing.

    A shared client must not carry one model's cookies into another's requests (and
    extracting them costs about 10% of a call's CPU).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


_Client = TypeVar("_Client", httpx.Client, httpx.AsyncClient)


def _new_client(kind: type[_Client], key: PoolKey) -> _Client:
    # Imported here, with the first client: it needs httpcore, which httpx also loads only
    # when a client is built (about 12 ms that `import langchain_pathors` need not pay).
    from langchain_pathors import _deadline_sockets

    limits = httpx.Limits(
        max_connections=key.limits[0],
        max_keepalive_connections=key.limits[1],
        keepalive_expiry=key.limits[2],
    )
    client = kind(verify=ssl_context(), limits=limits, follow_redirects=False)
    client._cookies = _NoCookies()
    _deadline_sockets.install(client)
    return client


# ----------------------------------------------------------------------------- registry
class _Registry:
    """Every shared client of this process; one instance, `_REGISTRY`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sync: dict[PoolKey, httpx.Client] = {}
        self.users: dict[PoolKey, weakref.WeakSet[SharedConnections]] = {}
        self.async_users: weakref.WeakKeyDictionary[
            httpx.AsyncClient, weakref.WeakSet[SharedConnections]
        ] = weakref.WeakKeyDictionary()
        self.loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[PoolKey, httpx.AsyncClient]
        ] = weakref.WeakKeyDictionary()
        # Per loop: an async generator that closes the loop's clients when the loop shuts
        # its async generators down. Held here because the loop only holds it weakly.
        self.closers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncGenerator[None, None]
        ] = weakref.WeakKeyDictionary()
        self.unarmed: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncGenerator[None, None]
        ] = weakref.WeakKeyDictionary()

    def sync_client(self, key: PoolKey, user: SharedConnections) -> httpx.Client:
        with self.lock:
            client = self.sync.get(key)
            if client is None:
                client = self.sync[key] = _new_client(httpx.Client, key)
            self.users.setdefault(key, weakref.WeakSet()).add(user)
            return client

    def async_client(self, key: PoolKey, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        clients = self.loops.get(loop)
        client = None if clients is None else clients.get(key)
        if client is not None:
            return client
        with self.lock:
            clients = self.loops.get(loop)
            if clients is None:
                self._forget_closed_loops()
                clients = self.loops[loop] = {}
                closer = _close_at_loop_shutdown(self, clients)
                self.closers[loop] = self.unarmed[loop] = closer
            client = clients.get(key)
            if client is None:
                client = clients[key] = _new_client(httpx.AsyncClient, key)
            return client

    def forget_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop a loop's entries (its closer refers to the loop, which would never go)."""
        with self.lock:
            self.loops.pop(loop, None)
            self.closers.pop(loop, None)
            self.unarmed.pop(loop, None)

    def _forget_closed_loops(self) -> None:
        # Loops closed without shutting their async generators down; under `self.lock`.
        for old in [loop for loop in self.loops if loop.is_closed()]:
            self.loops.pop(old, None)
            self.closers.pop(old, None)
            self.unarmed.pop(old, None)

    def use_async(self, client: httpx.AsyncClient, user: SharedConnections) -> None:
        with self.lock:
            users = self.async_users.get(client)
            if users is None:
                users = self.async_users[client] = weakref.WeakSet()
            users.add(user)

    def release_async(
        self, key: PoolKey, loop: asyncio.AbstractEventLoop, user: SharedConnections
    ) -> httpx.AsyncClient | None:
        """Forget `user`; the loop's client to close when no live model uses it any more."""
        with self.lock:
            clients = self.loops.get(loop)
            client = None if clients is None else clients.get(key)
            if client is None or clients is None:
                return None
            users = self.async_users.get(client)
            if users is not None:
                users.discard(user)
            if users:
                return None
            del clients[key]
            return client

    def release_sync(self, key: PoolKey, user: SharedConnections) -> httpx.Client | None:
        """Forget `user`; the client to close when no live model uses it any more."""
        with self.lock:
            users = self.users.get(key)
            if users is not None:
                users.discard(user)
            if users:
                return None
            self.users.pop(key, None)
            return self.sync.pop(key, None)

    def close_all(self) -> None:
        with self.lock:
            clients = list(self.sync.values())
            self.sync.clear()
            self.users.clear()
        for client in clients:
            client.close()


_REGISTRY = _Registry()
# Clients a forked child inherited: never used, closed or collected there (closing them
# could disturb the parent's connections; collecting them would warn about open sockets).
_INHERITED: list[_Registry] = []


def _after_fork_in_child() -> None:
    global _REGISTRY
    _INHERITED.append(_REGISTRY)
    _REGISTRY = _Registry()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(lambda: _REGISTRY.close_all())


async def _close_at_loop_shutdown(
    registry: _Registry, clients: dict[PoolKey, httpx.AsyncClient]
) -> AsyncGenerator[None, None]:
    """Close a loop's clients when the loop shuts its async generators down.

    Suspended at `yield` until then (`asyncio.run` does it before closing the loop), it
    closes them inside the loop, while their connections can still close cleanly, then
    lets the registry forget the loop.
    """
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.aclose()
        clients.clear()
        registry.forget_loop(asyncio.get_running_loop())


class SharedConnections:
    """One model's access to the shared clients for its server.

    Example:
        ```python
        connections = SharedConnections(httpx.URL("https://app.pathors.com"), timeout)
        response = connections.sync().send(request, stream=False, follow_redirects=False)
        ```
    """

    def __init__(self, url: httpx.URL, timeout: httpx.Timeout) -> None:
        self._url = url
        self._timeout = timeout
        self._key: PoolKey | None = None
        self._sync: SyncView | None = None
        # The last loop's view: reused while the loop's client is the same one (the view
        # holds no loop state of its own, so a stale one is merely replaced).
        self._async: AsyncView | None = None
        self._registry: _Registry | None = None

    def _current_key(self) -> PoolKey:
        # Read once, as httpx reads the environment once per client it builds.
        key = self._key
        if key is None:
            key = self._key = pool_key(self._url)
        return key

    def sync(self) -> SyncView:
        """The shared client for this model's server, as a view with its timeout."""
        view, registry = self._sync, _REGISTRY
        key = self._current_key()
        if view is None or self._registry is not registry or view.client.is_closed:
            client = registry.sync_client(key, self)
            view = self._sync = SyncView(client, self._timeout, self._url)
            self._registry = registry
        return view

    def async_(self) -> AsyncView:
        """The running loop's shared client for this model's server."""
        loop = asyncio.get_running_loop()
        registry = _REGISTRY
        client = registry.async_client(self._current_key(), loop)
        view = self._async
        if view is None or view.client is not client:
            registry.use_async(client, self)
            view = self._async = AsyncView(client, self._timeout, self._url)
        return view

    async def arm_closer(self) -> None:
        """Start the running loop's closer, so the loop's shutdown closes its clients.

        Without it, a loop that ends without `aclose()` (two `asyncio.run` calls, say)
        leaves its pooled connections open until the garbage collector finds them.
        """
        registry = _REGISTRY
        loop = asyncio.get_running_loop()
        if loop not in registry.unarmed:
            return
        with registry.lock:
            closer = registry.unarmed.pop(loop, None)
        if closer is not None:
            # Runs to its `yield` at once; the first step registers it with the loop.
            await closer.__anext__()

    def current_sync_client(self) -> httpx.Client | None:
        """The shared sync client this model sends through, if it has sent (for tests)."""
        return None if self._sync is None else self._sync.client

    def loop_client(self) -> httpx.AsyncClient:
        """The running loop's shared client for this model's server (for tests)."""
        return self.async_().client

    def close(self) -> None:
        """Stop using the shared sync client; close it if no other live model uses it."""
        view, self._sync = self._sync, None
        if view is None or self._key is None or self._registry is None:
            return
        client = self._registry.release_sync(self._key, self)
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Stop using the running loop's client; close it if no other live model uses it."""
        loop = asyncio.get_running_loop()
        self._async = None
        client = _REGISTRY.release_async(self._current_key(), loop, self)
        if client is not None:
            await client.aclose()
