"""The turn log: which chat requests landed in which session, in arrival order.

Request logs answer "what was sent"; this log answers the question session bugs raise:
did the call that asked for a tool and the call that sent its result back land in the
same session, did two conversations share one, did a replay reach an old session. Each
valid chat request adds one :class:`TurnRecord` when the server counts its turn (before
faults and the pathway), so a re-sent request shows as its own turn.

The log is bounded (the oldest turns are dropped first) and thread-safe: the server
thread writes, the test's thread reads copies.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MAX_TURNS", "TurnLog", "TurnRecord"]

MAX_TURNS = 10_000
"""How many turns the log keeps, across all sessions (the oldest are dropped first)."""


@dataclass(frozen=True)
class TurnRecord:
    """One chat request, as the session it landed in saw it.

    Attributes:
        seq: Position in the emulator's turn log (1 for the first turn after a reset),
            across all sessions, so turns of different sessions can be ordered.
        session_id: The session the request ran in (sent by the client, or assigned
            by the server when the request named none).
        turn: The session's turn number (1 for its first chat request).
        roles: The roles of the request's messages, in order.
        tool_results: The ``tool_call_id`` of each trailing ``tool`` message: the tool
            results this request sends back (empty when it sends none).
        tools: The names of the tools bound to the request.
        stream: Whether the client asked for a stream.
        reply_tool_calls: The names of the tools the reply called (empty for a text
            reply), or ``None`` when no reply was produced (a status fault, a failing
            pathway, or a reply still being computed).

    Examples:
        >>> t = TurnRecord(1, "s1", 1, ("user",), (), ("get_weather",), False, ("get_weather",))
        >>> t.message_count, t.has_tool_results
        (1, False)

    """

    seq: int
    session_id: str
    turn: int
    roles: tuple[str, ...]
    tool_results: tuple[str, ...]
    tools: tuple[str, ...]
    stream: bool
    reply_tool_calls: tuple[str, ...] | None = None

    @property
    def message_count(self) -> int:
        """How many messages the request carried."""
        return len(self.roles)

    @property
    def has_tool_results(self) -> bool:
        """Whether the request sent tool results back (its last message is a tool result)."""
        return bool(self.tool_results)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (what the admin route returns)."""
        data = asdict(self)
        data["message_count"] = self.message_count
        return data


class TurnLog:
    """A bounded, thread-safe log of chat turns.

    Writing is on every chat request's path, so it stores plain tuples and builds
    :class:`TurnRecord` snapshots only when read.

    Example:
        >>> log = TurnLog()
        >>> seq = log.add("s1", 1, [{"role": "user", "content": "Hi"}], [], stream=False)
        >>> log.set_reply(seq, [])
        >>> [(t.session_id, t.turn, t.roles, t.reply_tool_calls) for t in log.turns()]
        [('s1', 1, ('user',), ())]

    """

    def __init__(self, max_turns: int = MAX_TURNS) -> None:
        self._lock = threading.Lock()
        self._max_turns = max_turns
        self._turns: deque[_Entry] = deque()
        self._replies: dict[int, tuple[str, ...]] = {}
        self._seq = 0

    def add(
        self,
        session_id: str,
        turn: int,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]],
        *,
        stream: bool,
    ) -> int:
        """Record a turn from a validated chat request; return its ``seq``."""
        roles = tuple(str(m.get("role")) for m in messages)
        trailing: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            trailing.append(str(message.get("tool_call_id")))
        trailing.reverse()
        names = tuple(str(t.get("function", {}).get("name")) for t in tools)
        with self._lock:
            self._seq += 1
            if len(self._turns) >= self._max_turns:
                dropped = self._turns.popleft()
                self._replies.pop(dropped[0], None)
            self._turns.append((self._seq, session_id, turn, roles, tuple(trailing), names, stream))
            return self._seq

    def set_reply(self, seq: int, tool_calls: Sequence[str]) -> None:
        """Note the tools the reply to turn ``seq`` called (nothing if it was dropped)."""
        with self._lock:
            if self._turns and self._turns[0][0] <= seq <= self._seq:
                self._replies[seq] = tuple(tool_calls)

    def turns(self, session_id: str | None = None) -> list[TurnRecord]:
        """The logged turns, oldest first; only one session's when ``session_id`` is given."""
        with self._lock:
            return [
                TurnRecord(*entry, reply_tool_calls=self._replies.get(entry[0]))
                for entry in self._turns
                if session_id is None or entry[1] == session_id
            ]

    def clear(self) -> None:
        """Forget every turn and restart ``seq`` at 1."""
        with self._lock:
            self._turns.clear()
            self._replies.clear()
            self._seq = 0


# seq, session_id, turn, roles, tool_results, tools, stream (TurnRecord's first fields)
_Entry = tuple[int, str, int, tuple[str, ...], tuple[str, ...], tuple[str, ...], bool]
