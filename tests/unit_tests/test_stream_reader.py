"""The stream reader: chunks through, completion detected, every failure typed and classified.

Whether a failure is re-sent (or becomes "outcome unknown" in a session) is the retry
policy's decision, tested in test_retry.py; here each failure's kind and error are.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from langchain_pathors import PathorsError, PathorsStreamError, PathorsTimeoutError, _stream_reader
from langchain_pathors._retry import Failed, Failure, FailureKind
from langchain_pathors._sse import ServerSentEvent
from langchain_pathors._stream_reader import StreamReader

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
    *, session_id: str | None = None, idle_timeout: float | None = None, **kw: Any
) -> StreamReader:
    return StreamReader(session_id=session_id, idle_timeout=idle_timeout, **kw)


class Caught:
    failure: Failure

    @property
    def error(self) -> PathorsError:
        return self.failure.error


@contextlib.contextmanager
def fails(
    kind: FailureKind, error_type: type[PathorsError] = PathorsStreamError, match: str = ""
) -> Iterator[Caught]:
    """Expect a classified failure of `kind` whose error is `error_type` matching `match`."""
    caught = Caught()
    with pytest.raises(Failed) as info:
        yield caught
    caught.failure = info.value.failure
    assert caught.failure.kind is kind
    assert isinstance(caught.error, error_type)
    assert match in str(caught.error)


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
    assert r.finish() == []


def test_finish_reason_sets_finished_and_ends_cleanly() -> None:
    r = reader()
    feed(r, event(chunk("Hi")), event(chunk(finish_reason="stop")))
    assert r.finished
    assert not r.done
    assert r.finish() == []


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
    with fails(FailureKind.LOST, match="no finish_reason") as caught:
        r.finish()
    assert caught.error.partial_text == "Hello, wor"  # type: ignore[attr-defined]


def test_end_of_an_empty_stream_is_a_truncation() -> None:
    with fails(FailureKind.LOST) as caught:
        reader().finish()
    assert caught.error.partial_text == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": {"message": "upstream model exploded", "code": 500}}, "upstream model exploded"),
        ({"error": "quota exhausted"}, "quota exhausted"),
        ({"error": {"type": "server_error"}}, "server_error"),
    ],
)
def test_error_event_raises_with_the_server_message(body: dict, text: str) -> None:
    r = reader(session_id="sess-42")
    feed(r, event(chunk("partial ")))
    with fails(FailureKind.BAD_ANSWER, match=text) as caught:
        r.on_event(event(body))
    assert "mid-stream" in str(caught.error)
    assert caught.error.partial_text == "partial "  # type: ignore[attr-defined]
    assert caught.error.session_id == "sess-42"


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
    with fails(FailureKind.BAD_ANSWER, match=text):
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
    with fails(FailureKind.BAD_ANSWER, match=match):
        reader().on_event(ServerSentEvent(data=data))


def test_server_text_in_errors_is_redacted() -> None:
    r = reader(redact=lambda text: text.replace("sk-secret", "***"))
    with fails(FailureKind.BAD_ANSWER, match="key *** leaked") as caught:
        r.on_event(ServerSentEvent(data="key sk-secret leaked", event="error"))
    assert "sk-secret" not in str(caught.error)


# --------------------------------------------------------------------------- raw bytes
def sse_bytes(*bodies: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(b).encode() + b"\n\n" for b in bodies)


ANSWER = sse_bytes(chunk("Hel"), chunk("lo"), chunk(finish_reason="stop"))


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("", ANSWER),
        ("gzip", gzip.compress(ANSWER)),
        ("GZIP, identity", gzip.compress(ANSWER)),
        ("gzip, gzip", gzip.compress(gzip.compress(ANSWER))),
        ("deflate", zlib.compress(ANSWER)),  # zlib-wrapped, as the RFC says
        ("deflate", zlib.compress(ANSWER)[2:-4]),  # raw, as servers often send
    ],
)
def test_raw_body_in_any_chunking_and_encoding(encoding: str, body: bytes) -> None:
    for size in (1, 7, len(body)):
        r = reader(content_encoding=encoding)
        out = [c for i in range(0, len(body), size) for c in r.feed(body[i : i + size])]
        out += r.finish()
        assert [c["choices"][0]["delta"] for c in out] == [
            {"content": "Hel"},
            {"content": "lo"},
            {},
        ]
        assert r.partial_text == "Hello"


def test_stream_over_max_response_bytes_is_too_large() -> None:
    r = reader(max_response_bytes=len(ANSWER) - 1)
    with fails(FailureKind.TOO_LARGE, match="max_response_bytes") as caught:
        r.feed(ANSWER)
    assert "raise it with ChatPathors(max_response_bytes=...)" in str(caught.error)


def test_bomb_is_stopped_at_the_cap_without_inflating_it_all() -> None:
    # 64 MiB of blank lines in 64 KiB of gzip: the reader must stop near its 1 MiB cap.
    bomb = gzip.compress(b"\n" * (64 * 1024 * 1024), 9)
    r = reader(content_encoding="gzip", max_response_bytes=1024 * 1024)
    with fails(FailureKind.TOO_LARGE):
        for i in range(0, len(bomb), 65536):
            r.feed(bomb[i : i + 65536])


def test_event_over_max_event_bytes_is_too_large() -> None:
    r = reader(max_event_bytes=100)
    with fails(FailureKind.TOO_LARGE, match="max_event_bytes (100 bytes)"):
        r.feed(b"data: " + b"x" * 60)
        r.feed(b"x" * 60)  # the line is now over 100 bytes, with no end in sight
    r = reader(max_event_bytes=100)
    with fails(FailureKind.TOO_LARGE, match="max_event_bytes"):
        r.feed(b"data: " + b"x" * 60 + b"\ndata: " + b"x" * 60 + b"\n")


@pytest.mark.parametrize("body", [b"\x1f\x8b\x08\x00garbage-not-gzip", b"plain text, not gzip"])
def test_invalid_gzip_is_a_bad_answer(body: bytes) -> None:
    r = reader(content_encoding="gzip")
    with fails(FailureKind.BAD_ANSWER, match="cannot be decompressed"):
        r.feed(body)
        r.finish()


def test_unsupported_encoding_is_a_bad_answer() -> None:
    with fails(FailureKind.BAD_ANSWER, match="'br'"):
        reader(content_encoding="br")


# --------------------------------------------------------------------------- idle timeout
def test_keep_alives_past_idle_timeout_raise(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0, session_id="sess-1")
    clock.now = 9.0
    assert r.on_event(KEEP_ALIVE) is None
    clock.now = 10.5
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError, "stream_idle_timeout=10.0") as caught:
        r.on_event(KEEP_ALIVE)
    assert caught.error.session_id == "sess-1"


def test_content_resets_the_idle_clock(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0)
    clock.now = 8.0
    feed(r, event(chunk("a")))
    clock.now = 17.0
    assert r.on_event(KEEP_ALIVE) is None  # 9 s since the data
    clock.now = 18.5
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError):
        r.on_event(KEEP_ALIVE)


def test_tool_call_data_is_progress(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0)
    delta = {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}
    clock.now = 8.0
    feed(r, event({"choices": [{"index": 0, "delta": delta}]}))
    clock.now = 17.0
    assert r.on_event(KEEP_ALIVE) is None


@pytest.mark.parametrize(
    "empty",
    [chunk(), chunk(""), {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}],
    ids=["no-content", "empty-content", "role-only"],
)
def test_empty_deltas_are_not_progress(clock: SimpleNamespace, empty: dict[str, Any]) -> None:
    # Regression: an empty delta every second kept a stream alive forever.
    r = reader(idle_timeout=10.0)
    for second in range(1, 11):
        clock.now = float(second)
        assert feed(r, event(empty)) == [empty]  # delivered, but not progress
    clock.now = 10.5
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError, "no progress"):
        r.on_event(event(empty))


def test_bytes_without_an_event_are_not_progress(clock: SimpleNamespace) -> None:
    # Regression: a comment growing by one byte every 2 s, with no line end, never ended.
    r = reader(idle_timeout=10.0)
    r.feed(b": growing")
    for second in range(2, 11, 2):
        clock.now = float(second)
        assert r.feed(b"x") == []
    clock.now = 12.0
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError):
        r.feed(b"x")


def test_unknown_events_do_not_reset_the_idle_clock(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=10.0)
    clock.now = 8.0
    assert r.on_event(ServerSentEvent(data="{}", event="ping")) is None
    clock.now = 11.0
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError):
        r.on_event(ServerSentEvent(data="{}", event="ping"))


def test_no_idle_timeout_never_raises(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=None)
    clock.now = 1e9
    assert r.on_event(KEEP_ALIVE) is None


def test_idle_timeout_keeps_partial_text(clock: SimpleNamespace) -> None:
    r = reader(idle_timeout=5.0, session_id="sess-7")
    feed(r, event(chunk("wait")))
    clock.now = 6.0
    with fails(FailureKind.TIMED_OUT, PathorsTimeoutError) as caught:
        r.on_event(KEEP_ALIVE)
    assert caught.error.session_id == "sess-7"
    assert caught.error.partial_text == "wait"  # type: ignore[attr-defined]
