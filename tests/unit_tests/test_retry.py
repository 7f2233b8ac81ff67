"""The retry policy: Retry-After parsing, backoff, and which statuses may be re-sent."""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_pathors import _retry
from langchain_pathors._retry import (
    CallState,
    FailureKind,
    RetryPolicy,
    Verdict,
    kind_of_status,
    parse_retry_after,
)

NOW = 1_700_000_000.0  # a fixed "now", so HTTP-date waits are exact


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> float:
    # Replace the module's `time` only: patching time.time itself would reach pytest too.
    monkeypatch.setattr(_retry, "time", SimpleNamespace(time=lambda: NOW))
    return NOW


@pytest.fixture
def non_utc_local_time() -> Iterator[None]:
    """Run with the local zone 9 hours from UTC, so a date read as local time is off."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"  # a POSIX zone string: needs no tz database
    time.tzset()
    assert time.timezone == -9 * 3600
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


# --------------------------------------------------------------------------- Retry-After
@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250.5"}, 0.2505),
        ({"retry-after-ms": "1500", "retry-after": "10"}, 1.5),  # ms takes precedence
        ({"retry-after-ms": "soon", "retry-after": "10"}, 10.0),  # bad ms: fall back
        ({"retry-after-ms": "-5", "retry-after": "10"}, 10.0),
        ({"retry-after-ms": "nan", "retry-after": "4"}, 4.0),
    ],
)
def test_parse_retry_after_seconds(headers: dict[str, str], seconds: float) -> None:
    assert parse_retry_after(headers) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "soon"},
        {"retry-after": "-1"},
        {"retry-after": "-0.5"},
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after": "1e400"},
        {"retry-after": ""},
        {"retry-after": "Mon, 99 Foo 2024 99:99:99 GMT"},
        {"retry-after-ms": "garbage"},
        {"retry-after-ms": "inf"},
    ],
)
def test_parse_retry_after_garbage_is_none(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers) is None


def test_parse_retry_after_reads_httpx_headers_case_insensitively() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "4"})) == 4.0
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "100"})) == pytest.approx(0.1)


def test_parse_retry_after_http_date(frozen_now: float) -> None:
    date = email.utils.formatdate(frozen_now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}) == pytest.approx(30.0)


def test_parse_retry_after_http_date_in_the_past_is_zero(frozen_now: float) -> None:
    date = email.utils.formatdate(frozen_now - 3600, usegmt=True)
    assert parse_retry_after({"retry-after": date}) == 0.0


@pytest.mark.usefixtures("non_utc_local_time")
@pytest.mark.parametrize(
    "form",
    ["%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"],
    ids=["IMF-fixdate", "RFC-850", "asctime"],
)
def test_parse_retry_after_every_http_date_form_is_utc(frozen_now: float, form: str) -> None:
    date = time.strftime(form, time.gmtime(frozen_now + 90))
    assert parse_retry_after({"retry-after": date}) == pytest.approx(90.0)


# --------------------------------------------------------------------------- backoff
class EdgeRandom(random.Random):
    """A random source that always draws the low or the high end of the range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def test_backoff_doubles_until_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, rng=EdgeRandom(high=True))
    assert [policy.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 8, 8, 8]
    low = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, rng=EdgeRandom(high=False))
    assert [low.backoff(n) for n in range(1, 7)] == [0.25, 0.5, 1, 2, 4, 4]


def test_backoff_with_seeded_jitter_stays_within_half_to_full_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, rng=random.Random(1234))
    for retry_number in range(1, 12):
        ceiling = min(8.0, 0.5 * 2 ** (retry_number - 1))
        for _ in range(50):
            assert ceiling / 2 <= policy.backoff(retry_number) <= ceiling


def test_backoff_jitter_varies_and_is_reproducible_with_a_seed() -> None:
    first = RetryPolicy(rng=random.Random(7))
    second = RetryPolicy(rng=random.Random(7))
    draws = [first.backoff(3) for _ in range(20)]
    assert draws == [second.backoff(3) for _ in range(20)]
    assert len(set(draws)) > 1  # there is jitter


@settings(deadline=None)
@given(
    initial=st.floats(0.001, 10),
    cap=st.floats(0.001, 60),
    retry_number=st.integers(1, 60),
    seed=st.integers(0, 2**32),
)
def test_backoff_never_exceeds_the_cap(
    initial: float, cap: float, retry_number: int, seed: int
) -> None:
    policy = RetryPolicy(initial_backoff=initial, max_backoff=cap, rng=random.Random(seed))
    delay = policy.backoff(retry_number)
    ceiling = min(cap, initial * 2 ** (retry_number - 1))
    assert ceiling / 2 <= delay <= ceiling <= cap


