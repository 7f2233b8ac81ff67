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

__all__ = ["SSEDecoder", "SSELimitError", "ServerSentEvent", "aiter_events", "iter_events"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event. `comment` is True for a comment-only block (a keep-alive)."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    comment: bool = False


class SSELimitError(ValueError):
    """A line or an event is longer than the decoder's `max_event_bytes`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an event or line is longer than {limit} bytes")
        self.limit = limit


class SSEDecoder:
    """Feed bytes in any chunking with `feed`; call `close` at end of stream.

    Comment lines are reported as `ServerSentEvent(comment=True)` events so callers can
    observe keep-alives (for idle timeouts) without treating them as data.

    Linear in its input: each byte is scanned once, and a line split over many chunks is
    kept as a list of pieces, joined once when its end arrives.

    Args:
        max_event_bytes: Longest line, and most bytes of field lines in one event, before
            `SSELimitError` is raised; None for no limit.
    """

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._limit = max_event_bytes
        self._head = b""  # the first bytes, until it is known whether they are a BOM
        self._started = False
        self._pending_cr = False
        self._partial: list[bytes] = []  # the current line's bytes so far
        self._partial_size = 0
        self._event_size = 0
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._has_fields = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode a chunk of bytes; return the events it completes."""
        if not self._started:
            self._head += chunk
            if len(self._head) < len(_BOM) and _BOM.startswith(self._head):
                return []  # could still be a BOM split across chunks
            self._started = True
            chunk, self._head = self._head.removeprefix(_BOM), b""
        if self._pending_cr and chunk:
            # A CR ended the previous chunk: a LF starting this one belongs to it (CRLF).
            # An empty chunk says nothing yet, so the CR stays pending through it.
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        events: list[ServerSentEvent] = []
        start = 0
        length = len(chunk)
        # Next LF and CR at or after `start`, each searched again only once passed, so
        # a chunk of many short lines (or only CRs) is still scanned once.
        lf = chunk.find(b"\n")
        cr = chunk.find(b"\r")
        while True:
            if -1 < lf < start:
                lf = chunk.find(b"\n", start)
            if -1 < cr < start:
                cr = chunk.find(b"\r", start)
            if cr != -1 and (lf == -1 or cr < lf):
                end, nxt = cr, cr + 1
                if nxt < length and chunk[nxt] == 0x0A:
                    nxt += 1
                elif nxt == length:
                    self._pending_cr = True
            elif lf != -1:
                end, nxt = lf, lf + 1
            else:
                break
            line = chunk[start:end]
            if self._partial:
                line = b"".join([*self._partial, line])
                self._partial, self._partial_size = [], 0
            event = self._raw_line(line)
            if event is not None:
                events.append(event)
            start = nxt
        if start < length:
            rest = chunk[start:]
            self._partial_size += len(rest)
            self._check(self._partial_size)
            self._partial.append(rest)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: dispatch an unterminated last line and a pending event."""
        events: list[ServerSentEvent] = []
        if self._head and not self._started:
            self._started = True
            self._partial = [self._head.removeprefix(_BOM)]
            self._head = b""
        line = b"".join(self._partial)
        self._partial, self._partial_size = [], 0
        if line:
            event = self._raw_line(line)
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _check(self, size: int) -> None:
        if self._limit is not None and size > self._limit:
            raise SSELimitError(self._limit)

    def _raw_line(self, line: bytes) -> ServerSentEvent | None:
        self._check(len(line))
        if line and not line.startswith(b":"):
            self._event_size += len(line)
            self._check(self._event_size)
        return self._line(line.decode("utf-8", errors="replace"))

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
        self._event_size = 0
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
