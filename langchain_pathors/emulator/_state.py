"""In-memory state of the emulator: sessions, and bounded logs of requests and turns.

The turn log (which chat requests landed in which session) lives in ``_turn_log``.

The store is shared by the server thread (which handles HTTP requests) and the test's
main thread (which inspects sessions), so every access goes through one lock and
callers only ever get copies, never the live records.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._turn_log import TurnLog

__all__ = ["RecordedRequest", "SessionRecord", "SessionStore"]

MAX_RECORDED_REQUESTS = 1000
"""How many received requests the log keeps (the oldest are dropped first)."""

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
    """Thread-safe sessions plus the log of the last 1,000 received requests.

    Example:
        >>> store = SessionStore()
        >>> _ = store.create("s1", {"userName": "Ada"})
        >>> store.begin_turn("s1").turns
        1

    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _MutableSession] = {}
        self._requests: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
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
        new_vars = copy.deepcopy(dict(variables or {}))
        with self._lock:
            rec = self._sessions.get(session_id)
            if rec is None:
                rec = _MutableSession(session_id, new_vars, 0, "session_endpoint")
                self._sessions[session_id] = rec
            else:
                rec.variables = new_vars
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
                rec = _MutableSession(session_id, {}, 0, "chat")
                self._sessions[session_id] = rec
            rec.turns += 1
            return rec.snapshot()

    def get(self, session_id: str) -> SessionRecord | None:
        """Return a snapshot of one session, or ``None`` if the server does not know it."""
        with self._lock:
            rec = self._sessions.get(session_id)
            return rec.snapshot() if rec is not None else None

    def all(self) -> list[SessionRecord]:
        """Return snapshots of every session, oldest first."""
        with self._lock:
            return [rec.snapshot() for rec in self._sessions.values()]

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the bounded log."""
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        """Return the logged requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget every session, every logged request and every logged turn."""
        with self._lock:
            self._sessions.clear()
            self._requests.clear()
        self.turn_log.clear()


@dataclass
class _MutableSession:
    session_id: str
    variables: dict[str, Any]
    turns: int
    created_by: SessionOrigin

    def snapshot(self) -> SessionRecord:
        # Deep copy: a test mutating the snapshot must not alter the server's state.
        return SessionRecord(
            self.session_id, copy.deepcopy(self.variables), self.turns, self.created_by
        )
