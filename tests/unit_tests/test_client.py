"""The HTTP layer through ChatPathors: headers, URLs, error mapping, retries, clients."""

from __future__ import annotations

import dataclasses
import gzip
import json

import httpx
import pytest

from langchain_pathors import (
    ChatPathors,
    PathorsAPIStatusError,
    PathorsAuthenticationError,
    PathorsBadRequestError,
    PathorsConnectionError,
    PathorsError,
    PathorsNotFoundError,
    PathorsOutcomeUnknownError,
    PathorsRateLimitError,
    PathorsResponseError,
    PathorsServerError,
    PathorsStreamError,
    PathorsTimeoutError,
)
from tests.unit_tests.conftest import (
    API_KEY,
    ChunkedBody,
    FakePathors,
    chunk,
    completion,
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


def error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    """An error response; header keywords use "_" for "-" (retry_after -> retry-after)."""
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.Response(status, json={"error": message}, headers=named)


# --------------------------------------------------------------------------- requests
def test_request_carries_auth_json_and_documented_path(fake: FakePathors) -> None:
    fake.model().invoke("Hello!")
    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == (
        "https://pathors.test/api/project/proj-1/integration/api/chat/completions"
    )
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("langchain-pathors/")
    assert json.loads(request.content) == {
        "messages": [{"role": "user", "content": "Hello!"}],
        "stream": False,
    }


def test_session_goes_in_header_never_in_body(fake: FakePathors) -> None:
    fake.model(session_id="user-1").invoke("Hi")
    (request,) = fake.requests
    assert request.headers["x-session-id"] == "user-1"
    assert "session_id" not in json.loads(request.content)


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


def test_default_headers_are_sent(fake: FakePathors) -> None:
    fake.model(default_headers={"X-Trace": "t-1"}).invoke("Hi")
    (request,) = fake.requests
    assert request.headers["x-trace"] == "t-1"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("header", ["Authorization", "x-session-id", "X-Session-ID"])
def test_default_headers_cannot_set_auth_or_session(header: str) -> None:
    # A session id here would skip validation and the session-safe retry policy.
    with pytest.raises(ValueError, match="default_headers"):
        ChatPathors(project_id="p", api_key="k", default_headers={header: "x"})


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


def test_missing_api_key_fails_before_any_request(
    fake: FakePathors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATHORS_API_KEY", raising=False)
    llm = fake.model(api_key=None)
    with pytest.raises(PathorsAuthenticationError, match="PATHORS_API_KEY"):
        llm.invoke("Hi")
    assert fake.requests == []


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, PathorsBadRequestError),
        (401, PathorsAuthenticationError),
        (404, PathorsNotFoundError),
        (418, PathorsAPIStatusError),
    ],
)
def test_client_errors_map_to_types_and_are_not_retried(
    fake: FakePathors, sleeps: list[float], status: int, error_type: type[Exception]
) -> None:
    fake.chat = [error(status, "Invalid request body")]
    with pytest.raises(error_type) as info:
        fake.model().invoke("Hi")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert "Invalid request body" in str(info.value)
    assert len(fake.requests) == 1
    assert sleeps == []


def test_error_without_json_body_is_still_readable(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(502, content=b"<html>Bad gateway</html>")]
    with pytest.raises(PathorsServerError, match="Bad gateway"):
        fake.model(max_retries=0).invoke("Hi")


def test_server_echoing_the_key_is_redacted(fake: FakePathors) -> None:
    fake.chat = [error(401, f"key {API_KEY} is not valid")]
    with pytest.raises(PathorsAuthenticationError) as info:
        fake.model().invoke("Hi")
    assert API_KEY not in str(info.value)
    assert "***" in str(info.value)


