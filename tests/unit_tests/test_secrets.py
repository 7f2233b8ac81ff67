"""The key, auth headers and session variables never leak: repr, dumps, logs, errors, traces."""

from __future__ import annotations

import logging
import pickle
import traceback
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps, load, loads

from langchain_pathors import ChatPathors, PathorsError
from tests.leaks import authorized_requests, error_texts
from tests.tracing import RunCollector
from tests.unit_tests.conftest import (
    API_KEY,
    FakePathors,
    chunk,
    sse,
    stream_response,
    text_stream,
)

SECRET_VARIABLE = "ssn-123-45-6789"
SECRET_HEADER = "Bearer header-canary-77"


class EverythingHandler(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen.append((serialized, kwargs))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append((response, kwargs))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append((repr(error), str(error), kwargs))


def secret_model(fake: FakePathors) -> ChatPathors:
    return fake.model(
        session_id="s-1",
        session_variables={"ssn": SECRET_VARIABLE},
        default_headers={"X-Upstream-Auth": SECRET_HEADER},
    )


def assert_clean(text: str) -> None:
    assert API_KEY not in text
    assert SECRET_VARIABLE not in text
    assert SECRET_HEADER not in text


def test_repr_str_and_model_dump_hide_secrets(fake: FakePathors) -> None:
    llm = secret_model(fake)
    assert_clean(repr(llm))
    assert_clean(str(llm))
    assert_clean(str(llm.model_dump()))
    assert_clean(str(llm.model_dump_json()))
    assert_clean(str(llm.asdict()))


def test_dumps_hides_secrets_and_round_trips(
    fake: FakePathors, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = ChatPathors(project_id="p", api_key=API_KEY, temperature=0.5, session_id="s-9")
    text = dumps(llm)
    assert_clean(text)
    assert '"PATHORS_API_KEY"' in text  # a reference to the env var, not the value
    monkeypatch.setenv("PATHORS_API_KEY", API_KEY)
    loaded = loads(
        text,
        valid_namespaces=["langchain_pathors"],
        allowed_objects=[ChatPathors],
        secrets_from_env=True,
    )
    assert isinstance(loaded, ChatPathors)
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == API_KEY
    assert (loaded.project_id, loaded.temperature, loaded.session_id) == ("p", 0.5, "s-9")
    again = load(dumpd(llm), valid_namespaces=["langchain_pathors"], allowed_objects=[ChatPathors],
                 secrets_map={"PATHORS_API_KEY": "other"})  # fmt: skip
    assert again.api_key.get_secret_value() == "other"


def test_session_variables_and_headers_are_not_serialized(fake: FakePathors) -> None:
    assert_clean(dumps(secret_model(fake)))


def test_errors_never_contain_the_key(fake: FakePathors, sleeps: list[float]) -> None:
    fake.chat = [
        httpx.Response(401, json={"error": f"bad key {API_KEY}"}),
        httpx.ConnectError(f"failed for Bearer {API_KEY}"),
    ]
    for _ in range(2):
        with pytest.raises(PathorsError) as info:
            fake.model(max_retries=0).invoke("Hi")
        assert_clean(str(info.value))
        assert_clean(repr(info.value))
        assert_clean(str(info.value.args))
        assert_clean(str(vars(info.value)))
        assert_clean(repr(pickle.loads(pickle.dumps(info.value))))


def test_debug_logs_never_contain_secrets(
    fake: FakePathors, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    fake.chat = [
        httpx.Response(503, json={"error": "busy"}),
        httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]}),
    ]
    with caplog.at_level(logging.DEBUG):
        secret_model(fake).invoke("Hi")
        fake.chat = [httpx.Response(401, json={"error": API_KEY})]
        with pytest.raises(PathorsError):
            fake.model().invoke("Hi")
    assert any(r.name == "langchain_pathors" for r in caplog.records)  # the retry was logged
    for record in caplog.records:
        assert_clean(record.getMessage())


def test_callbacks_and_traces_never_see_secrets(fake: FakePathors) -> None:
    llm = secret_model(fake)
    handler, tracer = EverythingHandler(), RunCollector()
    llm.invoke("Hi", config={"callbacks": [handler, tracer]})
    llm.invoke(
        "Hi",
        session_id="s-2",
        session_variables={"ssn": SECRET_VARIABLE},
        config={"callbacks": [handler, tracer]},
    )
    fake.chat = [httpx.Response(401, json={"error": API_KEY})]
    with pytest.raises(PathorsError):
        llm.invoke("Hi", config={"callbacks": [handler, tracer]})
    assert len(tracer.runs) == 3
    assert_clean(str(handler.seen))
    for run in tracer.runs:
        assert_clean(run.model_dump_json())
    params = tracer.runs[1].extra["invocation_params"]
    assert params["session_id"] == "s-2"
    assert params["session_variable_names"] == ["ssn"]
    assert tracer.runs[1].extra["metadata"]["ls_provider"] == "pathors"


# --------------------------------------------------------------------------- echoed variables
ECHO = f"variable ssn={SECRET_VARIABLE!r} is not allowed"


def echo_400() -> httpx.Response:
    return httpx.Response(400, json={"error": ECHO})