# --------------------------------------------------------------------------- delay_for
def test_delay_for_counts_retries_not_attempts() -> None:
    policy = RetryPolicy(max_retries=2, rng=EdgeRandom(high=True))
    assert policy.delay_for(1, None) == 0.5
    assert policy.delay_for(2, None) == 1.0
    assert policy.delay_for(3, None) is None


def test_no_retries_at_all() -> None:
    assert RetryPolicy(max_retries=0).delay_for(1, None) is None
    assert RetryPolicy(max_retries=0).delay_for(1, 0.1) is None


def test_delay_for_honours_retry_after_even_above_max_backoff() -> None:
    policy = RetryPolicy(max_backoff=8.0, max_retry_after=60.0)
    assert policy.delay_for(1, 0.0) == 0.0
    assert policy.delay_for(1, 30.0) == 30.0
    assert policy.delay_for(1, 60.0) == 60.0


def test_delay_for_gives_up_when_retry_after_exceeds_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay_for(1, 60.5) is None
    assert policy.delay_for(1, 3600.0) is None


# --------------------------------------------------------------------------- statuses
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, FailureKind.REFUSED),
        (503, FailureKind.REFUSED),
        (500, FailureKind.SERVER_FAILED),
        (502, FailureKind.SERVER_FAILED),
        (504, FailureKind.SERVER_FAILED),
        (307, FailureKind.REJECTED),
        (400, FailureKind.REJECTED),
        (401, FailureKind.REJECTED),
        (403, FailureKind.REJECTED),
        (404, FailureKind.REJECTED),
        (422, FailureKind.REJECTED),
        (501, FailureKind.REJECTED),
    ],
)
def test_kind_of_status(status: int, kind: FailureKind) -> None:
    assert kind_of_status(status) is kind


# --------------------------------------------------------------------------- the policy
K = FailureKind
RESEND, RAISE, FINAL, UNKNOWN = (
    Verdict.RESEND,
    Verdict.RAISE,
    Verdict.RAISE_FINAL,
    Verdict.OUTCOME_UNKNOWN,
)
# Columns: no session (a fresh server session per attempt), then pinned to a session; each
# for a non-streamed call, a stream before its first chunk, and a stream after it.
# fmt: off
#                   no session: plain   stream  delivered | pinned: plain  stream   delivered
TABLE: dict[FailureKind, tuple[Verdict, ...]] = {
    K.NOT_SENT:      (RESEND, RESEND, RAISE,   RESEND,  RESEND,  RAISE),
    K.REFUSED:       (RESEND, RESEND, RAISE,   RESEND,  RESEND,  RAISE),
    K.SERVER_FAILED: (RESEND, RESEND, RAISE,   UNKNOWN, UNKNOWN, UNKNOWN),
    K.LOST:          (RESEND, RESEND, RAISE,   UNKNOWN, UNKNOWN, UNKNOWN),
    K.TIMED_OUT:     (RESEND, RESEND, RAISE,   UNKNOWN, UNKNOWN, UNKNOWN),
    K.REJECTED:      (RAISE,  RAISE,  RAISE,   RAISE,   RAISE,   RAISE),
    K.UNSENDABLE:    (RAISE,  RAISE,  RAISE,   RAISE,   RAISE,   RAISE),
    K.BAD_ANSWER:    (RAISE,  RAISE,  RAISE,   FINAL,   UNKNOWN, UNKNOWN),
    K.TOO_LARGE:     (RAISE,  RAISE,  RAISE,   FINAL,   FINAL,   FINAL),
}
# fmt: on
CALLS = [
    CallState(session, streamed=streamed, delivered=delivered)
    for session in (None, "s-1")
    for streamed, delivered in ((False, False), (True, False), (True, True))
]


def test_the_table_covers_every_kind() -> None:
    assert set(TABLE) == set(FailureKind)


@pytest.mark.parametrize("kind", list(FailureKind), ids=lambda k: k.name)
def test_policy_table(kind: FailureKind) -> None:
    policy = RetryPolicy()
    assert tuple(policy.verdict(kind, call) for call in CALLS) == TABLE[kind]


@given(
    kind=st.sampled_from(list(FailureKind)),
    session=st.sampled_from([None, "s-1"]),
    streamed=st.booleans(),
    delivered=st.booleans(),
)
def test_a_session_turn_is_never_resent_when_it_may_have_been_applied(
    kind: FailureKind, session: str | None, streamed: bool, delivered: bool
) -> None:
    # The invariant behind the table: re-sending a pinned call happens only when the
    # server certainly did no work, and nothing is ever re-sent after a chunk was shown.
    call = CallState(session, streamed=streamed, delivered=delivered and streamed)
    verdict = RetryPolicy().verdict(kind, call)
    if verdict is Verdict.RESEND:
        assert not call.delivered
        assert not call.pinned or kind in (FailureKind.NOT_SENT, FailureKind.REFUSED)
    if verdict is Verdict.OUTCOME_UNKNOWN:
        assert call.pinned
