"""The one place that decides whether a failed request may be sent again, and how soon.

A Pathors session is server-side state, so a re-sent POST can advance it twice. The client
classifies each failure into a `FailureKind` and describes the call (`CallState`: pinned
to a session or not, streamed or not, whether a chunk already reached the caller); the
policy answers with a `Verdict`. The rules:

- Re-send when the request certainly never reached the server (connect errors, pool
  timeouts), and on 429/503 (the server refused before doing work), honouring
  `Retry-After` / `retry-after-ms` up to `max_retry_after`; a longer wait fails at once.
- A call pinned to a session is not re-sent after anything the server may have applied
  (a 500/502/504, a read timeout, a deadline, a cut or stalled stream): the outcome is
  unknown (see `PathorsOutcomeUnknownError`).
- A call with no session gets a fresh server session each time, so re-sending is harmless,
  until a stream has handed a chunk to the caller: that is never repeated.
- What the server rejected (4xx other than 429, redirects), or answered in a shape or size
  that cannot be read, is never re-sent: the same request gets the same answer.
- `max_retries` counts retries, not attempts. Backoff is exponential with jitter, capped.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from langchain_pathors.errors import PathorsError

__all__ = [
    "CallState",
    "Failed",
    "Failure",
    "FailureKind",
    "RetryPolicy",
    "Verdict",
    "kind_of_status",
    "parse_retry_after",
]

# Statuses where the server refused before doing any work: safe to re-send even in a session.
REFUSED_BEFORE_WORK = frozenset({429, 503})
# Statuses where the server may have done the work: only safe without a session.
MAY_HAVE_WORKED = frozenset({500, 502, 504})


class FailureKind(Enum):
    """What a failure says about whether the server received and applied the request."""

    NOT_SENT = "the request never reached the server"  # connect error or timeout, pool timeout
    REFUSED = "the server refused before doing any work"  # 429, 503
    SERVER_FAILED = "the server failed, perhaps after applying the turn"  # 500, 502, 504
    LOST = "the answer was lost on the way"  # read/write error or timeout, cut stream
    TIMED_OUT = "the call passed a deadline"  # total_timeout, stream_idle_timeout
    REJECTED = "the server rejected the request"  # other 4xx, redirects, other statuses
    BAD_ANSWER = "the answer cannot be used"  # not JSON, wrong shape, error event
    TOO_LARGE = "the answer is over a size cap"  # max_response_bytes, max_event_bytes
    UNSENDABLE = "the request cannot be sent"  # a body or header that cannot be encoded


class Verdict(Enum):
    """What the client does with a failure."""

    RESEND = "send again, if retries and the server's wait allow"
    RAISE = "raise the error as it is"
    RAISE_FINAL = "raise, marked not retryable: the server applied the turn"
    OUTCOME_UNKNOWN = "raise PathorsOutcomeUnknownError: the turn may have been applied"


@dataclass(frozen=True)
class CallState:
    """The call a failure happened in.

    Attributes:
        session_id: The session the call is pinned to; None when the server assigns one.
        streamed: The answer is a stream of events.
        delivered: A stream chunk has already reached the caller.
    """

    session_id: str | None
    streamed: bool = False
    delivered: bool = False

    @property
    def pinned(self) -> bool:
        """Whether a re-send could repeat the session's turn."""
        return self.session_id is not None


# Kinds after which the server may have applied the turn without answering it fully.
_MAYBE_APPLIED = frozenset({FailureKind.SERVER_FAILED, FailureKind.LOST, FailureKind.TIMED_OUT})
# Kinds after which nothing reached the server's pathway: a re-send cannot repeat a turn.
_NOT_APPLIED = frozenset({FailureKind.NOT_SENT, FailureKind.REFUSED})


class Failure:
    """A classified failure: its kind, the error to raise, and the server's requested wait."""

    __slots__ = ("error", "kind", "retry_after")

    def __init__(
        self, kind: FailureKind, error: PathorsError, retry_after: float | None = None
    ) -> None:
        self.kind = kind
        self.error = error
        self.retry_after = retry_after


class Failed(Exception):  # an internal signal: never leaves the client
    """Raised inside the client (by the stream reader, the body reader) with a `Failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind.value)
        self.failure = failure


def kind_of_status(status_code: int) -> FailureKind:
    """The failure kind of an HTTP error status."""
    if status_code in REFUSED_BEFORE_WORK:
        return FailureKind.REFUSED
    if status_code in MAY_HAVE_WORKED:
        return FailureKind.SERVER_FAILED
    return FailureKind.REJECTED


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `Retry-After`."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            # asctime dates and "-0000" carry no zone; HTTP dates are always UTC, while a
            # naive datetime's timestamp() would read them as local time.
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(0.0, when.timestamp() - time.time())
    return value if math.isfinite(value) and value >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """Decides whether and how long to wait before the next attempt.

    Attributes:
        max_retries: How many times a request may be re-sent after the first attempt.
        initial_backoff: Base delay of the first retry, in seconds.
        max_backoff: Cap on any computed delay.
        max_retry_after: Longest server-requested wait honoured; longer fails at once.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (1-based): exponential, capped, equal jitter."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** (retry_number - 1)))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))

    def verdict(self, kind: FailureKind, call: CallState) -> Verdict:
        """What to do after a failure of this kind in this call (before counting retries)."""
        if call.pinned:
            if kind in _NOT_APPLIED and not call.delivered:
                return Verdict.RESEND
            if kind in _MAYBE_APPLIED or (kind is FailureKind.BAD_ANSWER and call.streamed):
                # A stream's malformed or error event: the text so far is kept on the error.
                return Verdict.OUTCOME_UNKNOWN
            if kind in (FailureKind.BAD_ANSWER, FailureKind.TOO_LARGE):
                return Verdict.RAISE_FINAL  # the server answered, so it applied the turn
            return Verdict.RAISE
        if not call.delivered and kind in _NOT_APPLIED | _MAYBE_APPLIED:
            return Verdict.RESEND  # the server gives each attempt a fresh session
        # Rejected, unreadable or oversized answers come back the same; a delivered chunk
        # cannot be taken back.
        return Verdict.RAISE

    def delay_for(self, retry_number: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry `retry_number`, or None when it must not happen.

        None means: no retries left, or the server asked for longer than we will wait.
        """
        if retry_number > self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(retry_number)
