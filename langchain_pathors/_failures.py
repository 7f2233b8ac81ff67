"""Classifying what went wrong in a call: each failure gets its kind and its typed error.

The client hands every httpx exception and every error status here, and gets back a
`Failure` (its `FailureKind`, the `PathorsError` to raise, the server's requested wait);
what happens next is the retry policy's decision (`_retry.py`). The errors carry the
failure's type and redacted text, never the httpx exception itself: that would keep the
request, and its `Authorization` header, alive on the error's chain.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from langchain_pathors import _deadline
from langchain_pathors._responses import error_message
from langchain_pathors._retry import Failure, FailureKind, kind_of_status, parse_retry_after
from langchain_pathors._stream_reader import StreamReader
from langchain_pathors.errors import (
    PathorsAPIStatusError,
    PathorsBadRequestError,
    PathorsConnectionError,
    PathorsError,
    PathorsOutcomeUnknownError,
    PathorsResponseError,
    PathorsTimeoutError,
    error_class_for_status,
)

__all__ = ["FailureClassifier", "outcome_unknown", "unreadable", "unsendable"]

SESSION_HEADER = "X-Session-ID"


class FailureClassifier:
    """Turns httpx exceptions and error responses into classified failures.

    Args:
        redact: Blanks secrets out of any text quoted from the server or httpx.
        total_timeout: The setting a deadline error names.
    """

    def __init__(self, redact: Callable[[str], str], total_timeout: float | None) -> None:
        self._redact = redact
        self._total_timeout = total_timeout

    def detail(self, exc: httpx.HTTPError) -> str:
        """The failure's type and text, redacted, for an error message."""
        return f"{type(exc).__name__}: {self._redact(str(exc)) or 'no detail'}"

    def transport(self, exc: httpx.TransportError, url: httpx.URL) -> Failure:
        """A failure before or while the response headers arrived (or a body was read)."""
        where = _host_and_port(url)
        detail = self.detail(exc)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            if isinstance(exc, httpx.TimeoutException):
                error: PathorsError = PathorsTimeoutError(
                    f"connecting to Pathors at {where} timed out ({detail})"
                )
            else:
                error = PathorsConnectionError(f"could not reach Pathors at {where} ({detail})")
            return Failure(FailureKind.NOT_SENT, error)
        if isinstance(exc, httpx.LocalProtocolError):
            # h11 refused to write the request; its text quotes the offending header.
            name = type(exc).__name__
            msg = f"the request to {where} cannot be sent: it is not valid HTTP ({name})"
            return Failure(FailureKind.UNSENDABLE, PathorsBadRequestError(msg))
        if isinstance(exc, httpx.TimeoutException):
            if _deadline.expired():
                return Failure(FailureKind.TIMED_OUT, self.deadline_error())
            error = PathorsTimeoutError(f"request to Pathors timed out ({detail})")
            return Failure(FailureKind.LOST, error)
        error = PathorsConnectionError(f"the connection to Pathors at {where} failed ({detail})")
        return Failure(FailureKind.LOST, error)

    def deadline_error(self) -> PathorsTimeoutError:
        """The error for an attempt that passed total_timeout."""
        return PathorsTimeoutError(
            f"the answer did not arrive within total_timeout ({self._total_timeout}s); "
            "raise it with ChatPathors(total_timeout=...) if such slow answers are expected"
        )

    def stream_transport(self, reader: StreamReader, exc: httpx.TransportError) -> Failure:
        """A failure while a stream's body was being read: its error keeps the text so far."""
        detail = self.detail(exc)
        if isinstance(exc, httpx.TimeoutException):
            message = f"stream timed out ({detail})"
            failed = reader.failure(message, kind=FailureKind.LOST, error_type=PathorsTimeoutError)
        else:
            failed = reader.failure(f"the stream was cut ({detail})", kind=FailureKind.LOST)
        return failed.failure

    def status(
        self, response: httpx.Response, content: bytes, truncated: bool, session_id: str | None
    ) -> Failure:
        """An error status, with the server's message from (the start of) its body."""
        status = response.status_code
        message = self._redact(error_message(content, truncated, response))
        error: PathorsError
        if 300 <= status < 400:
            error = PathorsAPIStatusError(
                f"Pathors answered with a redirect, which is not followed "
                f"(check base_url): {message}",
                status_code=status,
            )
        else:
            if status == 404:
                # The path is the package's own (the key never goes in a URL).
                message = (
                    f"{message}: nothing at {response.request.url.path} "
                    "(check base_url and project_id)"
                )
            error = error_class_for_status(status)(
                message,
                status_code=status,
                session_id=response.headers.get(SESSION_HEADER) or session_id,
                retry_after=parse_retry_after(response.headers),
            )
        return Failure(kind_of_status(status), error, error.retry_after)


def unreadable(exc: httpx.HTTPError) -> Failure:
    """Any other httpx failure while reading an answer (its text may quote the request)."""
    error = PathorsResponseError(
        f"the answer from Pathors could not be read ({type(exc).__name__})"
    )
    return Failure(FailureKind.BAD_ANSWER, error)


def unsendable() -> Failure:
    """A request httpx refused to build: the exception would quote the value (maybe the key)."""
    msg = "the request cannot be sent: a header value is not valid HTTP (not ASCII)"
    return Failure(FailureKind.UNSENDABLE, PathorsBadRequestError(msg))


def outcome_unknown(error: PathorsError, session_id: str | None) -> PathorsOutcomeUnknownError:
    """The error for a pinned call that failed after the server may have applied its turn."""
    return PathorsOutcomeUnknownError(
        f"{error.message}; the session turn may or may not have been applied, "
        "so it was not re-sent",
        session_id=session_id,
        status_code=error.status_code,
        partial_text=getattr(error, "partial_text", ""),
    )


def _host_and_port(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"
