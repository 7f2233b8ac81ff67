"""In-memory state of the emulator: sessions, and bounded logs of requests and turns.

The turn log (which chat requests landed in which session) lives in ``_turn_log``.

The store is shared by the server thread (which handles HTTP requests) and the test's
main thread (which inspects sessions), so every access goes through one lock and
callers only ever get copies, never the live records.

Both are bounded by :class:`EmulatorLimits` (read at each change, so a limit lowered at
run time applies from the next request): sessions are forgotten least recently used
first, logged requests oldest first. Variables and logged bodies are kept as compact
JSON text and parsed again on each read, so what is held is close to the bytes received
and every read is a fresh copy.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ._limits import EmulatorLimits
from ._turn_log import TurnLog

__all__ = ["RecordedRequest", "SessionRecord", "SessionStore"]

SessionOrigin = Literal["session_endpoint", "chat"]


@dataclass(frozen=True)
class SessionRecord:
    """A snapshot of one server-side session.

    Attributes:
        session_id: The session id, as sent by the client or assigned by the server.
        variables: The session variables (a copy; changing it changes nothing).
        turns: How many valid chat requests this session has received so far.
        created_by: ``"session_endpoint"`` when created with the session API,
            ``"chat"`` when a chat request adopted an unknown id or was assigned one.

    Examples:
        >>> rec = SessionRecord("s1", {"userName": "Ada"}, turns=0, created_by="chat")
        >>> rec.turns
        0

    """

    session_id: str
    variables: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    created_by: SessionOrigin = "chat"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received on the Pathors API routes.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: The request path as received (still percent-encoded).
        headers: Header names (lower case) to values; ``authorization`` is redacted
            to ``"Bearer ***"`` so the log never holds the key.
        json: The parsed JSON body, or ``None`` when the body was not valid JSON.
        session_id: The session the request was for, when one was known.

    Examples:
        >>> req = RecordedRequest("POST", "/api/project/p/integration/api/session", {}, None, None)
        >>> req.method
        'POST'

    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any | None
    session_id: str | None


class SessionStore:
    """Thread-safe sessions plus a bounded log of received requests.

    Example:
        >>> store = SessionStore()
        >>> _ = store.create("s1", {"userName": "Ada"})
        >>> store.begin_turn("s1").turns
        1

    """

    def __init__(self, limits: EmulatorLimits | None = None) -> None:
        self.limits = limits or EmulatorLimits()
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, _MutableSession] = OrderedDict()  # LRU first
        self._session_bytes = 0
        self._requests: deque[_LogEntry] = deque()
        self._request_bytes = 0
        self.turn_log = TurnLog()  # has its own lock; reset() clears it with the rest

    def create(self, session_id: str, variables: Mapping[str, Any] | None) -> SessionRecord:
        """Create a session, or replace the variables of an existing one.

        Re-creating keeps the turn count and the original ``created_by``: the session
        is the same conversation, only its variables are new.

        Args:
            session_id: The id chosen by the client.
            variables: Initial variables (``None`` means none).

        Returns:
            A snapshot of the session after the change.

        """
        new_vars = _compact(dict(variables or {}))
        with self._lock:
            rec = self._sessions.get(session_id)
            if rec is None:
                rec = _MutableSession(session_id, new_vars, 0, "session_endpoint")
                self._sessions[session_id] = rec
            else:
                self._session_bytes -= len(rec.variables)
                rec.variables = new_vars
                self._sessions.move_to_end(session_id)
            self._session_bytes += len(new_vars)
            self._forget_sessions()
            return rec.snapshot()

    def begin_turn(self, session_id: str) -> SessionRecord:
        """Count one chat turn, adopting the id (with no variables) if it is unknown.

        Args:
            session_id: The id of the chat request's session.

        Returns:
            A snapshot taken after the increment (so the first turn has ``turns == 1``).

        """
        with self._lock:
            rec = self._sessions.get(session_id)
            if rec is None:
                rec = _MutableSession(session_id, _NO_VARIABLES, 0, "chat")
                self._sessions[session_id] = rec
                self._session_bytes += len(rec.variables)
                self._forget_sessions()
            else:
                self._sessions.move_to_end(session_id)
            rec.turns += 1
            return rec.snapshot()

    def _forget_sessions(self) -> None:
        # Least recently used first; the newest session always stays.
        limits = self.limits
        while len(self._sessions) > 1 and (
            len(self._sessions) > limits.max_sessions
            or self._session_bytes > limits.max_session_bytes
        ):
            _, old = self._sessions.popitem(last=False)
            self._session_bytes -= len(old.variables)

    def get(self, session_id: str) -> SessionRecord | None:
        """Return a snapshot of one session, or ``None`` if the server does not know it."""
        with self._lock:
            rec = self._sessions.get(session_id)
            return rec.snapshot() if rec is not None else None

    def all(self) -> list[SessionRecord]:
        """Return snapshots of every session, oldest first."""
        with self._lock:
            return [rec.snapshot() for rec in self._sessions.values()]

    def record(self, request: RecordedRequest, raw_body: bytes | None = None) -> None:
        """Append a request to the bounded log.

        Args:
            request: The request, as a test will see it.
            raw_body: The body as received, when ``request.json`` was parsed from it: the
                log keeps these bytes rather than the parsed value (far smaller for some
                bodies) and parses them again on each read.

        """
        size = sum(len(k) + len(v) for k, v in request.headers.items())
        if raw_body is not None and request.json is not None:
            entry = _LogEntry(replace(request, json=None), raw_body, size + len(raw_body))
        else:
            entry = _LogEntry(request, None, size)
        with self._lock:
            self._requests.append(entry)
            self._request_bytes += entry.size
            limits = self.limits
            while len(self._requests) > 1 and (
                len(self._requests) > limits.max_recorded_requests
                or self._request_bytes > limits.max_recorded_bytes
            ):
                self._request_bytes -= self._requests.popleft().size

    def requests(self) -> list[RecordedRequest]:
        """Return the logged requests, oldest first."""
        with self._lock:
            entries = list(self._requests)
        return [entry.request_copy() for entry in entries]

    def reset(self) -> None:
        """Forget every session, every logged request and every logged turn."""
        with self._lock:
            self._sessions.clear()
            self._session_bytes = 0
            self._requests.clear()
            self._request_bytes = 0
        self.turn_log.clear()


_NO_VARIABLES = "{}"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _MutableSession:
    session_id: str
    variables: str  # compact JSON text
    turns: int
    created_by: SessionOrigin

    def snapshot(self) -> SessionRecord:
        # Parsed afresh: a test mutating the snapshot must not alter the server's state.
        variables = json.loads(self.variables)
        return SessionRecord(self.session_id, variables, self.turns, self.created_by)


@dataclass
class _LogEntry:
    request: RecordedRequest
    raw_body: bytes | None  # the JSON body as received, parsed again on each read
    size: int

    def request_copy(self) -> RecordedRequest:
        if self.raw_body is None:
            return self.request
        return replace(self.request, json=json.loads(self.raw_body))
