"""The HTTP client for the Pathors integration API (sync and async). Knows nothing of LangChain.

Instances that are not given a client send through the process-wide pools of
`_connections` (one per server and settings, and per event loop for async). Injected
clients are used as they are, and every request still carries its own auth header.
Redirects are never followed: a POST re-sent to another host would carry the key and the
session id with it.

This module sends and loops; the rest is elsewhere: `_connections` owns the shared pools,
`_drain` gives a finished stream's connection back, `_failures` classifies what went
wrong, `_retry` alone decides whether to send again, `_responses` reads bodies raw within
their caps, `_stream_reader` turns a streamed body into chunks, and `_deadline` bounds
each attempt in time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from langchain_pathors import _deadline, _json
from langchain_pathors._connections import (
    DEFAULT_LIMITS,
    AsyncSender,
    SharedConnections,
    SyncSender,
)
from langchain_pathors._drain import arelease_stream, release_stream
from langchain_pathors._failures import (
    SESSION_HEADER,
    FailureClassifier,
    outcome_unknown,
    unreadable,
    unsendable,
)
from langchain_pathors._redaction import Redactor, secrets_of
from langchain_pathors._responses import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_RESPONSE_BYTES,
    ERROR_BODY_BYTES,
    BodyDecoder,
    araw_chunks,
    aread_body,
    decode_completion,
    decode_json,
    is_event_stream,
    raw_chunks,
    read_body,
)
from langchain_pathors._retry import (
    CallState,
    Failed,
    Failure,
    RetryPolicy,
    Verdict,
)
from langchain_pathors._sessions import validate_project_id
from langchain_pathors._stream_reader import DEFAULT_MAX_EVENT_BYTES, StreamReader
from langchain_pathors._version import __version__
from langchain_pathors.errors import (
    PathorsAuthenticationError,
    PathorsError,
    PathorsResponseError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "ChatReply",
    "ClientConfig",
    "PathorsClient",
    "RetryEvent",
    "StreamChunk",
]

logger = logging.getLogger("langchain_pathors")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# One attempt of a non-streamed call, from sending to its last byte (and a stream's wait
# for its headers): httpx's timeouts are per read, so a server trickling bytes never trips them.
DEFAULT_TOTAL_TIMEOUT = 180.0

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
    total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES


_T = TypeVar("_T")


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
        # A server may echo the key or a default header's value back: errors never carry them.
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        self._redact = Redactor(secrets_of(key, config.default_headers))
        self._failures = FailureClassifier(self._redact, config.total_timeout)

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
            # Only what `_responses` can decompress within its caps.
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if session_id is not None:
            headers[SESSION_HEADER] = session_id
        return headers

    def _request(
        self,
        client: SyncSender | AsyncSender,
        url: httpx.URL,
        content: bytes,
        session_id: str | None,
        *,
        stream: bool,
    ) -> httpx.Request:
        headers = self._headers(session_id, stream=stream)
        try:
            return client.build_request("POST", url, content=content, headers=headers)
        except (UnicodeError, ValueError, httpx.InvalidURL):
            # The exception would quote the offending value, which may be the key.
            raise Failed(unsendable()) from None

    def _error_decoder(self, response: httpx.Response) -> BodyDecoder:
        return BodyDecoder(
            response.headers.get("content-encoding", ""),
            ERROR_BODY_BYTES,
            over_limit=None,  # an error message needs only the start of the body
            bad_body=PathorsResponseError,
        )

    def _body_decoder(self, response: httpx.Response, session_id: str | None) -> BodyDecoder:
        def error(message: str) -> PathorsError:
            return PathorsResponseError(
                message, status_code=response.status_code, session_id=session_id
            )

        return BodyDecoder(
            response.headers.get("content-encoding", ""),
            self.config.max_response_bytes,
            over_limit=lambda text: error(
                f"{text}; raise it with ChatPathors(max_response_bytes=...) if such large "
                "answers are expected"
            ),
            bad_body=error,
        )

    def _reader(self, response: httpx.Response, session_id: str | None) -> StreamReader:
        reader = StreamReader(
            session_id=session_id or _returned_session(response),
            idle_timeout=self.config.stream_idle_timeout,
            redact=self._redact,
            content_encoding=response.headers.get("content-encoding", ""),
            max_response_bytes=self.config.max_response_bytes,
            max_event_bytes=self.config.max_event_bytes,
        )
        content_type = response.headers.get("content-type", "")
        if not is_event_stream(content_type):
            shown = content_type or "no content type"
            raise reader.failure(f"asked for a stream but Pathors answered with {shown!r}")
        return reader

    # ------------------------------------------------------- acting on the policy
    def _next_retry(self, retries_made: int, failure: Failure, call: CallState) -> RetryEvent:
        """The retry to make now, or raise what the retry policy says to raise."""
        verdict = self.config.retry.verdict(failure.kind, call)
        error = failure.error
        if verdict is Verdict.RESEND:
            delay = self.config.retry.delay_for(retries_made + 1, failure.retry_after)
            if delay is not None:
                logger.info(
                    "Pathors request failed (%s); retry %d of %d in %.2fs",
                    type(error).__name__,
                    retries_made + 1,
                    self.config.retry.max_retries,
                    delay,
                )
                return RetryEvent(retries_made + 1, delay, error)
        elif verdict is Verdict.OUTCOME_UNKNOWN:
            raise outcome_unknown(error, call.session_id) from error
        elif verdict is Verdict.RAISE_FINAL:
            error.is_retryable = False
        raise error

    def _wait_before_retry(
        self, retries_made: int, failure: Failure, call: CallState, on_retry: OnRetry | None
    ) -> int:
        """Tell the hook and sleep before the next retry (or raise); return the retry count."""
        event = self._next_retry(retries_made, failure, call)
        if on_retry is not None:
            on_retry(event)
        _sleep(event.delay)
        return event.retry_number

    async def _await_before_retry(
        self, retries_made: int, failure: Failure, call: CallState, on_retry: OnRetry | None
    ) -> int:
        """Async twin of `_wait_before_retry`; an awaitable from the hook is awaited."""
        event = self._next_retry(retries_made, failure, call)
        if on_retry is not None:
            outcome = on_retry(event)
            if inspect.isawaitable(outcome):
                await outcome
        await _async_sleep(event.delay)
        return event.retry_number

    # ------------------------------------------------------------- one attempt
    def _open(
        self,
        client: SyncSender,
        url: httpx.URL,
        content: bytes,
        session_id: str | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        """Send once; return a 2xx response with its body unread, or raise `Failed`."""
        request = self._request(client, url, content, session_id, stream=stream)
        try:
            response: httpx.Response = client.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            failure = self._failures.transport(exc, url)
        else:
            if response.is_success:
                return response
            try:
                decoder = self._error_decoder(response)
                content = read_body(response, decoder)
                failure = self._failures.status(response, content, decoder.truncated, session_id)
            except (Failed, httpx.HTTPError):  # unreadable: the status still says enough
                failure = self._failures.status(response, b"", True, session_id)
            finally:
                response.close()
        raise Failed(failure)

    async def _aopen(
        self,
        client: AsyncSender,
        url: httpx.URL,
        content: bytes,
        session_id: str | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        """Async twin of `_open`."""
        request = self._request(client, url, content, session_id, stream=stream)
        try:
            response: httpx.Response = await client.send(
                request, stream=True, follow_redirects=False
            )
        except httpx.TransportError as exc:
            failure = self._failures.transport(exc, url)
        else:
            if response.is_success:
                return response
            try:
                decoder = self._error_decoder(response)
                content = await aread_body(response, decoder)
                failure = self._failures.status(response, content, decoder.truncated, session_id)
            except (Failed, httpx.HTTPError):
                failure = self._failures.status(response, b"", True, session_id)
            finally:
                await response.aclose()
        raise Failed(failure)

    def _fetch(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        *,
        session_id: str | None,
        on_retry: OnRetry | None,
        decode: Callable[[bytes, int], _T],
    ) -> tuple[_T, httpx.Response]:
        """A non-streamed call: send and read within total_timeout, retried per the policy."""
        client = self._sync_client()
        content = _encode(body)
        call = CallState(session_id)
        retries = 0
        while True:
            with _deadline.deadline(self.config.total_timeout):
                try:
                    response = self._open(client, url, content, session_id, stream=False)
                    try:
                        raw = read_body(response, self._body_decoder(response, session_id))
                    finally:
                        response.close()
                    return decode(raw, response.status_code), response
                except Failed as failed:
                    failure = failed.failure
                except httpx.TransportError as exc:
                    failure = self._failures.transport(exc, url)
                except httpx.HTTPError as exc:
                    failure = unreadable(exc)
            retries = self._wait_before_retry(retries, failure, call, on_retry)

    async def _afetch(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        *,
        session_id: str | None,
        on_retry: OnRetry | None,
        decode: Callable[[bytes, int], _T],
    ) -> tuple[_T, httpx.Response]:
        """Async twin of `_fetch`."""
        client = self._async_client()
        await self._arm_closer()
        content = _encode(body)
        call = CallState(session_id)
        retries = 0
        while True:
            with _deadline.deadline(self.config.total_timeout):
                try:
                    response = await self._aopen(client, url, content, session_id, stream=False)
                    try:
                        raw = await aread_body(response, self._body_decoder(response, session_id))
                    finally:
                        await response.aclose()
                    return decode(raw, response.status_code), response
                except Failed as failed:
                    failure = failed.failure
                except httpx.TransportError as exc:
                    failure = self._failures.transport(exc, url)
                except httpx.HTTPError as exc:
                    failure = unreadable(exc)
            retries = await self._await_before_retry(retries, failure, call, on_retry)

    # ----------------------------------------------------------------- chat
    def _completion(self, session_id: str | None) -> Callable[[bytes, int], dict[str, Any]]:
        return lambda raw, status: decode_completion(raw, status, session_id, self._redact)

    def chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """POST a non-streaming chat completion."""
        reply, response = self._fetch(
            self.chat_url,
            body,
            session_id=session_id,
            on_retry=on_retry,
            decode=self._completion(session_id),
        )
        return ChatReply(reply, _returned_session(response))

    async def achat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """Async twin of `chat`."""
        reply, response = await self._afetch(
            self.chat_url,
            body,
            session_id=session_id,
            on_retry=on_retry,
            decode=self._completion(session_id),
        )
        return ChatReply(reply, _returned_session(response))

    def stream_chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> Iterator[StreamChunk]:
        """POST a streaming chat completion and yield its chunks.

        Whether a failure is re-sent is the retry policy's call (`CallState.delivered`
        tells it whether a chunk has already reached the caller). The wait for the
        response headers is bounded by total_timeout; after that, each read by the HTTP
        timeout, progress by stream_idle_timeout and the whole reply by max_response_bytes.
        """
        client = self._sync_client()
        content = _encode(body)
        retries = 0
        while True:
            delivered = False
            try:
                with _deadline.deadline(self.config.total_timeout):
                    response = self._open(client, self.chat_url, content, session_id, stream=True)
                try:
                    header_session = _returned_session(response)
                    reader = self._reader(response, session_id)
                    try:
                        for raw in raw_chunks(response):
                            for chunk in reader.feed(raw):
                                delivered = True
                                yield StreamChunk(chunk, header_session)
                            if reader.done:
                                release_stream(response)  # keeps the connection
                                return
                        for chunk in reader.finish():
                            delivered = True
                            yield StreamChunk(chunk, header_session)
                        return
                    except httpx.TransportError as exc:
                        failure = self._failures.stream_transport(reader, exc)
                    except httpx.HTTPError as exc:
                        failure = unreadable(exc)
                finally:
                    response.close()
            except Failed as failed:
                failure = failed.failure
            call = CallState(session_id, streamed=True, delivered=delivered)
            retries = self._wait_before_retry(retries, failure, call, on_retry)

    async def astream_chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of `stream_chat`."""
        client = self._async_client()
        await self._arm_closer()
        content = _encode(body)
        retries = 0
        while True:
            delivered = False
            try:
                with _deadline.deadline(self.config.total_timeout):
                    response = await self._aopen(
                        client, self.chat_url, content, session_id, stream=True
                    )
                try:
                    header_session = _returned_session(response)
                    reader = self._reader(response, session_id)
                    try:
                        async for raw in araw_chunks(response):
                            for chunk in reader.feed(raw):
                                delivered = True
                                yield StreamChunk(chunk, header_session)
                            if reader.done:
                                await arelease_stream(response)  # keeps the connection
                                return
                        for chunk in reader.finish():
                            delivered = True
                            yield StreamChunk(chunk, header_session)
                        return
                    except httpx.TransportError as exc:
                        failure = self._failures.stream_transport(reader, exc)
                    except httpx.HTTPError as exc:
                        failure = unreadable(exc)
                finally:
                    await response.aclose()
            except Failed as failed:
                failure = failed.failure
            call = CallState(session_id, streamed=True, delivered=delivered)
            retries = await self._await_before_retry(retries, failure, call, on_retry)

    # ----------------------------------------------------------------- sessions
    def _session_reply(self, session_id: str) -> Callable[[bytes, int], dict[str, Any]]:
        return lambda raw, status: decode_json(raw, status, session_id, self._redact)

    def create_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """POST to the session endpoint. Safe to retry: creating a session is idempotent."""
        reply, _ = self._fetch(
            self.session_url,
            _session_body(session_id, variables),
            session_id=None,
            on_retry=None,
            decode=self._session_reply(session_id),
        )
        return reply

    async def acreate_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Async twin of `create_session`."""
        reply, _ = await self._afetch(
            self.session_url,
            _session_body(session_id, variables),
            session_id=None,
            on_retry=None,
            decode=self._session_reply(session_id),
        )
        return reply


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