@pytest.mark.parametrize("session_id", [None, "s-echo"])
@pytest.mark.parametrize(
    "body",
    [
        sse({"error": {"message": f"key {API_KEY} is not valid"}}),
        b"event: error\ndata: key " + API_KEY.encode() + b" is not valid\n\n",
        b"data: {key " + API_KEY.encode() + b" is not valid\n\n",  # malformed, quoted back
    ],
)
def test_stream_error_echoing_the_key_is_redacted(
    fake: FakePathors, body: bytes, session_id: str | None
) -> None:
    # Regression: stream failures quoted the server's text without redacting the key.
    fake.chat = [stream_response(body)]
    with pytest.raises(PathorsError) as info:
        list(fake.model().stream("Hi", session_id=session_id))
    assert API_KEY not in str(info.value)
    assert "key *** is not valid" in str(info.value)


def test_non_json_body_echoing_the_key_is_redacted(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, content=f"<html>key {API_KEY} is not valid".encode())]
    with pytest.raises(PathorsResponseError) as info:
        fake.model().invoke("Hi")
    assert API_KEY not in str(info.value)
    assert "key *** is not valid" in str(info.value)


def test_server_echoing_a_default_header_is_redacted(fake: FakePathors) -> None:
    # Regression: only the API key was redacted; default_headers may carry credentials.
    fake.chat = [error(500, "upstream said: Bearer hdr-secret-123 and hdr-secret-123")]
    llm = fake.model(default_headers={"X-Upstream-Auth": "Bearer hdr-secret-123", "X-A": "1"})
    with pytest.raises(PathorsError) as info:
        llm.invoke("Hi", session_id="s-h")
    assert "hdr-secret-123" not in str(info.value)
    assert "upstream said: *** and ***" in str(info.value)


def test_404_names_the_path_and_what_to_check(fake: FakePathors) -> None:
    fake.chat = [error(404, "Not Found")]
    with pytest.raises(PathorsNotFoundError) as info:
        fake.model(project_id="no-such-project").invoke("Hi")
    text = str(info.value)
    assert "/api/project/no-such-project/integration/api/chat/completions" in text
    assert "check base_url and project_id" in text
    assert API_KEY not in text