def assert_redacted(error: BaseException, *seen: object) -> None:
    assert SECRET_VARIABLE not in error_texts(error)
    assert "***" in str(error)  # the message still says what went wrong, minus the value
    for item in seen:
        assert_clean(str(item))


def test_session_create_error_echoing_a_variable_is_redacted(fake: FakePathors) -> None:
    fake.session = [echo_400()]
    handler, tracer = EverythingHandler(), RunCollector()
    with pytest.raises(PathorsError) as info:
        secret_model(fake).invoke("Hi", config={"callbacks": [handler, tracer]})
    assert_redacted(info.value, handler.seen, *(r.model_dump_json() for r in tracer.runs))
    assert tracer.runs[0].error is not None


def test_chat_error_echoing_a_per_call_variable_is_redacted_in_retries_too(
    fake: FakePathors, sleeps: list[float]
) -> None:
    fake.chat = [httpx.Response(503, json={"error": ECHO}), echo_400()]
    handler, tracer = EverythingHandler(), RunCollector()
    retries: list[str] = []

    class Retries(BaseCallbackHandler):
        def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
            retries.append(str(retry_state.outcome.exception()))

    with pytest.raises(PathorsError) as info:
        fake.model().invoke(
            "Hi",
            session_id="s-5",
            session_variables={"ssn": SECRET_VARIABLE},
            config={"callbacks": [handler, tracer, Retries()]},
        )
    assert len(retries) == 1
    assert_redacted(info.value, handler.seen, retries, *(r.model_dump_json() for r in tracer.runs))


def test_stream_error_event_echoing_a_variable_is_redacted(fake: FakePathors) -> None:
    fake.chat = [stream_response(sse(chunk({"content": "Hi"}), {"error": {"message": ECHO}}))]
    handler, tracer = EverythingHandler(), RunCollector()
    with pytest.raises(PathorsError) as info:
        list(secret_model(fake).stream("Hi", config={"callbacks": [handler, tracer]}))
    assert_redacted(info.value, handler.seen, *(r.model_dump_json() for r in tracer.runs))


async def test_async_errors_echoing_variables_are_redacted(fake: FakePathors) -> None:
    llm = secret_model(fake)
    fake.session = [echo_400()]
    with pytest.raises(PathorsError) as info:
        await llm.ainvoke("Hi")
    assert_redacted(info.value)
    with pytest.raises(PathorsError) as info:
        await llm.acreate_session("s-7", {"ssn": SECRET_VARIABLE})
    assert_redacted(info.value)
    fake.session = [httpx.Response(200, json={"sessionId": "s-1"})]
    fake.chat = [stream_response(sse(chunk({"content": "Hi"}), {"error": {"message": ECHO}}))]
    with pytest.raises(PathorsError) as info:
        async for _ in llm.astream("Hi"):
            pass
    assert_redacted(info.value)


def test_create_session_error_echoing_a_variable_is_redacted(fake: FakePathors) -> None:
    fake.session = [echo_400()]
    with pytest.raises(PathorsError) as info:
        fake.model().create_session("s-8", {"ssn": SECRET_VARIABLE})
    assert_redacted(info.value)


def test_only_the_values_are_blanked_out_not_words_that_contain_them(fake: FakePathors) -> None:
    fake.session = [httpx.Response(400, json={"error": "Ann is not a valid Annual plan"})]
    with pytest.raises(PathorsError) as info:
        fake.model().create_session("s-9", {"name": "Ann"})
    assert info.value.message == "*** is not a valid Annual plan"


# ------------------------------------------------------------------ the request an error keeps
@pytest.mark.parametrize("pinned", [False, True], ids=["no session", "in a session"])
def test_no_live_request_with_the_key_on_the_cause_chain(
    fake: FakePathors, sleeps: list[float], pinned: bool
) -> None:
    fake.chat = [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("cut")]
    session: dict[str, Any] = {"session_id": "s-1"} if pinned else {}
    with pytest.raises(PathorsError) as info:
        fake.model(max_retries=1).invoke("Hi", **session)
    assert authorized_requests(info.value) == []
    assert API_KEY not in error_texts(info.value)
    fake.chat = [stream_response(text_stream(["a"])[:40], error=httpx.ReadError("cut"))]
    with pytest.raises(PathorsError) as info:
        list(fake.model(max_retries=0).stream("Hi", **session))
    assert authorized_requests(info.value) == []


@pytest.mark.parametrize(
    ("reply", "session"),
    [
        (httpx.ReadTimeout("timed out"), {"session_id": "s-1"}),
        (httpx.ConnectError("refused"), {}),
        (httpx.Response(401, json={"error": "bad key"}), {}),
    ],
    ids=["read timeout in a session", "connect error", "401"],
)
def test_frame_locals_of_a_raised_error_hold_no_key(
    fake: FakePathors, sleeps: list[float], reply: Any, session: dict[str, Any]
) -> None:
    # Error reporters (Sentry, rich, pytest --showlocals) print the locals of every frame
    # of a traceback: none may hold the key, or a request carrying it.
    fake.chat = [reply]
    for call in ("invoke", "stream"):
        with pytest.raises(PathorsError) as info:
            llm = fake.model(max_retries=0)
            if call == "invoke":
                llm.invoke("Hi", **session)
            else:
                list(llm.stream("Hi", **session))
        shown = "".join(
            traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
        )
        assert API_KEY not in shown
