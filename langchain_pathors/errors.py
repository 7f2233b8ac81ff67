"""Typed errors for every failure a Pathors call can end in.

Each class is also the matching `langchain_core.exceptions.Model*Error`, so code written
against LangChain's provider-neutral errors (and its `is_retryable` flag) works unchanged.
Errors carry plain data only (status, message, session id, partial text): never the
request, its headers or the API key.

Example:
    ```python
    from langchain_pathors import (
        ChatPathors,
        PathorsAuthenticationError,
        PathorsError,
        PathorsOutcomeUnknownError,
    )

    try:
        reply = ChatPathors().invoke("Hello", session_id="user-42")
    except PathorsAuthenticationError as e:
        print("check PATHORS_API_KEY:", e)
    except PathorsOutcomeUnknownError as e:
        print("the turn may have happened; got so far:", e.partial_text)
    except PathorsError as e:
        print(e.status_code, e.message, e.is_retryable)
    ```
"""

from __future__ import annotations

from typing import Any

from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

__all__ = [
    "PathorsAPIStatusError",
    "PathorsAuthenticationError",
    "PathorsBadRequestError",
    "PathorsConnectionError",
    "PathorsError",
    "PathorsNotFoundError",
    "PathorsOutcomeUnknownError",
    "PathorsPermissionDeniedError",
    "PathorsRateLimitError",
    "PathorsResponseError",
    "PathorsServerError",
    "PathorsSessionBusyError",
    "PathorsSessionForkedError",
    "PathorsSessionRegistryError",
    "PathorsStreamError",
    "PathorsTimeoutError",
]