def test_connection_error_names_host_and_port(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [httpx.ConnectError("[Errno 111] Connection refused")]
    with pytest.raises(PathorsConnectionError, match=r"at pathors\.test:443 \("):
        fake.model(max_retries=0).invoke("Hi")


@pytest.mark.parametrize(
    "content_type", ["Text/Event-Stream", "TEXT/EVENT-STREAM; charset=utf-8", "text/event-stream"]
)
def test_content_type_is_compared_case_insensitively(fake: FakePathors, content_type: str) -> None:
    fake.chat = [stream_response(text_stream(["ok"]), content_type=content_type)]
    assert "".join(str(c.content) for c in fake.model().stream("Hi")) == "ok"


@pytest.mark.parametrize("content_type", ["text/event-streamer", "text/plain", ""])
def test_other_content_types_are_refused(fake: FakePathors, content_type: str) -> None:
    fake.chat = [stream_response(text_stream(["ok"]), content_type=content_type)]
    with pytest.raises(PathorsStreamError, match="asked for a stream"):
        list(fake.model().stream("Hi"))


def test_request_asks_only_for_encodings_it_can_bound(fake: FakePathors) -> None:
    fake.model().invoke("Hi")
    assert fake.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("session_id", [None, "s-big"])
def test_completion_over_max_response_bytes(fake: FakePathors, session_id: str | None) -> None:
    fake.chat = [httpx.Response(200, json=completion("x" * 5000))]
    with pytest.raises(PathorsResponseError, match=r"max_response_bytes \(1,000 bytes\)") as info:
        fake.model(max_response_bytes=1000).invoke("Hi", session_id=session_id)
    assert "ChatPathors(max_response_bytes=...)" in str(info.value)
    assert info.value.is_retryable is (session_id is None)  # in a session the turn was applied
    assert len(fake.requests) == 1


def test_gzip_completion_is_decoded(fake: FakePathors) -> None:
    body = gzip.compress(json.dumps(completion("zipped")).encode())
    headers = {"content-encoding": "gzip"}
    # A streamed body: an in-memory one would be decoded by httpx itself, at construction.
    fake.chat = [stream_response(body, headers=headers, content_type="application/json")]
    assert fake.model().invoke("Hi").content == "zipped"


@pytest.mark.parametrize("stream", [False, True])
def test_invalid_gzip_is_a_response_error(fake: FakePathors, stream: bool) -> None:
    headers = {"content-encoding": "gzip"}
    if stream:
        fake.chat = [stream_response(b"not gzip", headers=headers)]
        with pytest.raises(PathorsStreamError, match="cannot be decompressed"):
            list(fake.model().stream("Hi"))
    else:
        fake.chat = [stream_response(b"not gzip", headers=headers, content_type="application/json")]
        with pytest.raises(PathorsResponseError, match="cannot be decompressed"):
            fake.model().invoke("Hi")


def test_huge_error_body_is_cut_for_the_message(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [httpx.Response(400, content=b"<html>" + b"x" * 500_000)]
    with pytest.raises(PathorsBadRequestError) as info:
        fake.model().invoke("Hi")
    assert len(str(info.value)) < 300


def test_header_that_cannot_be_encoded_is_typed_and_not_shown(fake: FakePathors) -> None:
    # construction-time checks refuse this first; the client must still never leak it
    llm = fake.model()
    llm._client.config = dataclasses.replace(  # type: ignore[misc]
        llm._client.config, default_headers={"X-Note": "caf\u00e9-secret-value"}
    )
    with pytest.raises(PathorsBadRequestError, match="not valid HTTP") as info:
        llm.invoke("Hi")
    assert "secret-value" not in repr(info.value.args)
    assert fake.requests == []


def test_redirect_is_not_followed(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(307, headers={"location": "https://evil.test/steal"})]
    with pytest.raises(PathorsAPIStatusError, match="redirect") as info:
        fake.model(session_id="s-1").invoke("Hi")
    assert info.value.status_code == 307
    assert [r.url.host for r in fake.requests] == ["pathors.test"]


def test_malformed_json_body_is_a_response_error(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, content=b'{"id": "x", "choi')]
    with pytest.raises(PathorsResponseError, match="not JSON"):
        fake.model().invoke("Hi")


def test_malformed_answer_in_a_session_is_not_retryable(fake: FakePathors) -> None:
    # The server applied the turn before answering: a retry helper must not repeat it.
    fake.chat = [httpx.Response(200, content=b"not json")]
    with pytest.raises(PathorsResponseError) as pinned:
        fake.model().invoke("Hi", session_id="s-1")
    assert pinned.value.is_retryable is False
    with pytest.raises(PathorsResponseError) as unpinned:
        fake.model().invoke("Hi")
    assert unpinned.value.is_retryable is True
    assert len(fake.requests) == 2  # neither was re-sent by the package


def test_body_without_choices_is_a_response_error(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json={"id": "x", "choices": []})]
    with pytest.raises(PathorsResponseError, match="choices"):
        fake.model().invoke("Hi")


