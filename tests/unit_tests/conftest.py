"""A scripted Pathors double on `httpx.MockTransport`: no sockets, every request recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from langchain_pathors import ChatPathors

API_KEY = "sk-test-canary-9f8e7d"
PROJECT = "proj-1"


def completion(
    content: str = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    session_id: str = "sess-server",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A chat.completion body in the documented shape."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1677858242,
        "model": "pathway-default",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": -1, "completion_tokens": -1, "total_tokens": -1},
        "session_id": session_id,
    }


def chunk(
    delta: dict[str, Any], finish_reason: str | None = None, session_id: str = "sess-server"
) -> dict[str, Any]:
    """A chat.completion.chunk body."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1677858242,
        "model": "pathway-default",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        "session_id": session_id,
    }


def sse(*events: dict[str, Any] | str) -> bytes:
    """Encode events (dicts as JSON, strings as raw data) as an SSE body."""
    return b"".join(
        f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events
    )


def text_stream(words: list[str], *, done: bool = True) -> bytes:
    """An SSE body streaming `words`, then finish_reason stop and optionally [DONE]."""
    events: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": w}) for w in words]
    events.append(chunk({}, "stop"))
    if done:
        events.append("[DONE]")
    return sse(*events)


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class ChunkedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in pieces, optionally failing with `error` after them."""

    def __init__(self, pieces: list[bytes], error: Exception | None = None) -> None:
        self.pieces = pieces
        self.error = error
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def stream_response(
    body: bytes | list[bytes],
    *,
    error: Exception | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "text/event-stream",
) -> httpx.Response:
    """A streamed response whose body arrives in the given pieces."""
    pieces = [body] if isinstance(body, bytes) else body
    return httpx.Response(
        200,
        headers={"content-type": content_type, **(headers or {})},
        stream=ChunkedBody(pieces, error),
    )


@dataclass
class FakePathors:
    """Answers requests from a script; the default answers like the documented API.

    `chat` and `session` hold replies consumed in order (the last one repeats).
    """

    chat: list[Reply] = field(default_factory=list)
    session: list[Reply] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def _next(self, script: list[Reply], request: httpx.Request) -> httpx.Response:
        reply = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        body = json.loads(request.content) if request.content else {}
        if request.url.path.endswith("/session"):
            if self.session:
                return self._next(self.session, request)
            return httpx.Response(
                200, json={"sessionId": body.get("session_id"), "pathwayId": "pathway-1"}
            )
        if self.chat:
            return self._next(self.chat, request)
        session = request.headers.get("x-session-id") or "sess-server"
        if body.get("stream"):
            return stream_response(text_stream(["Hello", " there"]), headers=_sid(session))
        return httpx.Response(200, headers=_sid(session), json=completion(session_id=session))

    def chat_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/chat/completions")]

    def session_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/session")]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.chat_requests()]

    def model(self, **kwargs: Any) -> ChatPathors:
        """A ChatPathors whose sync and async clients talk to this fake."""
        transport = httpx.MockTransport(self.handler)
        params: dict[str, Any] = {
            "project_id": PROJECT,
            "api_key": API_KEY,
            "base_url": "https://pathors.test",
            "http_client": httpx.Client(transport=transport),
            "http_async_client": httpx.AsyncClient(transport=transport),
        }
        params.update(kwargs)
        return ChatPathors(**params)


def _sid(session_id: str) -> dict[str, str]:
    return {"X-Session-ID": session_id}


@pytest.fixture
def fake() -> FakePathors:
    return FakePathors()