class PathorsError(ModelError):
    """Base of every error this package raises for a failed Pathors call.

    Attributes:
        message: What went wrong, with the server's own `error` text when it sent one.
        status_code: The HTTP status, or None when no response arrived.
        session_id: The session the call was pinned to (or the server assigned), if any.
        retry_after: Seconds the server asked the client to wait, when it said so.
        partial_text: The text a stream had delivered before it failed ("" when none
            had, or when the call was not streamed); kept so nothing is lost.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        session_id: str | None = None,
        retry_after: float | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.session_id = session_id
        self.retry_after = retry_after
        self.partial_text = partial_text

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with cls(*self.args), which drops keyword-only arguments and
        # fails for a class that requires one (PathorsOutcomeUnknownError's session_id), so
        # pickle and copy.copy raised. Rebuild from the attributes instead.
        return (_restore_error, (type(self), self.args, self.__dict__.copy()))

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code})")
        if self.session_id is not None:
            parts.append(f"[session {self.session_id}]")
        return " ".join(parts)


class PathorsAPIStatusError(PathorsError):
    """The server answered with an HTTP status no finer class covers (a 3xx, a 418...)."""


class PathorsBadRequestError(PathorsError, ModelInvalidRequestError):
    """400, 413, 422: the server rejected the request body. Not retryable."""


class PathorsAuthenticationError(PathorsError, ModelAuthenticationError):
    """401, or a missing, empty or malformed API key. Not retryable.

    A malformed key (whitespace or a line break at its ends, a control or non-ASCII
    character, a pasted `Bearer ` prefix) and an empty one are refused when the model is
    built; a missing key is refused by the first call. Either way nothing is sent.
    """


class PathorsPermissionDeniedError(PathorsError, ModelPermissionDeniedError):
    """403: the key is valid but may not use this project. Not retryable."""


class PathorsNotFoundError(PathorsError, ModelNotFoundError):
    """404: the project (or path) does not exist. Check `project_id` and `base_url`."""


class PathorsRateLimitError(PathorsError, ModelRateLimitError):
    """429: too many requests. Retryable; `retry_after` says how long the server asked for.

    The package has already retried `max_retries` times (or the server asked for a longer
    wait than `max_retry_after`) when you see this.
    """


class PathorsServerError(PathorsError, ModelAPIError):
    """5xx: the server failed. Retryable unless the call was pinned to a session.

    A call pinned to a session raises `PathorsOutcomeUnknownError` instead after a
    500, 502 or 504 (a 503 is retried: the server refused before doing any work).
    """


class PathorsConnectionError(PathorsError, ModelConnectionError):
    """The server could not be reached (DNS, refused connection, TLS, pool exhausted).

    Connect errors are retried (the request never left), even for a session.
    """


class PathorsTimeoutError(PathorsError, ModelTimeoutError):
    """A connect, read or stream-idle timeout expired.

    For a call pinned to a session, a read timeout raises `PathorsOutcomeUnknownError`
    instead: the server may have applied the turn. A stream that timed out midway keeps
    what it had delivered in `partial_text`.
    """


class PathorsResponseError(PathorsError, ModelAPIError):
    """The server answered 2xx with a body that is not a valid chat completion."""


class PathorsStreamError(PathorsResponseError):
    """A stream failed: an `{"error": ...}` event, malformed data, or an end before the answer.

    The chunks already yielded stay delivered; `partial_text` repeats their text.
    """


class PathorsOutcomeUnknownError(PathorsError, ModelAPIError):
    """A call pinned to a session failed after the server may have applied the turn.

    Re-sending could advance the session twice, so the package does not retry. Inspect
    the session (or ask the user) before trying again.

    Attributes:
        cause: The underlying error (timeout, 5xx, cut stream).

    Example:
        ```python
        try:
            reply = llm.invoke("Book the table", session_id="user-42")
        except PathorsOutcomeUnknownError as e:
            # Do not simply re-send: the pathway may already have taken this turn.
            print("unknown outcome in", e.session_id, "- got so far:", e.partial_text)
        ```
    """

    is_retryable = False

    def __init__(
        self,
        message: str,
        *,
        session_id: str | None,
        status_code: int | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(
            message, status_code=status_code, session_id=session_id, partial_text=partial_text
        )

    @property
    def cause(self) -> BaseException | None:
        """The underlying error (timeout, 5xx, cut stream): the one this was raised from."""
        return self.__cause__


def _restore_error(
    cls: type[PathorsError], args: tuple[Any, ...], state: dict[str, Any]
) -> PathorsError:
    """Unpickle a PathorsError without calling its `__init__`."""
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


_STATUS_CLASSES: dict[int, type[PathorsError]] = {
    400: PathorsBadRequestError,
    401: PathorsAuthenticationError,
    403: PathorsPermissionDeniedError,
    404: PathorsNotFoundError,
    413: PathorsBadRequestError,
    422: PathorsBadRequestError,
    429: PathorsRateLimitError,
}


def error_class_for_status(status_code: int) -> type[PathorsError]:
    """Map an HTTP status to the error class a caller should catch."""
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if status_code >= 500:
        return PathorsServerError
    return PathorsAPIStatusError


class PathorsSessionForkedError(PathorsError):
    """The history continues a session from a reply that is no longer the session's latest.

    Raised before sending (with `on_session_fork="raise"`): after a LangGraph time travel
    or `update_state`, a regenerate, an edited history, or two turns sent at once from one
    history, the session has moved on without that history. Not retryable as is.

    Example:
        ```python
        try:
            llm.invoke(history)
        except PathorsSessionForkedError as e:
            print("session", e.session_id, "moved on; continue from its latest reply")
        ```
    """

    is_retryable = False


class PathorsSessionBusyError(PathorsError):
    """Another turn on the same session is in progress (`session_concurrency="reject"`).

    Also raised, whatever the setting, when waiting could never end: the caller itself
    still holds the session's turn (an unfinished stream it is reading). Retryable once
    the other turn has ended, unless it is that self-wait.

    Example:
        ```python
        try:
            llm.invoke("Hi", session_id="user-42")
        except PathorsSessionBusyError as e:
            print("a turn is already running in", e.session_id)
        ```
    """

    is_retryable = True


class PathorsSessionRegistryError(PathorsError):
    """The shared session registry (Redis) could not be reached or answered with an error.

    Raised before sending: no request went to Pathors for the call that raised it. The
    message names the registry's host and the redis-py error's class, never the password
    in its URL. Not retried by the package.

    Example:
        ```python
        from langchain_pathors.redis import RedisSessionRegistry

        llm = ChatPathors(session_registry=RedisSessionRegistry("redis://cache:6379/0"))
        try:
            llm.invoke("Hi", session_id="user-42")
        except PathorsSessionRegistryError as e:
            print("Redis is unavailable, nothing was sent:", e)
        ```
    """
