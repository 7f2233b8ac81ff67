"""The stream reader: chunks through, completion detected, every failure typed."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from langchain_pathors import _stream_reader
from langchain_pathors._sse import ServerSentEvent
from langchain_pathors._stream_reader import StreamReader
from langchain_pathors.errors import (
    PathorsOutcomeUnknownError,
    PathorsStreamError,
    PathorsTimeoutError,
)

KEEP_ALIVE = ServerSentEvent(comment=True)
DONE = ServerSentEvent(data="[DONE]")


def chunk(content: str | None = None, finish_reason: str | None = None, **extra: Any) -> dict:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "pathway-default",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    body.update(extra)
    return body


def event(body: Any, event_type: str = "message") -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(body), event=event_type)


def reader(
    *, pinned: bool = False, session_id: str | None = None, idle_timeout: float | None = None
) -> StreamReader:
    return StreamReader(session_id=session_id, pinned=pinned, idle_timeout=idle_timeout)


def feed(r: StreamReader, *events: ServerSentEvent) -> list[dict[str, Any]]:
    """Feed events; return the chunks that came out."""
    return [c for e in events if (c := r.on_event(e)) is not None]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A fake monotonic clock for the reader module: set `clock.now` to move time."""
    fake = SimpleNamespace(now=0.0)
    monkeypatch.setattr(_stream_reader, "time", SimpleNamespace(monotonic=lambda: fake.now))
    return fake


# --------------------------------------------------------------------------- happy paths
def test_chunks_pass_through_unchanged() -> None:
    r = reader()
    bodies = [chunk("Hel"), chunk("lo"), chunk(finish_reason="stop")]
    assert feed(r, *(event(b) for b in bodies)) == bodies
    assert r.partial_text == "Hello"


def test_chunk_event_type_is_data() -> None:
    assert feed(reader(), event(chunk("x"), "chunk")) == [chunk("x")]


def test_done_sets_done_and_ends_cleanly() -> None:
    r = reader()
    feed(r, event(chunk("Hi")), DONE)
    assert r.done
    assert not r.finished
    r.on_end()


def test_finish_reason_sets_finished_and_ends_cleanly() -> None:
    r = reader()
    feed(r, event(chunk("Hi")), event(chunk(finish_reason="stop")))
    assert r.finished
    assert not r.done
    r.on_end()


def test_keep_alives_and_empty_events_yield_nothing() -> None:
    r = reader()
    assert feed(r, KEEP_ALIVE, ServerSentEvent(data=""), KEEP_ALIVE) == []


def test_session_id_picked_up_from_the_chunks() -> None:
    r = reader()
    feed(r, event(chunk("Hi", session_id="sess-server")))
    assert r.session_id == "sess-server"
    pinned = reader(session_id="sess-mine")
    feed(pinned, event(chunk("Hi", session_id="sess-other")))
    assert pinned.session_id == "sess-mine"


@pytest.mark.parametrize(
    "unknown",
    [
        ServerSentEvent(data=json.dumps(chunk("ignored")), event="ping"),
        ServerSentEvent(data="hello", event="ping"),
        ServerSentEvent(data="", event="heartbeat"),
        ServerSentEvent(data="[DONE]", event="metrics"),
    ],
    ids=["json", "text", "empty", "done-text"],
)
def test_unknown_event_types_are_ignored(unknown: ServerSentEvent) -> None:
    r = reader()
    assert feed(r, event(chunk("a")), unknown, event(chunk("b", "stop"))) == [
        chunk("a"),
        chunk("b", "stop"),
    ]
    assert r.partial_text == "ab"
    assert not r.done


# --------------------------------------------------------------------------- failures
def test_end_without_finish_or_done_is_a_truncation() -> None:
    r = reader()
    feed(r, event(chunk("Hello, wor")))
    with pytest.raises(PathorsStreamError, match="no finish_reason") as info:
        r.on_end()
    assert info.value.partial_text == "Hello, wor"


