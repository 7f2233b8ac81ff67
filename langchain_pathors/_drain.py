"""Give a finished stream's connection back to the pool instead of closing it.

httpx closes a connection whose response body was not read to its end. After a stream's
final event (`[DONE]`, or the final `finish_reason`) normally only a few bytes are left
(`data: [DONE]` and the end of the chunked body), so they are read, within bounds, and the
connection is reused by the next call. A server that keeps talking, or goes quiet without
ending the body, has its connection closed instead: the call never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import httpx

__all__ = ["DRAIN_MAX_BYTES", "DRAIN_MAX_SECONDS", "arelease_stream", "release_stream"]

# At most this much more is read after the final event, for at most this long.
DRAIN_MAX_BYTES = 16 * 1024
DRAIN_MAX_SECONDS = 0.1


def _raw_socket(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        sock = stream.get_extra_info("socket")
    except Exception:  # a transport we do not know: no drain
        return None
    return sock if isinstance(sock, socket.socket) else None


def release_stream(response: httpx.Response) -> None:
    """Close a stream that has had its final event, after reading what little is left.

    Reading the rest of the body (normally `data: [DONE]` and the end of the chunked
    encoding) lets the connection go back to the pool instead of being closed. The read is
    bounded in bytes and time: a server that keeps talking, or goes quiet without ending
    the body, has its connection closed instead (a watchdog shuts the socket down).
    """
    sock = None if response.is_closed else _raw_socket(response)
    if sock is None:
        response.close()
        return
    lock = threading.Lock()
    drained = False

    def give_up() -> None:
        with lock:
            if not drained:
                # The plain socket's shutdown: SSLSocket's would race with the reader.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(DRAIN_MAX_SECONDS, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        received = 0
        # A fresh pass over the transport's stream continues where the decoder stopped
        # (httpcore keeps the parser state on the connection).
        for part in response.stream:  # type: ignore[union-attr]
            received += len(part)
            if received > DRAIN_MAX_BYTES:
                break
    except (httpx.HTTPError, httpx.StreamError):
        pass  # the connection is closed below instead of reused
    finally:
        with lock:
            drained = True
        watchdog.cancel()
        response.close()


async def arelease_stream(response: httpx.Response) -> None:
    """Async twin of `release_stream` (the time bound is a cancellation)."""
    if response.is_closed or response.extensions.get("network_stream") is None:
        await response.aclose()
        return

    async def drain() -> None:
        received = 0
        async for part in response.stream:  # type: ignore[union-attr]
            received += len(part)
            if received > DRAIN_MAX_BYTES:
                return

    try:
        await asyncio.wait_for(drain(), DRAIN_MAX_SECONDS)
    except (asyncio.TimeoutError, httpx.HTTPError, httpx.StreamError):
        pass  # the connection is closed below instead of reused
    finally:
        await response.aclose()
