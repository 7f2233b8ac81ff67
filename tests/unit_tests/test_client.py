"""The client's calls through ChatPathors: URLs, which HTTP client is used, and streams.

A stream is retried until a chunk reaches the caller, then read to its end, its partial
text kept when it fails. One attempt's request and answer: `test_attempt.py`; what is
done on each retry: `test_retry_loop.py`.
"""

from __future__ import annotations

import httpx
import pytest

from langchain_pathors import (
    ChatPathors,
    PathorsBadRequestError,
    PathorsOutcomeUnknownError,
    PathorsResponseError,
    PathorsStreamError,
    PathorsTimeoutError,
)
from tests.unit_tests.conftest import (
    API_KEY,
    ChunkedBody,
    FakePathors,
    chunk,
    sse,
    stream_response,
    text_stream,
)


def httpx_errors_in_chain(error: BaseException) -> list[BaseException]:
    """httpx exceptions reachable from `error` through causes and contexts."""
    found: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, httpx.HTTPError) or type(item).__module__.startswith("httpcore"):
            found.append(item)
        todo += [item.__cause__, item.__context__]
    return found


# ----------------------------------------------------------- urls and clients
@pytest.mark.parametrize(
    ("project_id", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("x?admin=1", "x%3Fadmin%3D1"),
        ("p#frag", "p%23frag"),
        ("%2e%2e", "%252e%252e"),
        ("../other", "..%2Fother"),
    ],
)
def test_project_id_stays_one_path_segment(
    fake: FakePathors, project_id: str, segment: str
) -> None:
    fake.model(project_id=project_id).invoke("Hi")
    (request,) = fake.requests
    raw_path = request.url.raw_path.decode()
    assert raw_path == f"/api/project/{segment}/integration/api/chat/completions"
    assert request.url.query == b""


@pytest.mark.parametrize("project_id", ["..", ".", "", "a\nb"])
def test_project_id_that_cannot_be_a_segment_is_refused(project_id: str) -> None:
    with pytest.raises(ValueError, match="project_id"):
        ChatPathors(project_id=project_id, api_key="k")


def test_injected_client_without_auth_still_authenticates(fake: FakePathors) -> None:
    # The injected client has no headers of its own: each request brings the key.
    client = httpx.Client(transport=httpx.MockTransport(fake.handler))
    llm = ChatPathors(project_id="p", api_key=API_KEY, http_client=client)
    llm.invoke("Hi")
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_injected_async_client_still_authenticates(fake: FakePathors) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    llm = ChatPathors(project_id="p", api_key=API_KEY, http_async_client=client)
    await llm.ainvoke("Hi")
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


# -------------------------------------------------------------------- streams
def test_stream_is_not_retried_after_first_event(fake: FakePathors, sleeps: list[float]) -> None:
    body = sse({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]})
    fake.chat = [stream_response(body, error=httpx.RemoteProtocolError("peer closed"))]
    received: list[str] = []
    with pytest.raises(PathorsStreamError) as info:
        for piece in fake.model().stream("Hi"):
            received.append(str(piece.content))
    assert "".join(received) == "Hel"
    assert info.value.partial_text == "Hel"
    assert len(fake.requests) == 1


def test_stream_cut_before_any_chunk_is_retried_without_a_session(
    fake: FakePathors, sleeps: list[float]
) -> None:
    # Regression: a cut before the first chunk raised at once, although nothing had been
    # delivered and a call with no session is safe to re-send.
    cut = stream_response([b": keep-alive\n\n"], error=httpx.RemoteProtocolError("cut"))
    fake.chat = [cut, stream_response(text_stream(["ok"]))]
    assert "".join(str(c.content) for c in fake.model().stream("Hi")) == "ok"
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


