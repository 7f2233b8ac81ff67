"""The HTTP client for the Pathors integration API (sync and async). Knows nothing of LangChain.

Instances that are not given a client send through the process-wide pools of
`_connections` (one per server and settings, and per event loop for async). Injected
clients are used as they are, and every request still carries its own auth header.
Redirects are never followed: a POST re-sent to another host would carry the key and the
session id with it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from langchain_pathors import _json
from langchain_pathors._connections import (
    DEFAULT_LIMITS,
    AsyncSender,
    SharedConnections,
    SyncSender,
)
from langchain_pathors._drain import arelease_stream, release_stream
from langchain_pathors._messages import wire_problem
from langchain_pathors._retry import MAY_HAVE_WORKED, RetryPolicy, parse_retry_after
from langchain_pathors._sessions import validate_project_id
from langchain_pathors._sse import aiter_events, iter_events
from langchain_pathors._stream_reader import StreamReader
from langchain_pathors._version import __version__
from langchain_pathors.errors import (
    PathorsAPIStatusError,
    PathorsAuthenticationError,
    PathorsConnectionError,
    PathorsError,
    PathorsOutcomeUnknownError,
    PathorsResponseError,
    PathorsTimeoutError,
    error_class_for_status,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "ChatReply",
    "ClientConfig",
    "PathorsClient",
    "RetryEvent",
    "StreamChunk",
]

logger = logging.getLogger("langchain_pathors")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
SESSION_HEADER = "X-Session-ID"

# Retry sleeps go through these names so tests can observe them without patching asyncio.
_sleep = time.sleep
_async_sleep = asyncio.sleep


@dataclass(frozen=True)
class RetryEvent:
    """Told to the `on_retry` hook before each retry sleeps."""

    retry_number: int
    delay: float
    error: PathorsError


# The hook may return an awaitable (async callback managers); the async path awaits it.
OnRetry = Callable[[RetryEvent], object]


class ChatReply(NamedTuple):
    """A non-streamed answer: the JSON body and the session id the server returned."""

    body: dict[str, Any]
    session_id: str | None


class StreamChunk(NamedTuple):
    """One streamed chunk and the session id from the response header."""

    data: dict[str, Any]
    session_id: str | None


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs; built once per model instance."""

    base_url: str
    project_id: str
    api_key: SecretStr | None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    stream_idle_timeout: float | None = None
    default_headers: Mapping[str, str] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _Failure(NamedTuple):
    error: PathorsError
    retry_after: float | None


