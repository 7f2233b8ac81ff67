"""Reading response bodies with bounded memory, and decoding them into what the client needs.

A body is read raw and decompressed here, in pieces of at most 64 KiB, so that the size
cap counts bytes after decompression and a gzip bomb never sits in memory: httpx's own
decoding inflates each network read whole (1.8 KB of nested gzip became 1 GiB at once).
Error bodies are read only as far as a message needs (`ERROR_BODY_BYTES`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpx

from langchain_pathors import _deadline, _json
from langchain_pathors._messages import wire_problem
from langchain_pathors._retry import Failed, Failure, FailureKind
from langchain_pathors.errors import PathorsError, PathorsResponseError, PathorsTimeoutError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ERROR_BODY_BYTES",
    "BodyDecoder",
    "araw_chunks",
    "aread_body",
    "decode_completion",
    "decode_json",
    "error_message",
    "is_event_stream",
    "raw_chunks",
    "read_body",
]

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# An error message needs the server's `{"error": ...}` text, never hundreds of MB of it.
ERROR_BODY_BYTES = 64 * 1024
# The encodings this client can undo incrementally; it asks for these only.
ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 64 * 1024

ErrorFactory = Callable[[str], PathorsError]


class _Inflate:
    """One zlib stage (gzip or deflate) that never yields more than `_PIECE` bytes at once."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        # deflate is zlib-wrapped by the RFC but raw in practice: try wrapped first.
        wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(wbits)
        self._started = False
        self._head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started:
            if self._encoding == "deflate":
                # Two bytes tell a zlib header from raw deflate; they may arrive apart.
                data = self._head + data
                if len(data) < 2:
                    self._head = data
                    return
                self._head = b""
                if not _zlib_header(data):
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
        while data and not self._inflater.eof:
            out = self._inflater.decompress(data, _PIECE)
            data = self._inflater.unconsumed_tail
            if out:
                yield out
            elif not data:
                break
        if self._inflater.eof:
            return
        # Output held back by the piece limit comes out on empty input.
        while out := self._inflater.decompress(b"", _PIECE):
            yield out

    def flush(self) -> Iterator[bytes]:
        if self._head:  # a one-byte deflate body: not even a header
            raise zlib.error("truncated deflate data")
        rest = self._inflater.flush()
        if rest:
            yield rest


def _zlib_header(data: bytes) -> bool:
    """Whether data starts with a zlib header (RFC 1950: method 8, checksum of 31)."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0


class BodyDecoder:
    """Undo `Content-Encoding` incrementally and count the bytes against a cap.

    Args:
        content_encoding: The response's header value ("gzip", "gzip, gzip", "" ...).
        limit: Most bytes, after decompression, the body may have.
        over_limit: Builds the error for a body over `limit`; None truncates silently.
        bad_body: Builds the error for a body that cannot be decompressed.
    """

    def __init__(
        self,
        content_encoding: str,
        limit: int,
        *,
        over_limit: ErrorFactory | None,
        bad_body: ErrorFactory,
    ) -> None:
        self.limit = limit
        self.size = 0
        self.truncated = False
        self._over_limit = over_limit
        self._bad_body = bad_body
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        unknown = [n for n in names if n not in ("gzip", "deflate", "x-gzip")]
        if unknown:
            msg = f"Pathors answered with an unsupported Content-Encoding {', '.join(unknown)!r}"
            raise Failed(Failure(FailureKind.BAD_ANSWER, bad_body(msg)))
        # Encodings are listed in the order applied, so they are undone last to first.
        self._stages = [_Inflate("gzip" if n == "x-gzip" else n) for n in reversed(names)]

    def feed(self, raw: bytes) -> list[bytes]:
        """Decoded pieces of a raw chunk; raises `Failed` past the cap or on a bad body."""
        return self._count(self._run(raw, 0))

    def finish(self) -> list[bytes]:
        """The end of the body: whatever the decompressors still hold."""
        pieces: list[bytes] = []
        for index, stage in enumerate(self._stages):
            try:
                for rest in stage.flush():
                    pieces.extend(self._run(rest, index + 1))
            except zlib.error:
                raise self._undecodable() from None
        return self._count(pieces)

    def _run(self, data: bytes, stage: int) -> list[bytes]:
        if stage == len(self._stages):
            return [data] if data else []
        pieces: list[bytes] = []
        room = self.limit - self.size
        try:
            for out in self._stages[stage].feed(data):
                for piece in self._run(out, stage + 1):
                    pieces.append(piece)
                    room -= len(piece)
                if room < 0:
                    break  # stop inflating: the caller raises or truncates
        except zlib.error:
            raise self._undecodable() from None
        return pieces

    def _count(self, pieces: list[bytes]) -> list[bytes]:
        if self.truncated:
            return []
        for index, piece in enumerate(pieces):
            if self.size + len(piece) > self.limit:
                if self._over_limit is not None:
                    raise Failed(Failure(FailureKind.TOO_LARGE, self._over_limit(self.limit_text)))
                self.truncated = True
                kept = [*pieces[:index], piece[: self.limit - self.size]]
                self.size = self.limit
                return kept
            self.size += len(piece)
        return pieces

    @property
    def limit_text(self) -> str:
        """The sentence for a body over the cap."""
        return f"the answer is larger than max_response_bytes ({self.limit:,} bytes)"

    def _undecodable(self) -> Failed:
        msg = "Pathors answered with a body that cannot be decompressed (invalid gzip or deflate)"
        return Failed(Failure(FailureKind.BAD_ANSWER, self._bad_body(msg)))


def raw_chunks(response: httpx.Response) -> Iterable[bytes]:
    """The body as it came off the wire, still compressed."""
    # A response built in memory (a mock transport) has its body loaded already.
    return [response.content] if response.is_stream_consumed else response.iter_raw()


async def araw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """Async twin of `raw_chunks`."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for raw in response.aiter_raw():
        yield raw


