"""Retries, through ChatPathors and one level down: what `_retry_loop` does with each verdict.

Which failures may be re-sent is `_retry`'s table (`test_retry.py`); here, that the loop
carries it out: the waits, the retry count, the hook and its events, the errors raised.
The `sleeps` fixture records the waits through the module's test seam.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from langchain_pathors import (
    PathorsConnectionError,
    PathorsOutcomeUnknownError,
    PathorsRateLimitError,
    PathorsResponseError,
    PathorsServerError,
    PathorsTimeoutError,
    _retry_loop,
)
from langchain_pathors._retry import CallState, Failure, FailureKind, RetryPolicy
from langchain_pathors._retry_loop import Retries, RetryEvent
from tests.unit_tests.conftest import FakePathors, completion


def error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    """An error response; header keywords use "_" for "-" (retry_after -> retry-after)."""
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.Response(status, json={"error": message}, headers=named)


# --------------------------------------------------------------------- through ChatPathors
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


# --------------------------------------------------------------------- Retries, directly
def refused(retry_after: float | None = 0.75) -> Failure:
    return Failure(FailureKind.REFUSED, PathorsServerError("busy", status_code=503), retry_after)


def test_each_retry_is_told_to_the_hook_then_waited_for(sleeps: list[float]) -> None:
    told: list[RetryEvent] = []
    retries = Retries(RetryPolicy(max_retries=2), told.append)
    failure = refused()
    retries.wait(failure, CallState("s-1"))
    retries.wait(failure, CallState("s-1"))
    assert [(e.retry_number, e.delay, e.error) for e in told] == [
        (1, 0.75, failure.error),
        (2, 0.75, failure.error),
    ]
    assert sleeps == [0.75, 0.75]
    assert retries.made == 2
    with pytest.raises(PathorsServerError) as info:  # max_retries spent: the error itself
        retries.wait(failure, CallState("s-1"))
    assert info.value is failure.error
    assert len(told) == 2
    assert sleeps == [0.75, 0.75]


async def test_an_awaitable_from_the_hook_is_awaited_before_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    async def fake_sleep(delay: float) -> None:
        order.append(f"slept {delay}")

    async def report(event: RetryEvent) -> None:
        order.append(f"reported retry {event.retry_number}")

    monkeypatch.setattr(_retry_loop, "async_sleep", fake_sleep)
    retries = Retries(RetryPolicy(max_retries=1), report)
    await retries.await_(refused(), CallState(None))
    assert order == ["reported retry 1", "slept 0.75"]
    assert retries.made == 1


def test_a_turn_that_may_have_been_applied_is_outcome_unknown(sleeps: list[float]) -> None:
    lost = Failure(FailureKind.LOST, PathorsTimeoutError("read timed out"))
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        Retries(RetryPolicy(), None).wait(lost, CallState("s-9"))
    assert info.value.session_id == "s-9"
    assert info.value.__cause__ is lost.error
    assert sleeps == []


def test_a_bad_answer_in_a_session_is_raised_as_not_retryable(sleeps: list[float]) -> None:
    bad = Failure(FailureKind.BAD_ANSWER, PathorsResponseError("not JSON"))
    assert bad.error.is_retryable
    with pytest.raises(PathorsResponseError) as info:
        Retries(RetryPolicy(), None).wait(bad, CallState("s-1"))
    assert info.value.is_retryable is False
    assert sleeps == []


def test_a_server_wait_above_the_cap_is_not_waited_for(sleeps: list[float]) -> None:
    told: list[RetryEvent] = []
    with pytest.raises(PathorsServerError):
        Retries(RetryPolicy(max_retry_after=30), told.append).wait(refused(3600), CallState(None))
    assert told == []
    assert sleeps == []


def test_each_retry_is_logged_with_its_number_and_wait(
    sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="langchain_pathors"):
        Retries(RetryPolicy(max_retries=3), None).wait(refused(), CallState(None))
    assert caplog.messages == ["Pathors request failed (PathorsServerError); retry 1 of 3 in 0.75s"]
