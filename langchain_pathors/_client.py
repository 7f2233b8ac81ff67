"""The HTTP client for the Pathors integration API (sync and async). Knows nothing of LangChain.

Instances that are not given a client send through the process-wide pools of
`_connections` (one per server and settings, and per event loop for async). Injected
clients are used as they are, and every request still carries its own auth header.
Redirects are never followed: a POST re-sent to another host would carry the key and the
session id with it.

This module holds the calls' loops: send, read, and retry until done. The rest is
elsewhere: `_attempt` builds, sends and classifies one attempt, `_retry` alone decides
whether to send again and `_retry_loop` carries that out (hook, log, sleep),
`_connections` owns the shared pools, `_drain` gives a finished stream's connection back,
`_failures` classifies what went wrong, `_responses` reads bodies raw within their caps,
`_stream_reader` turns a streamed body into chunks, and `_deadline` bounds each attempt
in time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from langchain_pathors import _deadline
from langchain_pathors._attempt import Attempts, Decode, encode, returned_session
from langchain_pathors._connections import (
    DEFAULT_LIMITS,
    AsyncSender,
    SharedConnections,
    SyncSender,
)
from langchain_pathors._drain import arelease_stream, release_stream
from langchain_pathors._failures import FailureClassifier, unreadable
from langchain_pathors._redaction import Redactor, secrets_of
from langchain_pathors._responses import DEFAULT_MAX_RESPONSE_BYTES, araw_chunks, raw_chunks
from langchain_pathors._retry import CallState, Failed, RetryPolicy
from langchain_pathors._retry_loop import OnRetry, Retries, RetryEvent
from langchain_pathors._sessions import validate_project_id
from langchain_pathors._stream_reader import DEFAULT_MAX_EVENT_BYTES

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "ChatReply",
    "ClientConfig",
    "OnRetry",
    "PathorsClient",
    "RetryEvent",
    "StreamChunk",
]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# One attempt of a non-streamed call, from sending to its last byte (and a stream's wait
# for its headers): httpx's timeouts are per read, so a server trickling bytes never trips them.
DEFAULT_TOTAL_TIMEOUT = 180.0


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
        redact = Redactor(secrets_of(key, config.default_headers))
        self._attempts = Attempts(
            api_key=config.api_key,
            default_headers=config.default_headers,
            redact=redact,
            failures=FailureClassifier(redact, config.total_timeout),
            stream_idle_timeout=config.stream_idle_timeout,
            max_response_bytes=config.max_response_bytes,
            max_event_bytes=config.max_event_bytes,
        )

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

    # ------------------------------------------------------- one call, retried
    def _fetch(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        session_id: str | None,
        on_retry: OnRetry | None,
        decode: Decode,
    ) -> tuple[dict[str, Any], httpx.Response]:
        """A non-streamed call: send and read within total_timeout, retried per the policy."""
        client = self._sync_client()
        content = encode(body)
        call = CallState(session_id)
        retries = Retries(self.config.retry, on_retry)
        while True:
            with _deadline.deadline(self.config.total_timeout):
                try:
                    response = self._attempts.open(client, url, content, session_id, stream=False)
                    raw = self._attempts.read(response, session_id)
                    return decode(raw, response.status_code), response
                except Failed as failed:
                    failure = failed.failure
                except httpx.TransportError as exc:
                    failure = self._attempts.failures.transport(exc, url)
                except httpx.HTTPError as exc:
                    failure = unreadable(exc)
            retries.wait(failure, call)

    async def _afetch(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        session_id: str | None,
        on_retry: OnRetry | None,
        decode: Decode,
    ) -> tuple[dict[str, Any], httpx.Response]:
        """Async twin of `_fetch`."""
        client = self._async_client()
        await self._arm_closer()
        content = encode(body)
        call = CallState(session_id)
        retries = Retries(self.config.retry, on_retry)
        while True:
            with _deadline.deadline(self.config.total_timeout):
                try:
                    response = await self._attempts.aopen(
                        client, url, content, session_id, stream=False
                    )
                    raw = await self._attempts.aread(response, session_id)
                    return decode(raw, response.status_code), response
                except Failed as failed:
                    failure = failed.failure
                except httpx.TransportError as exc:
                    failure = self._attempts.failures.transport(exc, url)
                except httpx.HTTPError as exc:
                    failure = unreadable(exc)
            await retries.await_(failure, call)

    # ----------------------------------------------------------------- chat
    def chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """POST a non-streaming chat completion."""
        decode = self._attempts.completion(session_id)
        reply, response = self._fetch(self.chat_url, body, session_id, on_retry, decode)
        return ChatReply(reply, returned_session(response))

    async def achat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> ChatReply:
        """Async twin of `chat`."""
        decode = self._attempts.completion(session_id)
        reply, response = await self._afetch(self.chat_url, body, session_id, on_retry, decode)
        return ChatReply(reply, returned_session(response))

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
        content = encode(body)
        retries = Retries(self.config.retry, on_retry)
        while True:
            delivered = False
            try:
                with _deadline.deadline(self.config.total_timeout):
                    response = self._attempts.open(
                        client, self.chat_url, content, session_id, stream=True
                    )
                try:
                    header_session = returned_session(response)
                    reader = self._attempts.reader(response, session_id)
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
                        failure = self._attempts.failures.stream_transport(reader, exc)
                    except httpx.HTTPError as exc:
                        failure = unreadable(exc)
                finally:
                    response.close()
            except Failed as failed:
                failure = failed.failure
            call = CallState(session_id, streamed=True, delivered=delivered)
            retries.wait(failure, call)

    async def astream_chat(
        self, body: dict[str, Any], *, session_id: str | None, on_retry: OnRetry | None = None
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of `stream_chat`."""
        client = self._async_client()
        await self._arm_closer()
        content = encode(body)
        retries = Retries(self.config.retry, on_retry)
        while True:
            delivered = False
            try:
                with _deadline.deadline(self.config.total_timeout):
                    response = await self._attempts.aopen(
                        client, self.chat_url, content, session_id, stream=True
                    )
                try:
                    header_session = returned_session(response)
                    reader = self._attempts.reader(response, session_id)
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
                        failure = self._attempts.failures.stream_transport(reader, exc)
                    except httpx.HTTPError as exc:
                        failure = unreadable(exc)
                finally:
                    await response.aclose()
            except Failed as failed:
                failure = failed.failure
            call = CallState(session_id, streamed=True, delivered=delivered)
            await retries.await_(failure, call)

    # ----------------------------------------------------------------- sessions
    def create_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """POST to the session endpoint. Safe to retry: creating a session is idempotent."""
        body = _session_body(session_id, variables)
        decode = self._attempts.session_reply(session_id)
        reply, _ = self._fetch(self.session_url, body, None, None, decode)
        return reply

    async def acreate_session(
        self, session_id: str, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Async twin of `create_session`."""
        body = _session_body(session_id, variables)
        decode = self._attempts.session_reply(session_id)
        reply, _ = await self._afetch(self.session_url, body, None, None, decode)
        return reply


def _session_body(session_id: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"session_id": session_id}
    if variables is not None:
        body["variables"] = dict(variables)
    return body
