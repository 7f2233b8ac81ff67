"""Errors end to end: wrong credentials, and a few injected faults (retried or not).

The exhaustive fault and reliability suite lives in tests/reliability/; these are the
essentials a user meets, over real HTTP.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_pathors import (
    ChatPathors,
    PathorsAuthenticationError,
    PathorsNotFoundError,
    PathorsOutcomeUnknownError,
    PathorsRateLimitError,
    PathorsServerError,
)
from langchain_pathors.emulator import Fault, PathorsEmulator

from ._connection import Connection

CHAT_PATH = "/integration/api/chat/completions"
SESSION_PATH = "/integration/api/session"
WRONG_KEY = "wrong-key-canary-4d3c2b"


class RetryRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.retries: list[BaseException | None] = []

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        self.retries.append(retry_state.outcome.exception())


def chats(emulator: PathorsEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith(CHAT_PATH)]


def test_wrong_key_is_an_authentication_error(pathors_connection: Connection):
    with (
        pathors_connection.model(api_key=WRONG_KEY) as llm,
        pytest.raises(PathorsAuthenticationError) as caught,
    ):
        llm.invoke("Hi")
    assert caught.value.status_code == 401
    assert WRONG_KEY not in str(caught.value)
    assert WRONG_KEY not in repr(caught.value)
    assert caught.value.is_retryable is False


def test_wrong_key_is_not_retried(emulator: PathorsEmulator, pathors_connection: Connection):
    with (
        pathors_connection.model(api_key=WRONG_KEY) as llm,
        pytest.raises(PathorsAuthenticationError),
    ):
        list(llm.stream("Hi"))
    assert len(chats(emulator)) == 1


def test_wrong_project_is_not_found(pathors_connection: Connection):
    project = f"no-such-project-{uuid.uuid4().hex[:8]}"
    with (
        pathors_connection.model(project_id=project) as llm,
        pytest.raises(PathorsNotFoundError) as caught,
    ):
        llm.invoke("Hi")
    assert caught.value.status_code == 404


def test_503_with_retry_after_zero_is_retried_to_success(
    emulator: PathorsEmulator, llm: ChatPathors
):
    emulator.inject(Fault(status=503, retry_after=0, times=1))
    recorder = RetryRecorder()
    reply = llm.invoke("Hi after a hiccup", config={"callbacks": [recorder]})
    assert reply.content == "You said: Hi after a hiccup"
    assert len(chats(emulator)) == 2  # the refused attempt, then the retry
    (error,) = recorder.retries  # the retry was visible to callbacks
    assert isinstance(error, PathorsServerError)
    assert error.status_code == 503


def test_503_on_create_session_is_retried(emulator: PathorsEmulator, llm: ChatPathors):
    emulator.inject(Fault(status=503, retry_after=0, endpoint="session"))
    sid = f"it-create-{uuid.uuid4().hex[:8]}"
    reply = llm.invoke("Hi", session_id=sid, session_variables={"userName": "Ada"})
    assert reply.content == "Hello! Session variables: userName=Ada. You said: Hi"
    assert [r.path.endswith(SESSION_PATH) for r in emulator.requests] == [True, True, False]


def test_500_on_a_session_call_is_outcome_unknown_and_not_resent(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = f"it-unknown-{uuid.uuid4().hex[:8]}"
    emulator.inject(Fault(status=500, session_id=sid))
    with pytest.raises(PathorsOutcomeUnknownError) as caught:
        llm.invoke("Book the table", session_id=sid)
    assert caught.value.session_id == sid
    assert caught.value.status_code == 500
    assert caught.value.is_retryable is False
    record = emulator.session(sid)
    assert record is not None
    assert record.turns == 1
    assert len(chats(emulator)) == 1


def test_500_without_a_session_is_retried(emulator: PathorsEmulator, llm: ChatPathors):
    emulator.inject(Fault(status=500))
    assert llm.invoke("Hi").content == "You said: Hi"  # each attempt is a fresh session
    assert len(chats(emulator)) == 2


async def test_cut_stream_on_a_session_keeps_the_partial_text(
    emulator: PathorsEmulator, llm: ChatPathors
):
    sid = f"it-cut-{uuid.uuid4().hex[:8]}"
    emulator.inject(Fault(cut_after=3, session_id=sid))
    received: list[str] = []
    with pytest.raises(PathorsOutcomeUnknownError) as caught:
        async for chunk in llm.astream("one two three four five", session_id=sid):
            received.append(str(chunk.content))
    assert caught.value.session_id == sid
    assert "".join(received) == "You said: "  # two words arrived before the cut
    assert caught.value.partial_text == "You said: "
    assert len(chats(emulator)) == 1  # never re-sent once a chunk was yielded
    await llm.aclose()


def test_long_retry_after_fails_at_once(emulator: PathorsEmulator, pathors_connection: Connection):
    emulator.inject(Fault(status=429, retry_after=3600))
    with (
        pathors_connection.model(max_retry_after=5) as llm,
        pytest.raises(PathorsRateLimitError) as caught,
    ):
        llm.invoke("Hi")
    assert caught.value.retry_after == 3600
    assert len(chats(emulator)) == 1
