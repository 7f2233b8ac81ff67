"""Fault injection: what can go wrong with a request, and which request it happens to.

A :class:`Fault` describes one misbehaviour (an error status, latency, a cut or stalled
stream, a malformed body...). A :class:`FaultPlan` holds an ordered list of faults; for
each request the first fault that matches (endpoint, session, probability) and still has
uses left fires, and only then is one use consumed.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

__all__ = [
    "MAX_FAULTS",
    "MAX_FAULT_SECONDS",
    "Endpoint",
    "Fault",
    "FaultPlan",
    "default_error_message",
]

Endpoint = Literal["chat", "session", "any"]

MAX_FAULT_SECONDS = 600.0
"""Longest latency, chunk latency or stall a fault may ask for (ten minutes)."""
MAX_FAULTS = 1_000
"""Most faults pending at once: a plan is for tests, not a queue without end."""
_NO_BODY = (204, 205, 304)  # statuses HTTP forbids a body on: {"error": ...} cannot be sent


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value: Any) -> bool:
    # NaN fails every comparison the callers make, so it is refused there.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_DEFAULT_MESSAGES = {
    400: "Invalid request body",
    401: "Invalid authentication",
    404: "Not found",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def default_error_message(status: int) -> str:
    """The ``{"error": ...}`` text used for a status when a fault gives none.

    Example:
        >>> default_error_message(429)
        'Rate limit exceeded'

    """
    if status in _DEFAULT_MESSAGES:
        return _DEFAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass
class Fault:
    """One injected misbehaviour. Every field is optional; combine them freely.

    Attributes:
        status: Answer with this HTTP status and ``{"error": message}`` instead of a reply.
        message: The error text for ``status`` / ``error_event_after`` (a default per
            status otherwise).
        retry_after: Seconds to put in a ``Retry-After`` header.
        retry_after_ms: Milliseconds to put in a ``retry-after-ms`` header.
        latency: Seconds to wait before answering (does not block other requests).
        chunk_latency: Seconds between stream events (overrides the emulator's default).
        cut_after: Stream: after this many events, drop the connection (no
            ``finish_reason``, no ``[DONE]``).
        malformed: Non-stream: the body is not valid JSON. Stream: the first event after
            the opening role chunk carries invalid JSON.
        error_event_after: Stream: after this many events send ``data: {"error": ...}``
            and end the stream.
        stall_after: Stream: after this many events send only ``: keep-alive`` comments
            every 0.1 s for ``stall_seconds``, then continue normally.
        stall_seconds: How long a stall lasts.
        json_for_stream: Answer a streaming request with the ordinary JSON body.
        endpoint: Which route the fault applies to: ``"chat"``, ``"session"`` or ``"any"``.
        times: How many matching requests it applies to (``None`` = unlimited).
        probability: Chance that a matching request gets the fault (seeded, reproducible).
        session_id: Only requests for this session match.

    Values are checked when the fault is made, and a ``ValueError`` names the first bad
    one: ``status`` is 200-599 and allows a body (not 204, 205 or 304); counts are
    integers >= 0; seconds are numbers >= 0, at most ``MAX_FAULT_SECONDS`` (600) for
    ``latency``, ``chunk_latency`` and ``stall_seconds``; flags are booleans.

    Examples:
        >>> Fault(status=429, retry_after=1.0).times
        1

        A stream cut after three events, twice, for one session only:

        >>> fault = Fault(cut_after=3, times=2, session_id="user-42")

    """

    status: int | None = None
    message: str | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    latency: float = 0.0
    chunk_latency: float = 0.0
    cut_after: int | None = None
    malformed: bool = False
    error_event_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    json_for_stream: bool = False
    endpoint: Endpoint = "chat"
    times: int | None = 1
    probability: float = 1.0
    session_id: str | None = None

    def __post_init__(self) -> None:
        # Fail at injection time, not in the middle of a test's request: every value
        # that could later break a response (a wrong type, NaN, a status that forbids
        # a body) or hold a connection for hours is refused here.
        if self.endpoint not in ("chat", "session", "any"):
            raise ValueError(f"endpoint must be 'chat', 'session' or 'any', not {self.endpoint!r}")
        if self.status is not None and not (
            _is_int(self.status) and 200 <= self.status <= 599 and self.status not in _NO_BODY
        ):
            raise ValueError(
                f"status must be an HTTP status from 200 to 599 that allows a body, "
                f"not {self.status!r}"
            )
        for name in ("message", "session_id"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.message is not None and not _encodable(self.message):
            raise ValueError("message must be text that UTF-8 can encode (no lone surrogates)")
        if self.times is not None and not (_is_int(self.times) and self.times >= 1):
            raise ValueError("times must be an integer of at least 1 (or None for unlimited)")
        if not (_is_number(self.probability) and 0.0 <= self.probability <= 1.0):
            raise ValueError("probability must be a number from 0 to 1")
        for name in ("cut_after", "error_event_after", "stall_after", "retry_after_ms"):
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0")
        if self.retry_after is not None and not (
            _is_number(self.retry_after) and 0 <= self.retry_after < math.inf
        ):
            raise ValueError("retry_after must be a finite number of seconds >= 0")
        for name in ("latency", "chunk_latency", "stall_seconds"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value <= MAX_FAULT_SECONDS):
                limit = f"{MAX_FAULT_SECONDS:g}"
                raise ValueError(f"{name} must be a number of seconds from 0 to {limit}")
        for name in ("malformed", "json_for_stream"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    @property
    def error_message(self) -> str:
        """The error text this fault sends."""
        if self.message is not None:
            return self.message
        return default_error_message(self.status if self.status is not None else 500)

    def to_dict(self) -> dict[str, Any]:
        """The fault as a JSON-ready dict (the body of ``POST /_emulator/faults``).

        Examples:
            >>> Fault(status=503).to_dict()["status"]
            503
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from a dict, rejecting unknown fields.

        Examples:
            >>> Fault.from_dict({"status": 429, "retry_after": 2}).retry_after
            2

        Raises:
            ValueError: On an unknown field or an invalid value.

        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**data)


