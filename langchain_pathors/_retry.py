"""The retry policy for a stateful server: when a failed request may be sent again.

A Pathors session is server-side state, so a re-sent POST can advance it twice. The rules:

- Retry when the request certainly never reached the server (connect errors, pool
  timeouts), and on 429/503 (the server refused before doing work), honouring
  `Retry-After` / `retry-after-ms` up to `max_retry_after`; a longer wait fails at once.
- A call pinned to a session is not re-sent after a 500/502/504, a read timeout or a cut
  stream: the outcome is unknown (see `PathorsOutcomeUnknownError`).
- A call with no session gets a fresh server session each time, so re-sending is harmless.
- 4xx other than 429 (bad request, bad key, unknown project) never succeed on retry.
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

__all__ = ["RetryPolicy", "parse_retry_after"]

# Statuses where the server refused before doing any work: safe to re-send even in a session.
REFUSED_BEFORE_WORK = frozenset({429, 503})
# Statuses where the server may have done the work: only safe without a session.
MAY_HAVE_WORKED = frozenset({500, 502, 504})


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

    def status_is_retryable(self, status_code: int, *, pinned: bool) -> bool:
        """Whether a response with this status may be re-sent."""
        if status_code in REFUSED_BEFORE_WORK:
            return True
        return status_code in MAY_HAVE_WORKED and not pinned

    def delay_for(self, retry_number: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry `retry_number`, or None when it must not happen.

        None means: no retries left, or the server asked for longer than we will wait.
        """
        if retry_number > self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(retry_number)
