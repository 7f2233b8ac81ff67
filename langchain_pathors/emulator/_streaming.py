"""Streaming responses: the SSE event sequence, bent by a fault, and the response for it.

The event generator yields ``bytes`` to send, or ``None`` to drop the connection: the
response then returns without finishing the chunked body, so the server closes the
socket mid-stream and the client sees a truncated body, as after a real network cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._faults import Fault
from ._wire import DONE_EVENT, sse_comment, sse_data

__all__ = ["EventStreamResponse", "fault_events", "malformed_json"]

KEEP_ALIVE_INTERVAL = 0.1


def malformed_json(payload: dict[str, Any]) -> str:
    """The first half of a JSON document: certainly not valid JSON.

    Example:
        >>> malformed_json({"id": "chatcmpl-1", "object": "chat.completion"})
        '{"id": "chatcmpl-1", "ob'
    """
    text = json.dumps(payload, ensure_ascii=False)
    return text[: max(1, len(text) // 2)]


async def fault_events(
    chunks: list[dict[str, Any]], fault: Fault | None, chunk_latency: float
) -> AsyncIterator[bytes | None]:
    """Yield the SSE events of a streamed reply, applying a fault's stream effects.

    Event counts (``cut_after``, ``error_event_after``, ``stall_after``) count ``data:``
    events from the first one and are capped at the final chunk, so a cut or an error
    event always comes before ``finish_reason`` and ``[DONE]``. ``malformed`` spoils the
    first event after the opening role chunk.

    Args:
        chunks: Every ``chat.completion.chunk``, the final one last.
        fault: The fault picked for the request, if any.
        chunk_latency: Default seconds between events (a fault's own value wins).

    Yields:
        Bytes to send, or ``None`` meaning "drop the connection now".

    """
    fault = fault or Fault()
    final = len(chunks) - 1

    def capped(value: int | None) -> int | None:
        return None if value is None else min(value, final)

    cut, error_at, stall_at = (
        capped(fault.cut_after),
        capped(fault.error_event_after),
        capped(fault.stall_after),
    )
    spoiled = min(1, final) if fault.malformed else None
    delay = fault.chunk_latency or chunk_latency
    for index, chunk in enumerate(chunks):
        if index:
            # Without a delay, still give way to other requests between events: a long
            # stream to a fast reader would otherwise hold the event loop to its end.
            await asyncio.sleep(delay)
        if index == stall_at:
            loop = asyncio.get_running_loop()
            until = loop.time() + fault.stall_seconds
            while loop.time() < until:
                yield sse_comment("keep-alive")
                await asyncio.sleep(min(KEEP_ALIVE_INTERVAL, max(0.0, until - loop.time())))
        if index == cut:
            yield None
            return
        if index == error_at:
            yield sse_data({"error": fault.error_message})
            return
        if index == spoiled:
            yield f"data: {malformed_json(chunk)}\n\n".encode()
        else:
            yield sse_data(chunk)
    if delay:
        await asyncio.sleep(delay)
    yield DONE_EVENT


class EventStreamResponse(Response):
    """A ``text/event-stream`` response fed by :func:`fault_events`.

    It stops early when the client disconnects (so a long stall does not outlive its
    client) or when ``closing`` is set (the emulator is stopping), and drops the
    connection when the generator yields ``None``.

    Example:
        >>> async def events():
        ...     yield DONE_EVENT
        >>> EventStreamResponse(events()).media_type
        'text/event-stream'
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[bytes | None],
        headers: Mapping[str, str] | None = None,
        closing: threading.Event | None = None,
    ) -> None:
        self.events = events
        self.closing = closing or threading.Event()
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            async for event in self.events:
                if event is None or gone.is_set() or self.closing.is_set():
                    return  # unfinished body: the server drops the connection
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away mid-send
            return
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                await aclose()


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
