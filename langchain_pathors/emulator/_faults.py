"""Fault injection: what can go wrong with a request, and which request it happens to.

A :class:`Fault` describes one misbehaviour (an error status, latency, a cut or stalled
stream, a malformed body...). A :class:`FaultPlan` holds an ordered list of faults; for
each request the first fault that matches (endpoint, session, probability) and still has
uses left fires, and only then is one use consumed.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

__all__ = ["Endpoint", "Fault", "FaultPlan", "default_error_message"]

Endpoint = Literal["chat", "session", "any"]

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
        # Fail at injection time, not in the middle of a test's request.
        if self.endpoint not in ("chat", "session", "any"):
            raise ValueError(f"endpoint must be 'chat', 'session' or 'any', not {self.endpoint!r}")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for unlimited)")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        for name in ("cut_after", "error_event_after", "stall_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.latency < 0 or self.chunk_latency < 0 or self.stall_seconds < 0:
            raise ValueError("latency, chunk_latency and stall_seconds must be >= 0")

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
        try:
            return cls(**data)
        except TypeError as exc:  # e.g. a comparison with a wrongly typed value
            raise ValueError(str(exc)) from exc


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
        """Append a fault (earlier faults take precedence)."""
        with self._lock:
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
