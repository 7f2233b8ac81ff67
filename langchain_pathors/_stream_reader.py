"""Turns a chat-completions SSE response body into validated chunk dicts.

It undoes the body's `Content-Encoding` within `max_response_bytes`, splits it into
events within `max_event_bytes`, knows when an answer is complete (a `finish_reason`
arrived, or `data: [DONE]`), and turns every way a stream can go wrong into a classified
failure whose error keeps the text received so far: an `{"error": ...}` event, data that
is not JSON, an end before the answer finished, a size cap passed, or a server that keeps
the connection busy without making progress. Whether a failure is re-sent, or becomes an
"outcome unknown" error, is the retry policy's decision, not the reader's.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from langchain_pathors import _json
from langchain_pathors._messages import wire_problem
from langchain_pathors._responses import DEFAULT_MAX_RESPONSE_BYTES, BodyDecoder
from langchain_pathors._retry import Failed, Failure, FailureKind
from langchain_pathors._sse import ServerSentEvent, SSEDecoder, SSELimitError
from langchain_pathors.errors import PathorsError, PathorsStreamError, PathorsTimeoutError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "StreamReader"]

DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024

# Event types that carry chat-completion chunks; any other type is ignored.
_DATA_EVENTS = frozenset({"message", "", "chunk"})


class StreamReader:
    """State of one streamed reply. Call `feed` per raw body chunk, then `finish` at its end.

    Args:
        session_id: The session the call is pinned to (None when the server assigns one).
        idle_timeout: Longest time without progress (new content, tool-call data or a
            finish) while the server sends keep-alives, empty deltas or nothing useful.
        redact: Blanks secrets out of error messages (the server's text may echo them).
        content_encoding: The response's `Content-Encoding` header.
        max_response_bytes: Most bytes, after decompression, the whole reply may have.
        max_event_bytes: Longest line, and most bytes of one event.
    """

    def __init__(
        self,
        *,
        session_id: str | None,
        idle_timeout: float | None,
        redact: Callable[[str], str] | None = None,
        content_encoding: str = "",
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ):
        self.session_id = session_id
        self._redact = redact or (lambda text: text)
        self.idle_timeout = idle_timeout
        self.finished = False
        self.done = False
        self.chunks = 0
        self._usage_kinds: dict[str, str] = {}
        self._parts: list[str] = []
        self._last_progress = time.monotonic()
        self._max_event_bytes = max_event_bytes
        self._sse = SSEDecoder(max_event_bytes)
        self._body = BodyDecoder(
            content_encoding,
            max_response_bytes,
            over_limit=lambda text: self._error(
                f"{text}; raise it with ChatPathors(max_response_bytes=...) if such long "
                "answers are expected"
            ),
            bad_body=self._error,
        )

    @property
    def partial_text(self) -> str:
        """The content received so far."""
        return "".join(self._parts)

    def feed(self, raw: bytes) -> list[dict[str, Any]]:
        """The chunks a piece of the raw body completes; raises `Failed` on any failure."""
        chunks = self._events(self._body.feed(raw), closing=False)
        self.check_idle()
        return chunks

    def finish(self) -> list[dict[str, Any]]:
        """The body ended: the last chunks, then a truncation unless the answer finished."""
        chunks = self._events(self._body.finish(), closing=True)
        if not (self.finished or self.done):
            raise self.failure(
                "the stream ended before the answer finished (no finish_reason)",
                kind=FailureKind.LOST,
            )
        return chunks

    def _events(self, pieces: list[bytes], *, closing: bool) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        try:
            events = [e for piece in pieces for e in self._sse.feed(piece)]
            if closing:
                events += self._sse.close()
        except SSELimitError:
            raise self.failure(
                f"one stream event is larger than max_event_bytes ({self._max_event_bytes:,} "
                "bytes); raise it with ChatPathors(max_event_bytes=...) if such events are "
                "expected",
                kind=FailureKind.TOO_LARGE,
            ) from None
        for event in events:
            chunk = self.on_event(event)
            if chunk is not None:
                chunks.append(chunk)
            elif self.done:
                break
        return chunks

    def on_event(self, event: ServerSentEvent) -> dict[str, Any] | None:
        """Return the chunk an event carries, None for keep-alives, or raise `Failed`."""
        if event.event == "error":
            raise self.failure(f"Pathors reported an error mid-stream: {_event_error_text(event)}")
        if (
            event.comment
            or event.event not in _DATA_EVENTS
            or (not event.data and event.event == "message")
        ):
            # Keep-alives, and event types we do not know (ignored, as SSE clients do,
            # whatever their data): neither is answer data, so neither is progress.
            self.check_idle()
            return None
        if event.data.strip() == "[DONE]":
            if not self.chunks:
                # An answer with no chunk at all is not an answer (LangChain would raise
                # a bare ValueError "No generation chunks were returned").
                raise self.failure("the stream ended ([DONE]) before any answer chunk")
            self.done = True
            return None
        try:
            chunk = _json.loads(event.data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise self.failure(f"malformed stream event (not JSON): {event.data[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise self.failure(f"malformed stream event (not an object): {event.data[:200]!r}")
        if chunk.get("error") is not None:  # `"error": null` says there is none
            raise self.failure(f"Pathors reported an error mid-stream: {_error_text(chunk)}")
        problem = wire_problem(chunk, stream=True) or self._usage_problem(chunk.get("usage"))
        if problem is not None:
            raise self.failure(f"malformed stream event ({problem}): {event.data[:200]!r}")
        self.chunks += 1
        if self._track(chunk):
            self._last_progress = time.monotonic()
        else:
            self.check_idle()
        return chunk

    def failure(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.BAD_ANSWER,
        error_type: type[PathorsStreamError | PathorsTimeoutError] = PathorsStreamError,
    ) -> Failed:
        """A failure now, as the signal the client classifies (its error keeps the text)."""
        return Failed(Failure(kind, self._error(message, error_type=error_type)))

    def _error(
        self,
        message: str,
        *,
        error_type: type[PathorsStreamError | PathorsTimeoutError] = PathorsStreamError,
    ) -> PathorsError:
        return error_type(
            self._redact(message), session_id=self.session_id, partial_text=self.partial_text
        )

    def check_idle(self) -> None:
        """Raise when the stream has made no progress for longer than the idle timeout."""
        if self.idle_timeout is None:
            return
        idle = time.monotonic() - self._last_progress
        if idle > self.idle_timeout:
            raise self.failure(
                f"no progress for {idle:.1f}s (stream_idle_timeout={self.idle_timeout}s): "
                "the server sent only keep-alives, empty chunks or nothing",
                kind=FailureKind.TIMED_OUT,
                error_type=PathorsTimeoutError,
            )

    def _usage_problem(self, usage: object, path: str = "usage") -> str | None:
        """Usage must be token counts that LangChain can merge over the whole stream.

        When a stream ends, LangChain merges every chunk's metadata, and raises a bare
        TypeError when one key holds values of different types, or two different floats.
        So each figure is an int (or an object of ints, one level deep), or a float that
        never changes, and keeps its kind from chunk to chunk.
        """
        if usage is None:
            return None
        if not isinstance(usage, dict):
            return f"{path!r} is not an object"
        for key, value in usage.items():
            where = f"{path}.{key}"
            if value is None:
                continue
            if isinstance(value, dict) and path == "usage":
                kind = "object"
                problem = self._usage_problem(value, where)
                if problem is not None:
                    return problem
            elif isinstance(value, int) and not isinstance(value, bool):
                kind = "int"
            elif isinstance(value, float) and math.isfinite(value):
                kind = f"float {value!r}"
            else:
                return f"{where!r} is not a token count"
            if self._usage_kinds.setdefault(where, kind) != kind:
                return f"{where!r} changed from one chunk to the next"
        return None

    def _track(self, chunk: dict[str, Any]) -> bool:
        """Note the chunk's text and finish; return whether it is progress.

        Progress is new content, tool-call data or a finish: a server that sends empty
        deltas forever is as stuck as one that sends keep-alives.
        """
        if self.session_id is None and isinstance(chunk.get("session_id"), str):
            self.session_id = chunk["session_id"]
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return False
        progress = False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                if isinstance(delta.get("content"), str) and delta["content"]:
                    self._parts.append(delta["content"])
                    progress = True
                if delta.get("tool_calls"):
                    progress = True
            if choice.get("finish_reason"):
                self.finished = progress = True
        return progress


def _event_error_text(event: ServerSentEvent) -> str:
    """The message of an `event: error` event, whether its data is JSON or plain text."""
    try:
        chunk = json.loads(event.data)
    except (ValueError, RecursionError):
        chunk = None
    if isinstance(chunk, dict):
        if chunk.get("error") is not None:
            return _error_text(chunk)
        if chunk.get("message"):
            return str(chunk["message"])
    return event.data[:200] or "(no details)"


def _error_text(chunk: dict[str, Any]) -> str:
    error = chunk.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