def test_end_of_an_empty_stream_is_a_truncation() -> None:
    with pytest.raises(PathorsStreamError) as info:
        reader().on_end()
    assert info.value.partial_text == ""


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": {"message": "upstream model exploded", "code": 500}}, "upstream model exploded"),
        ({"error": "quota exhausted"}, "quota exhausted"),
        ({"error": {"type": "server_error"}}, "server_error"),
    ],
)
def test_error_event_raises_with_the_server_message(body: dict, text: str) -> None:
    r = reader()
    feed(r, event(chunk("partial ")))
    with pytest.raises(PathorsStreamError, match=text) as info:
        r.on_event(event(body))
    assert "mid-stream" in str(info.value)
    assert info.value.partial_text == "partial "


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ('{"error": {"message": "rate limited"}}', "rate limited"),
        ('{"message": "overloaded"}', "overloaded"),
        ("plain text failure", "plain text failure"),
        ("", "no details"),
    ],
)
def test_error_event_type_raises(data: str, text: str) -> None:
    with pytest.raises(PathorsStreamError, match=text):
        reader().on_event(ServerSentEvent(data=data, event="error"))


def test_null_error_field_is_not_an_error() -> None:
    body = chunk("fine", error=None)
    assert feed(reader(), event(body)) == [body]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("not json at all", "not JSON"),
        ('{"choices": [', "not JSON"),
        ("[1, 2]", "not an object"),
        ('"a string"', "not an object"),
    ],
)
def test_malformed_data_raises(data: str, match: str) -> None:
    with pytest.raises(PathorsStreamError, match=match):
        reader().on_event(ServerSentEvent(data=data))


def test_pinned_truncation_is_outcome_unknown() -> None:
    r = reader(pinned=True, session_id="sess-42")
    feed(r, event(chunk("Half an ans")))
    with pytest.raises(PathorsOutcomeUnknownError, match="may or may not have been applied") as e:
        r.on_end()
    assert e.value.session_id == "sess-42"
    assert e.value.partial_text == "Half an ans"
    assert "sess-42" in str(e.value)
    assert e.value.is_retryable is False


def test_pinned_error_event_is_outcome_unknown() -> None:
    r = reader(pinned=True, session_id="sess-42")
    feed(r, event(chunk("so far")))
    with pytest.raises(PathorsOutcomeUnknownError, match="boom") as info:
        r.on_event(event({"error": {"message": "boom"}}))
    assert info.value.partial_text == "so far"
    assert info.value.session_id == "sess-42"


# --------------------------------------------------------------------------- idle timeout
def test_keep_alives_past_idle_timeout_raise(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0, session_id="sess-1")
    clock.now = 9.0
    assert r.on_event(KEEP_ALIVE) is None
    clock.now = 10.5
    with pytest.raises(PathorsTimeoutError, match=r"stream_idle_timeout=10\.0") as info:
        r.on_event(KEEP_ALIVE)
    assert info.value.session_id == "sess-1"


def test_data_resets_the_idle_clock(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0)
    clock.now = 8.0
    feed(r, event(chunk("a")))
    clock.now = 17.0
    assert r.on_event(KEEP_ALIVE) is None  # 9 s since the data
    clock.now = 18.5
    with pytest.raises(PathorsTimeoutError):
        r.on_event(KEEP_ALIVE)


def test_unknown_events_do_not_reset_the_idle_clock(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0)
    clock.now = 8.0
    assert r.on_event(ServerSentEvent(data="{}", event="ping")) is None
    clock.now = 11.0
    with pytest.raises(PathorsTimeoutError):
        r.on_event(ServerSentEvent(data="{}", event="ping"))


def test_no_idle_timeout_never_raises(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=None)
    clock.now = 1e9
    assert r.on_event(KEEP_ALIVE) is None


def test_pinned_idle_timeout_is_outcome_unknown(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=5.0, pinned=True, session_id="sess-7")
    feed(r, event(chunk("wait")))
    clock.now = 6.0
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        r.on_event(KEEP_ALIVE)
    assert info.value.session_id == "sess-7"
    assert info.value.partial_text == "wait"