async def test_stream_read_timeout_before_any_chunk_is_retried_async(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [
        stream_response([], error=httpx.ReadTimeout("slow")),
        stream_response(text_stream(["ok"])),
    ]
    pieces = [str(c.content) async for c in fake.model().astream("Hi")]
    assert "".join(pieces) == "ok"
    assert len(fake.requests) == 2


def test_stream_cut_before_any_chunk_in_a_session_is_not_resent(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [
        stream_response([], error=httpx.RemoteProtocolError("cut")),
        stream_response(text_stream(["ok"])),
    ]
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        list(fake.model().stream("Hi", session_id="s-cut"))
    assert info.value.session_id == "s-cut"
    # The cause is the package's own error: httpx's would hold the request and its key.
    assert isinstance(info.value.cause, PathorsStreamError)
    assert "RemoteProtocolError: cut" in str(info.value.cause)
    assert not httpx_errors_in_chain(info.value)
    assert len(fake.requests) == 1
    assert sleeps == []


def test_stream_cut_retries_share_max_retries_with_status_retries(
    fake: FakePathors, sleeps: list[float]
) -> None:
    def cut() -> httpx.Response:
        return stream_response([], error=httpx.RemoteProtocolError("cut"))

    fake.chat = [httpx.Response(503, json={"error": "busy"}), cut(), cut()]
    with pytest.raises(PathorsStreamError, match="RemoteProtocolError: cut") as info:
        list(fake.model(max_retries=2).stream("Hi"))
    assert not httpx_errors_in_chain(info.value)
    assert len(fake.requests) == 3  # one attempt and max_retries=2 retries, in all
    assert len(sleeps) == 2


def test_stream_timeout_midway_keeps_partial_text(fake: FakePathors, sleeps: list[float]) -> None:
    # Regression: a stream that timed out after some chunks raised a PathorsTimeoutError
    # without the text received so far (PathorsStreamError and the pinned error had it).
    body = sse({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]})
    fake.chat = [stream_response(body, error=httpx.ReadTimeout("slow"))]
    received: list[str] = []
    with pytest.raises(PathorsTimeoutError) as info:
        for piece in fake.model().stream("Hi"):
            received.append(str(piece.content))
    assert "".join(received) == "Hel"
    assert info.value.partial_text == "Hel"
    assert len(fake.requests) == 1


def test_cut_stream_in_a_session_is_outcome_unknown_with_partial_text(fake: FakePathors) -> None:
    body = sse({"choices": [{"index": 0, "delta": {"content": "Half an"}, "finish_reason": None}]})
    fake.chat = [stream_response(body)]
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        list(fake.model().stream("Hi", session_id="s-3"))
    assert info.value.partial_text == "Half an"
    assert info.value.session_id == "s-3"


def test_stream_status_error_is_retried_before_any_event(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [httpx.Response(503, json={"error": "busy"}), stream_response(text_stream(["ok"]))]
    assert "".join(str(c.content) for c in fake.model().stream("Hi")) == "ok"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("body", [b"data: [DONE]\n\n", b": hi\n\ndata:[DONE]"])
def test_done_before_any_chunk_is_a_stream_error(fake: FakePathors, body: bytes) -> None:
    # Regression: a stream of only [DONE] counted as complete, and LangChain then raised
    # a bare ValueError ("No generation chunks were returned"), not a PathorsError.
    fake.chat = [stream_response(body)]
    with pytest.raises(PathorsStreamError, match="before any answer chunk"):
        list(fake.model().stream("Hi"))
    fake.chat = [stream_response(body)]
    with pytest.raises(PathorsOutcomeUnknownError, match="before any answer chunk"):
        list(fake.model().stream("Hi", session_id="s-done"))


DEEP = b"[" * 100_000  # json.loads raises RecursionError, not ValueError, on this


@pytest.mark.parametrize(
    "body", [b"data: " + DEEP + b"\n\n", b"event: error\ndata: " + DEEP + b"\n\n"]
)
def test_absurdly_nested_stream_event_is_a_stream_error(fake: FakePathors, body: bytes) -> None:
    # Regression: the RecursionError of json.loads escaped as itself.
    fake.chat = [stream_response(body)]
    with pytest.raises(PathorsStreamError):
        list(fake.model().stream("Hi"))


@pytest.mark.parametrize(
    ("status", "error_type"), [(200, PathorsResponseError), (400, PathorsBadRequestError)]
)
def test_absurdly_nested_json_body_is_a_typed_error(
    fake: FakePathors, status: int, error_type: type[Exception]
) -> None:
    fake.chat = [httpx.Response(status, content=DEEP)]
    with pytest.raises(error_type):
        fake.model().invoke("Hi")


@pytest.mark.parametrize(
    "events",
    [
        [{"id": [], "choices": []}],
        [{"choices": [{"index": 0, "delta": ["not", "an", "object"]}]}],
        [{"choices": [{"index": 0, "delta": {"content": {"text": "Hi"}}}]}],
        [{"choices": [{"index": 0, "delta": {"tool_calls": 5}}]}],
        [{"choices": "all of them"}],
        [
            {"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": {"total_tokens": 1}},
            {"choices": [{"index": 0, "delta": {}}], "usage": {"total_tokens": {"n": 1}}},
        ],
        [
            {"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": {"cost": 0.5}},
            {"choices": [{"index": 0, "delta": {}}], "usage": {"cost": 0.25}},
        ],
    ],
)
def test_chunk_of_the_wrong_shape_is_a_stream_error(
    fake: FakePathors, events: list[dict[str, object]]
) -> None:
    # Regression: these reached the message conversion and ended in pydantic's
    # ValidationError, AttributeError or (when LangChain merged usage) TypeError.
    fake.chat = [stream_response(sse(*events, chunk({}, "stop")))]
    with pytest.raises(PathorsStreamError, match="malformed stream event"):
        list(fake.model().stream("Hi"))


def test_usage_that_langchain_can_merge_is_accepted(fake: FakePathors) -> None:
    usage = {"prompt_tokens": -1, "details": {"cached": 0}, "cost": 0.5}
    events = [
        {"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": usage},
        {"choices": [{"index": 0, "delta": {}}], "usage": {**usage, "details": {"cached": 2}}},
    ]
    fake.chat = [stream_response(sse(*events, chunk({}, "stop")))]
    assert "".join(str(c.content) for c in fake.model().stream("Hi")) == "a"


def test_done_is_optional_after_finish_reason(fake: FakePathors) -> None:
    fake.chat = [stream_response(text_stream(["a", "b"], done=False))]
    assert "".join(str(c.content) for c in fake.model().stream("Hi")) == "ab"


def test_stream_body_is_closed_on_early_break(fake: FakePathors) -> None:
    body = ChunkedBody([text_stream(["a", "b", "c"])])
    fake.chat = [httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)]
    stream = fake.model().stream("Hi")
    next(stream)
    assert not body.closed
    stream.close()
    assert body.closed