class PathorsClient:
    """Sends chat and session requests with the session-aware retry policy.

    Example:
        ```python
        client = PathorsClient(ClientConfig(base_url=..., project_id=..., api_key=...))
        reply = client.chat({"messages": [{"role": "user", "content": "Hi"}]}, session_id=None)
        ```
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        project = quote(validate_project_id(config.project_id), safe="")
        root = f"{config.base_url.rstrip('/')}/api/project/{project}/integration/api"
        # Parsed once: httpx re-parses a str URL on every request (~50 us of CPU each time).
        self.chat_url = httpx.URL(f"{root}/chat/completions")
        self.session_url = httpx.URL(f"{root}/session")
        self._injected_client = http_client
        self._injected_async_client = http_async_client
        self.connections = SharedConnections(self.chat_url, config.timeout)
        self._secrets = _secrets_of(config)

    # ----------------------------------------------------------------- clients
    def _sync_client(self) -> SyncSender:
        if self._injected_client is not None:
            return self._injected_client
        return self.connections.sync()

    def _async_client(self) -> AsyncSender:
        if self._injected_async_client is not None:
            return self._injected_async_client
        return self.connections.async_()

    async def _arm_closer(self) -> None:
        if self._injected_async_client is None:
            await self.connections.arm_closer()

    def close(self) -> None:
        """Stop using the shared pool (closed when no other live model uses it).

        Injected clients are the caller's and stay open.
        """
        self.connections.close()

    async def aclose(self) -> None:
        """Close the running loop's pool for this server (injected clients stay open)."""
        await self.connections.aclose()

    # ----------------------------------------------------------------- requests
    def _headers(self, session_id: str | None, *, stream: bool) -> dict[str, str]:
        if self.config.api_key is None:
            msg = "no API key: pass api_key=... or set PATHORS_API_KEY"
            raise PathorsAuthenticationError(msg)
        headers = {
            "User-Agent": f"langchain-pathors/{__version__}",
            **self.config.default_headers,
            "Authorization": f"Bearer {self.config.api_key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if session_id is not None:
            headers[SESSION_HEADER] = session_id
        return headers

    def _classify_transport_error(
        self, exc: httpx.TransportError, *, pinned: bool, session_id: str | None
    ) -> _Failure:
        """Map an httpx failure; raise at once when a re-send could repeat a session turn."""
        never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        error: PathorsError
        detail = self._transport_detail(exc)
        if isinstance(exc, httpx.TimeoutException):
            error = PathorsTimeoutError(f"request to Pathors timed out ({detail})")
        else:
            error = PathorsConnectionError(f"could not reach Pathors ({detail})")
        if pinned and not never_sent:
            raise PathorsOutcomeUnknownError(
                f"{error.message}; the session turn may or may not have been applied, "
                "so it was not re-sent",
                session_id=session_id,
            ) from exc
        return _Failure(error, None)

    def _status_error(self, response: httpx.Response, session_id: str | None) -> PathorsError:
        status = response.status_code
        message = self._redact(_error_message(response))
        if 300 <= status < 400:
            return PathorsAPIStatusError(
                f"Pathors answered with a redirect, which is not followed "
                f"(check base_url): {message}",
                status_code=status,
            )
        return error_class_for_status(status)(
            message,
            status_code=status,
            session_id=response.headers.get(SESSION_HEADER) or session_id,
            retry_after=parse_retry_after(response.headers),
        )

    def _classify_status(
        self, response: httpx.Response, *, pinned: bool, session_id: str | None
    ) -> _Failure:
        """Map an error response; raise at once when it must not be retried."""
        error = self._status_error(response, session_id)
        status = response.status_code
        if pinned and status in MAY_HAVE_WORKED:
            raise PathorsOutcomeUnknownError(
                f"{error.message}; the session turn may or may not have been applied, "
                "so it was not re-sent",
                session_id=session_id,
                status_code=status,
            ) from error
        if not self.config.retry.status_is_retryable(status, pinned=pinned):
            raise error
        return _Failure(error, error.retry_after)

    def _next_retry(self, retry_number: int, failure: _Failure) -> RetryEvent:
        """The retry to make now, or raise the failure when no retry is allowed."""
        delay = self.config.retry.delay_for(retry_number, failure.retry_after)
        if delay is None:
            raise failure.error
        logger.info(
            "Pathors request failed (%s); retry %d of %d in %.2fs",
            type(failure.error).__name__,
            retry_number,
            self.config.retry.max_retries,
            delay,
        )
        return RetryEvent(retry_number, delay, failure.error)

    def _wait_before_retry(
        self, retries_made: int, failure: _Failure, on_retry: OnRetry | None
    ) -> int:
        """Tell the hook and sleep before the next retry (or raise); return the retry count."""
        event = self._next_retry(retries_made + 1, failure)
        if on_retry is not None:
            on_retry(event)
        _sleep(event.delay)
        return event.retry_number

    async def _await_before_retry(
        self, retries_made: int, failure: _Failure, on_retry: OnRetry | None
    ) -> int:
        """Async twin of `_wait_before_retry`; an awaitable from the hook is awaited."""
        event = self._next_retry(retries_made + 1, failure)
        if on_retry is not None:
            outcome = on_retry(event)
            if inspect.isawaitable(outcome):
                await outcome
        await _async_sleep(event.delay)
        return event.retry_number

    def _send(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        *,
        session_id: str | None,
        stream: bool,
        on_retry: OnRetry | None,
        retry_number: int = 0,
    ) -> tuple[httpx.Response, int]:
        """Send until a 2xx arrives; return it and the number of retries made so far."""
        client = self._sync_client()
        pinned = session_id is not None
        content = _encode(body)
        while True:
            request = client.build_request(
                "POST", url, content=content, headers=self._headers(session_id, stream=stream)
            )
            try:
                response = client.send(request, stream=stream, follow_redirects=False)
            except httpx.TransportError as exc:
                failure = self._classify_transport_error(exc, pinned=pinned, session_id=session_id)
            else:
                if response.is_success:
                    return response, retry_number
                try:
                    response.read()
                finally:
                    response.close()
                failure = self._classify_status(response, pinned=pinned, session_id=session_id)
            retry_number = self._wait_before_retry(retry_number, failure, on_retry)

    async def _asend(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        *,
        session_id: str | None,
        stream: bool,
        on_retry: OnRetry | None,
        retry_number: int = 0,
    ) -> tuple[httpx.Response, int]:
        """Send until a 2xx arrives; return it and the number of retries made so far."""
        client = self._async_client()
        await self._arm_closer()
        pinned = session_id is not None
        content = _encode(body)
        while True:
            request = client.build_request(
                "POST", url, content=content, headers=self._headers(session_id, stream=stream)
            )
            try:
                response = await client.send(request, stream=stream, follow_redirects=False)
            except httpx.TransportError as exc:
                failure = self._classify_transport_error(exc, pinned=pinned, session_id=session_id)
            else:
                if response.is_success:
                    return response, retry_number
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                failure = self._classify_status(response, pinned=pinned, session_id=session_id)
            retry_number = await self._await_before_retry(retry_number, failure, on_retry)

    # ----------------------------------------------------------------- chat
    def chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """POST a non-streaming chat completion."""
        response, _ = self._send(
            self.chat_url, body, session_id=session_id, stream=False, on_retry=on_retry
        )
        return ChatReply(
            _decode_completion(response, session_id, self._redact), _returned_session(response)
        )

    async def achat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """Async twin of `chat`."""
        response, _ = await self._asend(
            self.chat_url, body, session_id=session_id, stream=False, on_retry=on_retry
        )
        return ChatReply(
            _decode_completion(response, session_id, self._redact), _returned_session(response)
        )

    def stream_chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> Iterator[StreamChunk]:
        """POST a streaming chat completion and yield its chunks.

        Retries happen only before the first chunk; once a chunk has been yielded a failure
        raises (the caller has already shown it to someone). A connection cut or read
        timeout before the first chunk is retried like any request with no session.
        """
        retry_number = 0
        while True:
            response, retry_number = self._send(
                self.chat_url,
                body,
                session_id=session_id,
                stream=True,
                on_retry=on_retry,
                retry_number=retry_number,
            )
            header_session = _returned_session(response)
            reader = self._reader(response, session_id)
            yielded = False
            try:
                _require_event_stream(response, reader)
                for event in iter_events(response.iter_bytes()):
                    chunk = reader.on_event(event)
                    if chunk is not None:
                        yielded = True
                        yield StreamChunk(chunk, header_session)
                    elif reader.done:
                        release_stream(response)  # keeps the connection
                        return
                reader.on_end()
                return
            except httpx.TransportError as exc:
                failure = self._stream_failure(reader, exc, yielded=yielded)
            finally:
                response.close()
            retry_number = self._wait_before_retry(retry_number, failure, on_retry)

    async def astream_chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of `stream_chat`."""
        retry_number = 0
        while True:
            response, retry_number = await self._asend(
                self.chat_url,
                body,
                session_id=session_id,
                stream=True,
                on_retry=on_retry,
                retry_number=retry_number,
            )
            header_session = _returned_session(response)
            reader = self._reader(response, session_id)
            yielded = False
            try:
                _require_event_stream(response, reader)
                async for event in aiter_events(response.aiter_bytes()):
                    chunk = reader.on_event(event)
                    if chunk is not None:
                        yielded = True
                        yield StreamChunk(chunk, header_session)
                    elif reader.done:
                        await arelease_stream(response)  # keeps the connection
                        return
                reader.on_end()
                return
            except httpx.TransportError as exc:
                failure = self._stream_failure(reader, exc, yielded=yielded)
            finally:
                await response.aclose()
            retry_number = await self._await_before_retry(retry_number, failure, on_retry)

    def _reader(self, response: httpx.Response, session_id: str | None) -> StreamReader:
        return StreamReader(
            session_id=session_id or _returned_session(response),
            pinned=session_id is not None,
            idle_timeout=self.config.stream_idle_timeout,
            redact=self._redact,
        )

    def _stream_failure(
        self, reader: StreamReader, exc: httpx.TransportError, *, yielded: bool
    ) -> _Failure:
        """A transport failure mid-stream: raise it, unless a fresh attempt is harmless.

        It is when nothing has been yielded yet and the call is not pinned to a session
        (the server gives each attempt a new session).
        """
        error = self._stream_transport_error(reader, exc)
        error.__cause__ = exc
        if yielded or reader.pinned:
            raise error
        return _Failure(error, None)

    def _stream_transport_error(
        self, reader: StreamReader, exc: httpx.TransportError
    ) -> PathorsError:
        detail = self._transport_detail(exc)
        if isinstance(exc, httpx.TimeoutException):
            return reader.failure(f"stream timed out ({detail})", error_type=PathorsTimeoutError)
        return reader.failure(f"the stream was cut ({detail})")

    # ----------------------------------------------------------------- sessions
    def create_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """POST to the session endpoint. Safe to retry: creating a session is idempotent."""
        body = _session_body(session_id, variables)
        response, _ = self._send(
            self.session_url, body, session_id=None, stream=False, on_retry=None
        )
        return _decode_json(response, session_id, self._redact)

    async def acreate_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Async twin of `create_session`."""
        body = _session_body(session_id, variables)
        response, _ = await self._asend(
            self.session_url, body, session_id=None, stream=False, on_retry=None
        )
        return _decode_json(response, session_id, self._redact)

    def _transport_detail(self, exc: httpx.TransportError) -> str:
        """The failure's type and text, redacted, for an error message."""
        return f"{type(exc).__name__}: {self._redact(str(exc)) or 'no detail'}"

    def _redact(self, text: str) -> str:
        """Blank out the key and default header values (a server may echo them back)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


# Header values shorter than this are not taken for secrets ("1", "yes", "gzip"...).
_MIN_HEADER_SECRET = 8


def _secrets_of(config: ClientConfig) -> list[str]:
    """What `_redact` blanks out, longest first.

    The key, and each default header's value and its credentials part ("Bearer <token>"
    -> "<token>"): default headers may carry credentials of their own.
    """
    secrets = set()
    if config.api_key is not None and config.api_key.get_secret_value():
        secrets.add(config.api_key.get_secret_value())
    for value in config.default_headers.values():
        for candidate in (value.strip(), value.strip().partition(" ")[2].strip()):
            if len(candidate) >= _MIN_HEADER_SECRET:
                secrets.add(candidate)
    return sorted(secrets, key=len, reverse=True)


def _require_event_stream(response: httpx.Response, reader: StreamReader) -> None:
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("text/event-stream"):
        shown = content_type or "no content type"
        raise reader.failure(f"asked for a stream but Pathors answered with {shown!r}")


def _session_body(session_id: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"session_id": session_id}
    if variables is not None:
        body["variables"] = dict(variables)
    return body


def _encode(body: dict[str, Any]) -> bytes:
    try:
        return _json.dumps(body)
    except (TypeError, ValueError) as exc:
        msg = f"the request cannot be encoded as JSON: {exc}"
        raise PathorsError(msg) from None


def _returned_session(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get(SESSION_HEADER)
    return value


def _decode_json(
    response: httpx.Response, session_id: str | None, redact: Callable[[str], str]
) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        snippet = redact(response.content[:200].decode("utf-8", errors="replace"))
        msg = f"Pathors answered {response.status_code} with a body that is not JSON: {snippet!r}"
        raise PathorsResponseError(
            msg, status_code=response.status_code, session_id=session_id
        ) from None
    if not isinstance(body, dict):
        msg = f"Pathors answered with JSON that is not an object: {type(body).__name__}"
        raise PathorsResponseError(msg, status_code=response.status_code, session_id=session_id)
    return body


def _decode_completion(
    response: httpx.Response, session_id: str | None, redact: Callable[[str], str]
) -> dict[str, Any]:
    """The JSON body of a chat completion, with the types the conversion relies on.

    In a session the server has applied the turn before answering, so a malformed answer
    is marked not retryable: LangChain's retry helpers would otherwise repeat the turn.
    """
    try:
        body = _decode_json(response, session_id, redact)
        problem = wire_problem(body, stream=False)
        if problem is not None:
            msg = f"Pathors answered with a malformed chat completion ({problem})"
            raise PathorsResponseError(msg, status_code=response.status_code, session_id=session_id)
    except PathorsResponseError as error:
        if session_id is not None:
            error.is_retryable = False
        raise
    return body


def _error_message(response: httpx.Response) -> str:
    """The server's `{"error": ...}` text, else a short description of the body."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        if isinstance(error, dict):
            error = error.get("message") or json.dumps(error)
        return str(error)
    text = response.content[:200].decode("utf-8", errors="replace").strip()
    return text or response.reason_phrase or f"HTTP {response.status_code}"
