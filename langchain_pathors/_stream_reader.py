"""Turns a chat-completions SSE stream into validated chunk dicts.

It knows when an answer is complete (a `finish_reason` arrived, or `data: [DONE]`), and
turns every way a stream can go wrong into a typed error that keeps the text received so
far: an `{"error": ...}` event, data that is not JSON, an end before the answer finished,
or a server that keeps the connection alive with comments but sends no data.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from langchain_pathors._messages import wire_problem
from langchain_pathors._sse import ServerSentEvent
from langchain_pathors.errors import (
    PathorsError,
    PathorsOutcomeUnknownError,
    PathorsStreamError,
    PathorsTimeoutError,
)

__all__ = ["StreamReader"]

# Event types that carry chat-completion chunks; any other type is ignored.
_DATA_EVENTS = frozenset({"message", "", "chunk"})


class StreamReader:
    """State of one stream. Call `on_event` per SSE event, then `on_end` at its end.

    Args:
        session_id: The session the call is pinned to (None when the server assigns one).
        pinned: Whether a failure must be reported as "outcome unknown".
        idle_timeout: Longest gap between data events, keep-alive comments notwithstanding.
        redact: Blanks secrets out of error messages (the server's text may echo them).
    """

    def __init__(
        self,
        *,
        session_id: str | None,
        pinned: bool,
        idle_timeout: float | None,
        redact: Callable[[str], str] | None = None,
    ):
        self.session_id = session_id
        self._redact = redact or (lambda text: text)
        self.pinned = pinned
        self.idle_timeout = idle_timeout
        self.finished = False
        self.done = False
        self.chunks = 0
        self._usage_kinds: dict[str, str] = {}
        self._parts: list[str] = []
        self._last_data = time.monotonic()

    @property
    def partial_text(self) -> str:
        """The content received so far."""
        return "".join(self._parts)

    def on_event(self, event: ServerSentEvent) -> dict[str, Any] | None:
        """Return the chunk an event carries, None for keep-alives, or raise."""
        if event.event == "error":
            raise self.failure(f"Pathors reported an error mid-stream: {_event_error_text(event)}")
        if (
            event.comment
            or event.event not in _DATA_EVENTS
            or (not event.data and event.event == "message")
        ):
            # Keep-alives, and event types we do not know (ignored, as SSE clients do,
            # whatever their data): neither is answer data, so neither resets the idle clock.
            self._check_idle()
            return None
        self._last_data = time.monotonic()
        if event.data.strip() == "[DONE]":
            if not self.chunks:
                # An answer with no chunk at all is not an answer (LangChain would raise
                # a bare ValueError "No generation chunks were returned").
                raise self.failure("the stream ended ([DONE]) before any answer chunk")
            self.done = True
            return None
        try:
            chunk = json.loads(event.data)
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
        self._track(chunk)
        return chunk

    def on_end(self) -> None:
        """The body ended: fine after `finish_reason` or `[DONE]`, a truncation otherwise."""
        if not (self.finished or self.done):
            raise self.failure("the stream ended before the answer finished (no finish_reason)")

    def failure(
        self, message: str, *, error_type: type[PathorsError] = PathorsStreamError
    ) -> PathorsError:
        """The error for a failure now: "outcome unknown" when pinned to a session."""
        message = self._redact(message)
        if self.pinned:
            return PathorsOutcomeUnknownError(
                f"{message}; the session turn may or may not have been applied, "
                "so it was not re-sent",
                session_id=self.session_id,
                partial_text=self.partial_text,
            )
        if error_type is PathorsStreamError:
            return PathorsStreamError(
                message, session_id=self.session_id, partial_text=self.partial_text
            )
        if error_type is PathorsTimeoutError:
            return PathorsTimeoutError(
                message, session_id=self.session_id, partial_text=self.partial_text
            )
        return error_type(message, session_id=self.session_id)

    def _check_idle(self) -> None:
        if self.idle_timeout is None:
            return
        idle = time.monotonic() - self._last_data
        if idle > self.idle_timeout:
            raise self.failure(
                f"no data for {idle:.1f}s (stream_idle_timeout={self.idle_timeout}s); "
                "the server only sent keep-alives",
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

    def _track(self, chunk: dict[str, Any]) -> None:
        if self.session_id is None and isinstance(chunk.get("session_id"), str):
            self.session_id = chunk["session_id"]
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                self._parts.append(delta["content"])
            if choice.get("finish_reason"):
                self.finished = True


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
