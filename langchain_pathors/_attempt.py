"""One attempt at a Pathors request: build it, send it once, and read what came back.

An attempt ends in a 2xx response with its body unread, or in `Failed`: a non-2xx
answer is read (its start only) and classified here, and nothing is re-sent. Whether to
try again is `_retry`'s call, carried out by `_retry_loop`; the loops live in `_client`.
The decoders and the stream reader for a 2xx body are built here too, so the caps and
the redaction of what the server says are set in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from langchain_pathors import _json
from langchain_pathors._connections import AsyncSender, SyncSender
from langchain_pathors._failures import SESSION_HEADER, FailureClassifier, unsendable
from langchain_pathors._redaction import Redactor
from langchain_pathors._responses import (
    ACCEPT_ENCODING,
    ERROR_BODY_BYTES,
    BodyDecoder,
    aread_body,
    decode_completion,
    decode_json,
    is_event_stream,
    read_body,
)
from langchain_pathors._retry import Failed
from langchain_pathors._stream_reader import StreamReader
from langchain_pathors._version import __version__
from langchain_pathors.errors import (
    PathorsAuthenticationError,
    PathorsError,
    PathorsResponseError,
)

__all__ = ["Attempts", "encode", "returned_session"]

# Turns a 2xx body and its status into the reply.
Decode = Callable[[bytes, int], dict[str, Any]]


@dataclass(frozen=True, eq=False, repr=False)  # no repr: it would show the key and headers
class Attempts:
    """Makes single attempts for one client: same headers, caps and redaction each time."""

    api_key: SecretStr | None
    default_headers: Mapping[str, str]
    redact: Redactor
    failures: FailureClassifier
    stream_idle_timeout: float | None
    max_response_bytes: int
    max_event_bytes: int

    # ----------------------------------------------------------------- requests
    def _headers(self, session_id: str | None, *, stream: bool) -> dict[str, str]:
        if self.api_key is None:
            msg = "no API key: pass api_key=... or set PATHORS_API_KEY"
            raise PathorsAuthenticationError(msg)
        headers = {
            "User-Agent": f"langchain-pathors/{__version__}",
            **self.default_headers,
            "Authorization": f"Bearer {self.api_key.get_secret_value()}",
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

    # ------------------------------------------------------------- one attempt
    def open(
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
            failure = self.failures.transport(exc, url)
        else:
            if response.is_success:
                return response
            try:
                decoder = _error_decoder(response)
                content = read_body(response, decoder)
                failure = self.failures.status(response, content, decoder.truncated, session_id)
            except (Failed, httpx.HTTPError):  # unreadable: the status still says enough
                failure = self.failures.status(response, b"", True, session_id)
            finally:
                response.close()
        raise Failed(failure)

    async def aopen(
        self,
        client: AsyncSender,
        url: httpx.URL,
        content: bytes,
        session_id: str | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        """Async twin of `open`."""
        request = self._request(client, url, content, session_id, stream=stream)
        try:
            response: httpx.Response = await client.send(
                request, stream=True, follow_redirects=False
            )
        except httpx.TransportError as exc:
            failure = self.failures.transport(exc, url)
        else:
            if response.is_success:
                return response
            try:
                decoder = _error_decoder(response)
                content = await aread_body(response, decoder)
                failure = self.failures.status(response, content, decoder.truncated, session_id)
            except (Failed, httpx.HTTPError):
                failure = self.failures.status(response, b"", True, session_id)
            finally:
                await response.aclose()
        raise Failed(failure)

    # ------------------------------------------------------------- 2xx bodies
    def read(self, response: httpx.Response, session_id: str | None) -> bytes:
        """The whole body of an opened response, within max_response_bytes; then close it."""
        try:
            return read_body(response, self._body_decoder(response, session_id))
        finally:
            response.close()

    async def aread(self, response: httpx.Response, session_id: str | None) -> bytes:
        """Async twin of `read`."""
        try:
            return await aread_body(response, self._body_decoder(response, session_id))
        finally:
            await response.aclose()

    def _body_decoder(self, response: httpx.Response, session_id: str | None) -> BodyDecoder:
        def error(message: str) -> PathorsError:
            return PathorsResponseError(
                message, status_code=response.status_code, session_id=session_id
            )

        return BodyDecoder(
            response.headers.get("content-encoding", ""),
            self.max_response_bytes,
            over_limit=lambda text: error(
                f"{text}; raise it with ChatPathors(max_response_bytes=...) if such large "
                "answers are expected"
            ),
            bad_body=error,
        )

    def completion(self, session_id: str | None) -> Decode:
        """Decodes a chat completion body (what the server says in it is redacted)."""
        return lambda raw, status: decode_completion(raw, status, session_id, self.redact)

    def session_reply(self, session_id: str) -> Decode:
        """Decodes the session endpoint's JSON answer."""
        return lambda raw, status: decode_json(raw, status, session_id, self.redact)

    def reader(self, response: httpx.Response, session_id: str | None) -> StreamReader:
        """The reader of an opened stream; refuses a 2xx answer that is not an event stream."""
        reader = StreamReader(
            session_id=session_id or returned_session(response),
            idle_timeout=self.stream_idle_timeout,
            redact=self.redact,
            content_encoding=response.headers.get("content-encoding", ""),
            max_response_bytes=self.max_response_bytes,
            max_event_bytes=self.max_event_bytes,
        )
        content_type = response.headers.get("content-type", "")
        if not is_event_stream(content_type):
            shown = content_type or "no content type"
            raise reader.failure(f"asked for a stream but Pathors answered with {shown!r}")
        return reader


def _error_decoder(response: httpx.Response) -> BodyDecoder:
    return BodyDecoder(
        response.headers.get("content-encoding", ""),
        ERROR_BODY_BYTES,
        over_limit=None,  # an error message needs only the start of the body
        bad_body=PathorsResponseError,
    )


def encode(body: dict[str, Any]) -> bytes:
    """The request body as JSON bytes; what cannot be encoded is a `PathorsError`."""
    try:
        return _json.dumps(body)
    except (TypeError, ValueError) as exc:
        msg = f"the request cannot be encoded as JSON: {exc}"
        raise PathorsError(msg) from None


def returned_session(response: httpx.Response) -> str | None:
    """The session id the server named in its response header, if any."""
    value: str | None = response.headers.get(SESSION_HEADER)
    return value
