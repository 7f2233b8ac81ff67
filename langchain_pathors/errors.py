"""Typed errors for every failure a Pathors call can end in.

Each class is also the matching `langchain_core.exceptions.Model*Error`, so code written
against LangChain's provider-neutral errors (and its `is_retryable` flag) works unchanged.
Errors carry plain data only (status, message, session id, partial text): never the
request, its headers or the API key.

Example:
    ```python
    from langchain_pathors import ChatPathors, PathorsAuthenticationError, PathorsError

    try:
        ChatPathors(api_key="wrong").invoke("Hello")
    except PathorsAuthenticationError as e:
        print("check PATHORS_API_KEY:", e)
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

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsError as e:
            log.warning("pathors failed: %s (retryable=%s)", e, e.is_retryable)
        ```
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        session_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.session_id = session_id
        self.retry_after = retry_after

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
    """The server answered with an HTTP status this package has no finer class for.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsAPIStatusError as e:
            print("unexpected answer from Pathors:", e.status_code, e.message)
        ```
    """


class PathorsBadRequestError(PathorsError, ModelInvalidRequestError):
    """400: the server rejected the request body (or a client-side check did). Not retryable.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsBadRequestError as e:
            print("fix the request:", e.message)  # the server's own `error` text
        ```
    """


class PathorsAuthenticationError(PathorsError, ModelAuthenticationError):
    """401: the API key is missing or wrong. Not retryable.

    Also raised before any request when no key is configured at all.

    Example:
        ```python
        try:
            ChatPathors(project_id="my-project", api_key="wrong").invoke("Hi")
        except PathorsAuthenticationError:
            print("check PATHORS_API_KEY")
        ```
    """


class PathorsPermissionDeniedError(PathorsError, ModelPermissionDeniedError):
    """403: the key is valid but may not use this project. Not retryable.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsPermissionDeniedError:
            print("this key belongs to another project")
        ```
    """


class PathorsNotFoundError(PathorsError, ModelNotFoundError):
    """404: the project (or path) does not exist. Check `project_id` and `base_url`.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsNotFoundError:
            print("no such project at", llm.base_url)
        ```
    """


class PathorsRateLimitError(PathorsError, ModelRateLimitError):
    """429: too many requests. Retryable; `retry_after` says how long the server asked for.

    The package has already retried `max_retries` times (or the server asked for a longer
    wait than `max_retry_after`) when you see this.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsRateLimitError as e:
            print("slow down; the server asked for", e.retry_after, "seconds")
        ```
    """


class PathorsServerError(PathorsError, ModelAPIError):
    """5xx: the server failed. Retryable unless the call was pinned to a session.

    A call pinned to a session raises `PathorsOutcomeUnknownError` instead after a
    500, 502 or 504 (a 503 is retried: the server refused before doing any work).

    Example:
        ```python
        try:
            llm.invoke("Hi")  # no session: retried up to max_retries times first
        except PathorsServerError as e:
            print("Pathors failed:", e.status_code)
        ```
    """


class PathorsConnectionError(PathorsError, ModelConnectionError):
    """The server could not be reached (DNS, refused connection, TLS, pool exhausted).

    Connect errors are retried (the request never left), even for a session.

    Example:
        ```python
        try:
            ChatPathors(base_url="http://127.0.0.1:9", project_id="p", api_key="k").invoke("Hi")
        except PathorsConnectionError as e:
            print("unreachable:", e)
        ```
    """


class PathorsTimeoutError(PathorsError, ModelTimeoutError):
    """A connect, read or stream-idle timeout expired.

    For a call pinned to a session, a read timeout raises `PathorsOutcomeUnknownError`
    instead: the server may have applied the turn.

    Example:
        ```python
        try:
            ChatPathors(timeout=5).invoke("Hi")
        except PathorsTimeoutError:
            print("Pathors took longer than 5 s")
        ```

    Attributes:
        partial_text: For a stream that timed out midway, the text that had arrived
            (already delivered to a streaming caller; kept here so nothing is lost).
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
        super().__init__(
            message, status_code=status_code, session_id=session_id, retry_after=retry_after
        )
        self.partial_text = partial_text


class PathorsResponseError(PathorsError, ModelAPIError):
    """The server answered 2xx with a body that is not a valid chat completion.

    Example:
        ```python
        try:
            llm.invoke("Hi")
        except PathorsResponseError as e:
            print("malformed answer:", e.message)
        ```
    """


class PathorsStreamError(PathorsResponseError):
    """A stream failed: an `{"error": ...}` event, malformed data, or an end before the answer.

    Attributes:
        partial_text: The text that had arrived before the failure (already delivered
            to a streaming caller; kept here so nothing is lost).

    Example:
        ```python
        try:
            for chunk in llm.stream("Tell me a story"):
                print(chunk.content, end="")
        except PathorsStreamError as e:
            print()
            print("[stream failed after", len(e.partial_text), "characters]")
        ```
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        session_id: str | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, status_code=status_code, session_id=session_id)
        self.partial_text = partial_text


class PathorsOutcomeUnknownError(PathorsError, ModelAPIError):
    """A call pinned to a session failed after the server may have applied the turn.

    Re-sending could advance the session twice, so the package does not retry. Inspect
    the session (or ask the user) before trying again.

    Attributes:
        partial_text: Text that arrived before the failure.
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
        super().__init__(message, status_code=status_code, session_id=session_id)
        self.partial_text = partial_text

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
