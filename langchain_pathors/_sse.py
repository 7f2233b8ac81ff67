"""Server-sent events decoding, incremental and byte-exact.

Why not `httpx-sse`: its decoder (0.4.3) loses a first event that starts with a UTF-8 BOM
and discards a final event that has no trailing blank line. Both happen with real servers
and proxies, and losing the final chunk would drop `finish_reason`. This decoder follows
the WHATWG event-stream rules (LF, CR and CRLF line ends; `:` comments; multi-line
`data`; the leading BOM stripped) and dispatches a pending event when the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_events", "iter_events"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event. `comment` is True for a comment-only block (a keep-alive)."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    comment: bool = False


class SSEDecoder:
    """Feed bytes in any chunking with `feed`; call `close` at end of stream.

    Comment lines are reported as `ServerSentEvent(comment=True)` events so callers can
    observe keep-alives (for idle timeouts) without treating them as data.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        self._pending_cr = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._has_fields = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode a chunk of bytes; return the events it completes."""
        if not self._started:
            self._buffer += chunk
            if len(self._buffer) < len(_BOM) and _BOM.startswith(self._buffer):
                return []  # could still be a BOM split across chunks
            self._started = True
            chunk, self._buffer = self._buffer.removeprefix(_BOM), b""
        if self._pending_cr and chunk:
            # A CR ended the previous chunk: a LF starting this one belongs to it (CRLF).
            # An empty chunk says nothing yet, so the CR stays pending through it.
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        events: list[ServerSentEvent] = []
        data = self._buffer + chunk
        start = 0
        length = len(data)
        while True:
            lf = data.find(b"\n", start)
            cr = data.find(b"\r", start, lf if lf != -1 else length)
            if cr != -1:
                end, nxt = cr, cr + 1
                if nxt < length and data[nxt] == 0x0A:
                    nxt += 1
                elif nxt == length:
                    self._pending_cr = True
            elif lf != -1:
                end, nxt = lf, lf + 1
            else:
                break
            event = self._line(data[start:end].decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
            start = nxt
        self._buffer = data[start:]
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: dispatch an unterminated last line and a pending event."""
        events: list[ServerSentEvent] = []
        if self._buffer and not self._started:
            self._started = True
            self._buffer = self._buffer.removeprefix(_BOM)
        if self._buffer:
            event = self._line(self._buffer.decode("utf-8", errors="replace"))
            self._buffer = b""
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            if self._has_fields:
                return None  # a comment inside an event is just skipped
            return ServerSentEvent(comment=True)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():  # ASCII digits only: "²".isdigit()
                self._retry = int(value)
        else:
            return None  # unknown fields are ignored, as the spec says
        self._has_fields = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_fields:
            return None
        has_data = bool(self._data)
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data, self._event, self._retry, self._has_fields = [], "", None, False
        # Per the spec an event with no data field is not dispatched (retry/id still apply).
        return event if has_data else None


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode an iterable of byte chunks into events, flushing at the end."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def aiter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Async twin of `iter_events`."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
