"""End-to-end properties of the stream path: whatever bytes arrive, `ChatPathors.stream`
gives the right answer or raises a `PathorsError` subclass, never another exception.

The decoder's own unit tests live in tests/unit_tests/test_sse.py; here the bytes go
through everything a user's call does (HTTP, SSE decoding, the stream reader, chunk
conversion, LangChain's stream wrapper), over a real socket and over `MockTransport`
(where chunk boundaries are exact).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_pathors import ChatPathors, PathorsError

from ._raw_server import RawServer, http_reply
from .conftest import API_KEY, PROJECT

SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
# More examples on demand: PATHORS_PROPERTY_EXAMPLES=5000 make reliability_tests
MOCK_EXAMPLES = int(os.environ.get("PATHORS_PROPERTY_EXAMPLES", "200"))
SOCKET_EXAMPLES = max(1, MOCK_EXAMPLES * 3 // 10)
SSE_HEADERS = {"Content-Type": "text/event-stream"}


# ----------------------------------------------------------------------------- transports
class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


class Scripted:
    """One body to send, in pieces, over a real socket or MockTransport."""

    def __init__(self, server: RawServer) -> None:
        self.server = server
        self.pieces: list[bytes] = []
        self.content_type = "text/event-stream"
        server.script = lambda request: http_reply(
            200, {"Content-Type": self.content_type}, list(self.pieces)
        )
        transport = httpx.MockTransport(
            lambda request: httpx.Response(
                200, headers={"Content-Type": self.content_type}, stream=Pieces(self.pieces)
            )
        )
        common: dict[str, Any] = {"project_id": PROJECT, "api_key": API_KEY, "max_retries": 0}
        self.socket_model = ChatPathors(base_url=server.base_url, **common)
        self.mock_model = ChatPathors(
            base_url="https://mock.invalid",  # never dialled: the mock transport answers
            http_client=httpx.Client(transport=transport),
            http_async_client=httpx.AsyncClient(transport=transport),
            **common,
        )

    def model(self, via: str) -> ChatPathors:
        return self.socket_model if via == "socket" else self.mock_model


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    with RawServer() as server:
        server.piece_pause = 0.002  # separate TCP reads for separate pieces, mostly
        scripted = Scripted(server)
        yield scripted
        scripted.socket_model.close()
        assert scripted.mock_model.http_client is not None
        scripted.mock_model.http_client.close()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (any order, duplicates allowed)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a] or [b""]


def run_stream(model: ChatPathors) -> tuple[str, list[Any]] | PathorsError:
    """Stream, returning the text and chunks, or the PathorsError; anything else fails."""
    chunks: list[Any] = []
    try:
        for chunk in model.stream("Hi"):
            chunks.append(chunk)
    except PathorsError as exc:
        return exc
    return "".join(str(c.content) for c in chunks), chunks


# ----------------------------------------------------------------------------- valid streams
EOLS = [b"\n", b"\r", b"\r\n"]


@st.composite
def encoded_streams(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid chat stream in any legal SSE encoding, and the text it carries.

    One line ending per stream: a CR line end followed by an LF blank line would read as
    a single CRLF, so mixing them is not an encoding of the same events.
    """
    eol = draw(st.sampled_from(EOLS))
    words = draw(st.lists(st.text(max_size=12), max_size=6))
    events: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    ]
    events += [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    out = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    done = draw(st.booleans())
    for number, event in enumerate(events):
        if draw(st.booleans()):
            out += b": keep-alive" + eol
        # Multi-line data: JSON with newlines between tokens, one `data:` line each.
        indent = draw(st.sampled_from([None, 1]))
        text = json.dumps(event, ensure_ascii=draw(st.booleans()), indent=indent)
        for line in text.split("\n"):
            sep = draw(st.sampled_from([b"data: ", b"data:"]))
            out += sep + line.encode() + eol
        last = number == len(events) - 1 and not done
        if not (last and draw(st.booleans())):  # the final event may lack its blank line
            out += eol
    if done:
        out += b"data: [DONE]" + eol * draw(st.integers(min_value=0, max_value=2))
    return out, "".join(words)


@pytest.mark.parametrize("via", ["socket", "mock"])
def test_any_legal_encoding_and_chunking_gives_the_same_answer(
    scripted: Scripted, via: str
) -> None:
    examples = SOCKET_EXAMPLES if via == "socket" else MOCK_EXAMPLES

    @settings(SETTINGS, max_examples=examples)
    @given(stream=encoded_streams(), cuts=st.lists(st.integers(min_value=0), max_size=8))
    def check(stream: tuple[bytes, str], cuts: list[int]) -> None:
        body, expected = stream
        scripted.pieces = split(body, cuts)
        outcome = run_stream(scripted.model(via))
        assert not isinstance(outcome, PathorsError), (outcome, body)
        text, chunks = outcome
        assert text == expected
        assert chunks[-1].response_metadata.get("finish_reason") == "stop"

    check()


def fixed_stream(eol: bytes) -> bytes:
    """A stream with every feature at once: BOM, comments, multi-line data, UTF-8
    characters, an ignored unknown event, a final event without its blank line."""
    role = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    lines = [b"\xef\xbb\xbf: opening comment", b""]
    lines += [b"data: " + json.dumps(role).encode(), b""]
    for word in ["Grüße ", "from ", "🙂 ", "Pathors"]:
        event = {"choices": [{"index": 0, "delta": {"content": word}}]}
        multi = json.dumps(event, ensure_ascii=False, indent=1).encode().split(b"\n")
        lines += [b": keep-alive", *[b"data:" + part for part in multi], b""]
    lines += [b"event: metrics", b'data: {"ignored": true}', b""]
    final = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    lines += [b"id: 7", b"data: " + json.dumps(final).encode()]  # no blank line after
    return eol.join(lines)


def answer(model: ChatPathors) -> list[tuple[str, str | None]]:
    outcome = run_stream(model)
    assert not isinstance(outcome, PathorsError), outcome
    return [(str(c.content), c.response_metadata.get("finish_reason")) for c in outcome[1]]


@pytest.mark.parametrize("eol", EOLS, ids=["LF", "CR", "CRLF"])
def test_every_chunk_boundary_gives_the_same_answer(scripted: Scripted, eol: bytes) -> None:
    """End to end, with exact boundaries (MockTransport): one cut at every offset, and
    one byte per read. Every line ending gives the same chunks as the whole body."""
    body = fixed_stream(eol)
    scripted.pieces = [body]
    expected = answer(scripted.mock_model)
    assert "".join(text for text, _ in expected) == "Grüße from 🙂 Pathors"
    assert expected[-1][1] == "stop"
    assert expected == answer(scripted.mock_model)  # deterministic
    scripted.pieces = [body[i : i + 1] for i in range(len(body))]
    assert answer(scripted.mock_model) == expected
    for cut in range(1, len(body)):
        scripted.pieces = [body[:cut], body[cut:]]
        assert answer(scripted.mock_model) == expected, cut
    scripted.pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    assert answer(scripted.socket_model) == expected  # and over a real socket


# ----------------------------------------------------------------------------- garbage
@st.composite
def garbled_streams(draw: st.DrawFn) -> bytes:
    """A valid stream with random bytes flipped, inserted or deleted."""
    body = bytearray(draw(encoded_streams())[0])
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw(st.integers(min_value=0, max_value=max(0, len(body) - 1)))
        byte = draw(st.integers(min_value=0, max_value=255))
        if op == "insert" or not body:
            body.insert(at, byte)
        elif op == "flip":
            body[at] = byte
        else:
            del body[at]
    return bytes(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["content", "role", "tool_calls", "index", "id", "function", "name", "arguments", "type"]
)


@st.composite
def odd_chunk(draw: st.DrawFn) -> Any:
    """A chunk that is JSON but may have any shape: wrong types, odd tool-call deltas."""
    tool_call = st.dictionaries(FIELDS, JSON | st.dictionaries(FIELDS, JSON), max_size=5)
    delta = st.dictionaries(FIELDS, JSON | st.lists(tool_call, max_size=3), max_size=4)
    choice = st.fixed_dictionaries(
        {},
        optional={
            "index": JSON,
            "delta": delta | JSON,
            "finish_reason": st.none() | st.sampled_from(["stop", "tool_calls"]) | JSON,
        },
    )
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "choices": st.lists(choice, max_size=2) | JSON,
            "session_id": JSON,
            "id": JSON,
            "model": JSON,
            "usage": JSON,
            "error": st.none() | JSON,
        },
    )
    return draw(shaped | JSON)