def _past_deadline(response: httpx.Response) -> Failed:
    # Reached only with injected clients, whose sockets do not see the deadline.
    error = PathorsTimeoutError(
        "the answer took longer than total_timeout to arrive", status_code=response.status_code
    )
    return Failed(Failure(FailureKind.TIMED_OUT, error))


def read_body(response: httpx.Response, decoder: BodyDecoder) -> bytes:
    """The decoded body, read chunk by chunk within the cap and the current deadline."""
    pieces: list[bytes] = []
    for raw in raw_chunks(response):
        pieces.extend(decoder.feed(raw))
        if decoder.truncated:
            return b"".join(pieces)
        if _deadline.expired():
            raise _past_deadline(response)
    pieces.extend(decoder.finish())
    return b"".join(pieces)


async def aread_body(response: httpx.Response, decoder: BodyDecoder) -> bytes:
    """Async twin of `read_body`."""
    pieces: list[bytes] = []
    async for raw in araw_chunks(response):
        pieces.extend(decoder.feed(raw))
        if decoder.truncated:
            return b"".join(pieces)
        if _deadline.expired():
            raise _past_deadline(response)
    pieces.extend(decoder.finish())
    return b"".join(pieces)


def decode_json(
    content: bytes, status_code: int, session_id: str | None, redact: Callable[[str], str]
) -> dict[str, Any]:
    """A JSON object body, or a `PathorsResponseError` that quotes (redacted) its start."""
    try:
        body = _json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        snippet = redact(content[:200].decode("utf-8", errors="replace"))
        msg = f"Pathors answered {status_code} with a body that is not JSON: {snippet!r}"
        raise Failed(
            Failure(
                FailureKind.BAD_ANSWER,
                PathorsResponseError(msg, status_code=status_code, session_id=session_id),
            )
        ) from None
    if not isinstance(body, dict):
        msg = f"Pathors answered with JSON that is not an object: {type(body).__name__}"
        error = PathorsResponseError(msg, status_code=status_code, session_id=session_id)
        raise Failed(Failure(FailureKind.BAD_ANSWER, error))
    return body


def decode_completion(
    content: bytes, status_code: int, session_id: str | None, redact: Callable[[str], str]
) -> dict[str, Any]:
    """The JSON body of a chat completion, with the types the conversion relies on."""
    body = decode_json(content, status_code, session_id, redact)
    problem = wire_problem(body, stream=False)
    if problem is not None:
        msg = f"Pathors answered with a malformed chat completion ({problem})"
        error = PathorsResponseError(msg, status_code=status_code, session_id=session_id)
        raise Failed(Failure(FailureKind.BAD_ANSWER, error))
    return body


def error_message(content: bytes, truncated: bool, response: httpx.Response) -> str:
    """The server's `{"error": ...}` text, else a short description of the body."""
    try:
        body = None if truncated else json.loads(content)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        if isinstance(error, dict):
            error = error.get("message") or json.dumps(error)
        return str(error)[:ERROR_BODY_BYTES]
    text = content[:200].decode("utf-8", errors="replace").strip()
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def is_event_stream(content_type: str) -> bool:
    """Whether a Content-Type is `text/event-stream` (media types are case-insensitive)."""
    return content_type.partition(";")[0].strip().lower() == "text/event-stream"