# --------------------------------------------------------------------------- retries
def test_server_error_without_session_is_retried_max_retries_times(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [error(500)]
    with pytest.raises(PathorsServerError):
        fake.model(max_retries=2).invoke("Hi")
    assert len(fake.requests) == 3  # one attempt + two retries
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5  # initial_backoff 0.5, equal jitter
    assert 0.5 <= sleeps[1] <= 1.0


def test_retry_then_success(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [error(503), httpx.Response(200, json=completion("ok"))]
    assert fake.model().invoke("Hi").content == "ok"
    assert len(fake.requests) == 2


def test_pinned_session_is_not_resent_after_500(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [error(500, "pathway crashed")]
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        fake.model().invoke("Hi", session_id="user-7")
    assert len(fake.requests) == 1
    assert info.value.session_id == "user-7"
    assert info.value.status_code == 500
    assert "pathway crashed" in str(info.value)
    assert not info.value.is_retryable


def test_outcome_unknown_after_a_status_names_the_status_once(
    fake: FakePathors, sleeps: list[float]
) -> None:
    # Regression: the message said "(HTTP 500)" and str() appended "(HTTP 500)" again.
    fake.chat = [error(500, "pathway crashed")]
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        fake.model().invoke("Hi", session_id="s-once")
    text = str(info.value)
    assert text.count("HTTP 500") == 1
    assert text.startswith("pathway crashed; the session turn may or may not have been applied")
    assert text.endswith("(HTTP 500) [session s-once]")


@pytest.mark.parametrize("status", [429, 503])
def test_pinned_session_is_retried_when_refused_before_work(
    fake: FakePathors, sleeps: list[float], status: int
) -> None:
    fake.chat = [error(status, retry_after="1.5"), httpx.Response(200, json=completion("ok"))]
    assert fake.model().invoke("Hi", session_id="user-7").content == "ok"
    assert len(fake.requests) == 2
    assert sleeps == [1.5]


def test_retry_after_ms_wins(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [
        error(429, retry_after_ms="250", retry_after="9"),
        httpx.Response(200, json=completion()),
    ]
    fake.model().invoke("Hi")
    assert sleeps == [0.25]


def test_retry_after_above_cap_fails_at_once(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [error(429, "slow down", retry_after="3600")]
    with pytest.raises(PathorsRateLimitError) as info:
        fake.model(max_retry_after=30).invoke("Hi")
    assert info.value.retry_after == 3600
    assert info.value.is_retryable
    assert len(fake.requests) == 1
    assert sleeps == []


def test_max_retries_zero_means_one_attempt(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [error(503)]
    with pytest.raises(PathorsServerError):
        fake.model(max_retries=0).invoke("Hi")
    assert len(fake.requests) == 1


def test_connect_error_is_retried_even_in_a_session(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [httpx.ConnectError("refused"), httpx.Response(200, json=completion("ok"))]
    assert fake.model().invoke("Hi", session_id="s-1").content == "ok"
    assert len(fake.requests) == 2


def test_connect_error_exhausted_is_a_connection_error(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [httpx.ConnectError("refused")]
    with pytest.raises(PathorsConnectionError, match="refused") as info:
        fake.model(max_retries=1).invoke("Hi")
    assert info.value.status_code is None
    assert len(fake.requests) == 2


def test_read_timeout_in_a_session_is_outcome_unknown(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [httpx.ReadTimeout("slow")]
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        fake.model().invoke("Hi", session_id="s-9")
    assert info.value.session_id == "s-9"
    assert len(fake.requests) == 1


def test_read_timeout_without_session_is_retried_then_typed(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [httpx.ReadTimeout("slow")]
    with pytest.raises(PathorsTimeoutError):
        fake.model(max_retries=1).invoke("Hi")
    assert len(fake.requests) == 2


async def test_async_retries_use_the_same_policy(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [error(503, retry_after="2"), httpx.Response(200, json=completion("ok"))]
    assert (await fake.model().ainvoke("Hi")).content == "ok"
    assert sleeps == [2.0]
    fake.requests.clear()
    fake.chat = [error(500)]
    with pytest.raises(PathorsOutcomeUnknownError):
        await fake.model().ainvoke("Hi", session_id="s-1")
    assert len(fake.requests) == 1


# --------------------------------------------------------------------------- streams
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

    fake.chat = [error(503), cut(), cut()]
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


def test_json_answer_to_a_stream_request_is_a_stream_error(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion())]
    with pytest.raises(PathorsStreamError, match="application/json"):
        list(fake.model().stream("Hi"))


def test_stream_status_error_is_retried_before_any_event(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [error(503), stream_response(text_stream(["ok"]))]
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


@pytest.mark.parametrize(
    "body",
    [
        {**completion(), "id": {"nested": True}},
        {**completion(), "model": 7},
        completion() | {"choices": [{"index": 0, "message": {"content": {"x": 1}}}]},
    ],
)
def test_completion_of_the_wrong_shape_is_a_response_error(
    fake: FakePathors, body: dict[str, object]
) -> None:
    fake.chat = [httpx.Response(200, json=body)]
    with pytest.raises(PathorsResponseError, match="malformed chat completion"):
        fake.model().invoke("Hi")


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