class FaultPlan:
    """An ordered, thread-safe list of faults with their remaining uses.

    Example:
        >>> plan = FaultPlan(seed=0)
        >>> plan.add(Fault(status=503))
        >>> plan.pick("chat", "s1").status
        503
        >>> plan.pick("chat", "s1") is None
        True

    """

    def __init__(self, seed: int | None = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - reproducible load tests, not crypto
        self._entries: list[list[Any]] = []  # [fault, remaining uses or None]

    def add(self, fault: Fault) -> None:
        """Append a fault (earlier faults take precedence).

        Raises:
            ValueError: When ``MAX_FAULTS`` faults are already pending.

        """
        with self._lock:
            if len(self._entries) >= MAX_FAULTS:
                raise ValueError(f"at most {MAX_FAULTS} faults may be pending")
            self._entries.append([fault, fault.times])

    def clear(self) -> None:
        """Remove every fault and re-seed the random generator."""
        with self._lock:
            self._entries.clear()
            self._rng = random.Random(self._seed)  # noqa: S311

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def pick(self, endpoint: Literal["chat", "session"], session_id: str | None) -> Fault | None:
        """Return the fault to apply to a request (consuming one use), or ``None``."""
        with self._lock:
            for entry in self._entries:
                fault: Fault = entry[0]
                if fault.endpoint not in (endpoint, "any"):
                    continue
                if fault.session_id is not None and fault.session_id != session_id:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                if entry[1] is not None:
                    entry[1] -= 1
                # Exhausted faults leave the plan so `len(plan)` shows what is pending.
                if entry[1] == 0:
                    self._entries.remove(entry)
                return fault
            return None