@st.composite
def odd_json_streams(draw: st.DrawFn) -> bytes:
    events = draw(st.lists(odd_chunk(), max_size=6))
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    if draw(st.booleans()):
        body += b"data: [DONE]\n\n"
    return body


BODIES = {
    "random-bytes": st.binary(max_size=600),
    "garbled-stream": garbled_streams(),
    "odd-json-chunks": odd_json_streams(),
}


@pytest.mark.parametrize("via", ["socket", "mock"])
@pytest.mark.parametrize("kind", list(BODIES))
def test_any_body_gives_an_answer_or_a_pathors_error(
    scripted: Scripted, via: str, kind: str
) -> None:
    examples = SOCKET_EXAMPLES if via == "socket" else MOCK_EXAMPLES

    @settings(SETTINGS, max_examples=examples)
    @given(body=BODIES[kind], cuts=st.lists(st.integers(min_value=0), max_size=6))
    def check(body: bytes, cuts: list[int]) -> None:
        scripted.pieces = split(body, cuts)
        run_stream(scripted.model(via))  # raises only if the error is not a PathorsError

    check()


@pytest.mark.parametrize("via", ["socket", "mock"])
async def test_async_stream_of_garbage_raises_only_pathors_errors(
    scripted: Scripted, via: str
) -> None:
    model = scripted.model(via)
    samples = [
        b"\x00\xff\xfe garbage",
        b"data: {not json}\n\n",
        b"data: [1, 2]\n\n",
        b'data: {"choices": 7}\n\ndata: {"choices": [{"delta": 5}]}\n\n',
        b'data: {"choices": [{"delta": {"tool_calls": [{"index": "x"}]}}]}\n\n',
        b"\xef\xbb",
        b"",
    ]
    for body in samples:
        scripted.pieces = [body[: len(body) // 2], body[len(body) // 2 :]]
        try:
            async for _ in model.astream("Hi"):
                pass
        except PathorsError:
            continue
    await model.aclose()


# ----------------------------------------------------------------------------- non-stream
@pytest.mark.parametrize("via", ["socket", "mock"])
def test_any_json_answer_to_invoke_gives_a_message_or_a_pathors_error(
    scripted: Scripted, via: str
) -> None:
    examples = SOCKET_EXAMPLES if via == "socket" else MOCK_EXAMPLES
    choice = st.fixed_dictionaries(
        {},
        optional={
            "index": JSON,
            "message": st.dictionaries(FIELDS, JSON | st.lists(JSON, max_size=3)) | JSON,
            "finish_reason": JSON,
        },
    )
    body = st.fixed_dictionaries(
        {},
        optional={
            "choices": st.lists(choice, max_size=2) | JSON,
            "session_id": JSON,
            "usage": JSON,
            "id": JSON,
            "model": JSON,
        },
    )

    @settings(SETTINGS, max_examples=examples)
    @given(payload=body | JSON | st.binary(max_size=100))
    def check(payload: Any) -> None:
        scripted.content_type = "application/json"
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        scripted.pieces = [raw]
        with contextlib.suppress(PathorsError):
            scripted.model(via).invoke("Hi")

    try:
        check()
    finally:
        scripted.content_type = "text/event-stream"


def test_absurdly_nested_tool_call_arguments_are_an_invalid_tool_call(scripted: Scripted) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[" * 100_000}}
    body = {
        "id": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "", "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    scripted.content_type = "application/json"
    scripted.pieces = [json.dumps(body).encode()]
    try:
        message = scripted.model("mock").invoke("Hi")
    finally:
        scripted.content_type = "text/event-stream"
    assert message.invalid_tool_calls  # type: ignore[attr-defined]
