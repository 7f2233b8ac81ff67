"""One attempt, through ChatPathors: the request it sends, and what its answer turns into.

Headers and auth, the error a non-2xx answer becomes (typed, redacted, cut short), and the
checks on a 2xx body (size, encoding, JSON, content type). Retries: `test_retry_loop.py`.
"""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from pydantic import SecretStr

from langchain_pathors import (
    ChatPathors,
    PathorsAPIStatusError,
    PathorsAuthenticationError,
    PathorsBadRequestError,
    PathorsConnectionError,
    PathorsError,
    PathorsNotFoundError,
    PathorsResponseError,
    PathorsServerError,
    PathorsStreamError,
)
from langchain_pathors._client import ClientConfig, PathorsClient
from tests.unit_tests.conftest import (
    API_KEY,
    PROJECT,
    FakePathors,
    completion,
    sse,
    stream_response,
    text_stream,
)


def error(status: int, message: str) -> httpx.Response:
    """An error response with the JSON body the API documents."""
    return httpx.Response(status, json={"error": message})


# ------------------------------------------------------------------- requests
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


def test_missing_api_key_fails_before_any_request(
    fake: FakePathors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATHORS_API_KEY", raising=False)
    llm = fake.model(api_key=None)
    with pytest.raises(PathorsAuthenticationError, match="PATHORS_API_KEY"):
        llm.invoke("Hi")
    assert fake.requests == []


# -------------------------------------------------------------------- answers
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
    # ChatPathors refuses such a header when built; the client must still never leak it.
    config = ClientConfig(
        base_url="https://pathors.test",
        project_id=PROJECT,
        api_key=SecretStr(API_KEY),
        default_headers={"X-Note": "caf\u00e9-secret-value"},
    )
    with httpx.Client(transport=httpx.MockTransport(fake.handler)) as http:
        client = PathorsClient(config, http_client=http)
        with pytest.raises(PathorsBadRequestError, match="not valid HTTP") as info:
            client.chat({"messages": [], "stream": False}, session_id=None)
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


def test_json_answer_to_a_stream_request_is_a_stream_error(fake: FakePathors) -> None:
    fake.chat = [httpx.Response(200, json=completion())]
    with pytest.raises(PathorsStreamError, match="application/json"):
        list(fake.model().stream("Hi"))


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
