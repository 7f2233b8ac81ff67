"""Sending through a shared client's transport, skipping what `Client.send` adds per call.

A shared client sends straight through its transport (the one httpx would pick for the
model's server, proxies included): the parts of `Client.send` skipped are those a Pathors
call never uses (auth flows, redirects, event hooks, cookies) and cost about 20% of a
call's CPU. What a response needs from `Client.send` is kept: `.request`, a stream bound
to the response (so `.elapsed` is set when it closes), httpx's INFO log line, the body
read unless streaming. Used by `_connections` for the clients it shares.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import httpx

__all__ = ["AsyncView", "SyncView"]

# httpx's own logger: a response sent directly is logged as `Client.send` logs it.
_httpx_logger = logging.getLogger("httpx")

try:
    from httpx._client import BoundAsyncStream, BoundSyncStream
except ImportError:  # another httpx layout: plain `Client.send` (slower, same behaviour)
    BoundAsyncStream = BoundSyncStream = None  # type: ignore[assignment,misc]


def _log(request: httpx.Request, response: httpx.Response) -> None:
    if _httpx_logger.isEnabledFor(logging.INFO):
        _httpx_logger.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )


def _transport_of(client: httpx.Client | httpx.AsyncClient, url: httpx.URL) -> Any:
    """The transport `client` would use for `url`, or None to go through `client.send`."""
    if BoundSyncStream is None:
        return None
    pick = getattr(client, "_transport_for_url", None)
    return None if pick is None else pick(url)


class _RequestBuilder:
    """Builds the request `Client.build_request` would, without its per-call merging.

    The client's default headers come first; each of a model's own replaces the default
    of that name (any case) and goes after the others, as httpx merges them, so the
    request is the same, header order included. URLs are absolute, and the shared clients
    have no cookies, params or base URL to merge.
    """

    __slots__ = ("client", "defaults", "timeout", "timeout_extension")

    def __init__(self, client: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout) -> None:
        self.client = client
        self.timeout = timeout
        self.timeout_extension = timeout.as_dict()
        self.defaults = {
            name.decode("latin-1").lower(): (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in client.headers.raw
        }

    def build_request(
        self, method: str, url: httpx.URL, *, content: bytes, headers: dict[str, str]
    ) -> httpx.Request:
        if not url.is_absolute_url:
            return self.client.build_request(
                method, url, content=content, headers=headers, timeout=self.timeout
            )
        merged = self.defaults.copy()
        for name, value in headers.items():
            lower = name.lower()
            merged.pop(lower, None)
            merged[lower] = (name, value)
        return httpx.Request(
            method,
            url,
            content=content,
            headers=list(merged.values()),
            extensions={"timeout": self.timeout_extension},
        )


class SyncView(_RequestBuilder):
    """A shared `httpx.Client` that sends with one model's timeout."""

    __slots__ = ("transport",)
    client: httpx.Client

    def __init__(self, client: httpx.Client, timeout: httpx.Timeout, url: httpx.URL) -> None:
        super().__init__(client, timeout)
        self.transport = _transport_of(client, url)

    def send(
        self, request: httpx.Request, *, stream: bool, follow_redirects: bool
    ) -> httpx.Response:
        if self.transport is None or follow_redirects or self.client.is_closed:
            return self.client.send(request, stream=stream, follow_redirects=follow_redirects)
        start = time.perf_counter()
        try:
            response: httpx.Response = self.transport.handle_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        stream_ = cast(httpx.SyncByteStream, response.stream)
        response.stream = BoundSyncStream(stream_, response=response, start=start)
        _log(request, response)
        if not stream:
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        return response


class AsyncView(_RequestBuilder):
    """A shared `httpx.AsyncClient` that sends with one model's timeout."""

    __slots__ = ("transport",)
    client: httpx.AsyncClient

    def __init__(self, client: httpx.AsyncClient, timeout: httpx.Timeout, url: httpx.URL) -> None:
        super().__init__(client, timeout)
        self.transport = _transport_of(client, url)

    async def send(
        self, request: httpx.Request, *, stream: bool, follow_redirects: bool
    ) -> httpx.Response:
        if self.transport is None or follow_redirects or self.client.is_closed:
            return await self.client.send(request, stream=stream, follow_redirects=follow_redirects)
        start = time.perf_counter()
        try:
            response: httpx.Response = await self.transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        stream_ = cast(httpx.AsyncByteStream, response.stream)
        response.stream = BoundAsyncStream(stream_, response=response, start=start)
        _log(request, response)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response
