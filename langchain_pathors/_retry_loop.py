"""Acting on the retry policy's verdict: tell the `on_retry` hook, log, sleep, or raise.

`_retry` decides; this module carries the decision out for one call, counting its retries.
Sync and async are twins; the async one awaits a hook that returns an awaitable (LangChain's
async callback managers do).

`sleep` and `async_sleep` are the test seam: every retry waits through them, so a test
can record or skip the waits by patching these two names, without patching `time` or
`asyncio` for everyone.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langchain_pathors._failures import outcome_unknown
from langchain_pathors._retry import CallState, Failure, RetryPolicy, Verdict
from langchain_pathors.errors import PathorsError

__all__ = ["OnRetry", "Retries", "RetryEvent", "async_sleep", "sleep"]

logger = logging.getLogger("langchain_pathors")

# The test seam (see the module docstring): looked up at each retry, so patching works.
sleep: Callable[[float], None] = time.sleep
async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class RetryEvent:
    """Told to the `on_retry` hook before each retry sleeps."""

    retry_number: int
    delay: float
    error: PathorsError


# The hook may return an awaitable (async callback managers); the async path awaits it.
OnRetry = Callable[[RetryEvent], object]


class Retries:
    """One call's retries: each failure either waits for the next attempt or is raised."""

    def __init__(self, policy: RetryPolicy, on_retry: OnRetry | None) -> None:
        self._policy = policy
        self._on_retry = on_retry
        self.made = 0

    def wait(self, failure: Failure, call: CallState) -> None:
        """Tell the hook and sleep before the next attempt, or raise what the policy says."""
        event = self._next(failure, call)
        if self._on_retry is not None:
            self._on_retry(event)
        sleep(event.delay)
        self.made = event.retry_number

    async def await_(self, failure: Failure, call: CallState) -> None:
        """Async twin of `wait`; an awaitable from the hook is awaited."""
        event = self._next(failure, call)
        if self._on_retry is not None:
            outcome = self._on_retry(event)
            if inspect.isawaitable(outcome):
                await outcome
        await async_sleep(event.delay)
        self.made = event.retry_number

    def _next(self, failure: Failure, call: CallState) -> RetryEvent:
        """The retry to make now, or raise what the retry policy says to raise."""
        verdict = self._policy.verdict(failure.kind, call)
        error = failure.error
        if verdict is Verdict.RESEND:
            delay = self._policy.delay_for(self.made + 1, failure.retry_after)
            if delay is not None:
                logger.info(
                    "Pathors request failed (%s); retry %d of %d in %.2fs",
                    type(error).__name__,
                    self.made + 1,
                    self._policy.max_retries,
                    delay,
                )
                return RetryEvent(self.made + 1, delay, error)
        elif verdict is Verdict.OUTCOME_UNKNOWN:
            raise outcome_unknown(error, call.session_id) from error
        elif verdict is Verdict.RAISE_FINAL:
            error.is_retryable = False
        raise error
