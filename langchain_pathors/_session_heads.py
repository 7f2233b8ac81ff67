"""Each session's head: the last reply this process received in it, to notice forks.

A history may continue a session only from the session's latest reply. When the history's
last reply from a session is an older one (LangGraph time travel, `update_state`, a
"regenerate" button, an edited history, or two turns sent at once from one history), the
session has moved on without that history: sending the turn would graft it onto a
conversation it never saw.

Heads are per process and bounded (least recently used sessions are forgotten). A session
whose head is unknown (another process, a restart, a forgotten entry, a failed turn) is
never called forked: there is no evidence either way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["MAX_HEADS", "SessionHeads", "is_fork"]

MAX_HEADS = 20_000
"""Sessions whose head is remembered (about 300 bytes each, so at most about 6 MB)."""


def is_fork(head: str | None, history_reply: str | None) -> bool:
    """True when the history continues a session from a reply that is not its head.

    Example:
        ```python
        is_fork("r2", "r1")  # True: the session moved on after r1
        is_fork(None, "r1")  # False: head unknown (restart, another process)
        is_fork("r2", None)  # False: the history has no reply from this session
        ```
    """
    return head is not None and history_reply is not None and history_reply != head


class SessionHeads:
    """Thread-safe, bounded map from a session key to the id of its last reply."""

    def __init__(self, max_entries: int = MAX_HEADS) -> None:
        self._max_entries = max_entries
        self._heads: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        """The session's head, or None when unknown."""
        with self._lock:
            head = self._heads.get(key)
            if head is not None:
                self._heads.move_to_end(key)
            return head

    def set(self, key: Hashable, reply_id: str) -> None:
        """Record the session's latest reply."""
        with self._lock:
            self._heads[key] = reply_id
            self._heads.move_to_end(key)
            while len(self._heads) > self._max_entries:
                self._heads.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Make the head unknown (after a turn whose outcome is not known)."""
        with self._lock:
            self._heads.pop(key, None)

    def clear(self) -> None:
        """Forget every head."""
        with self._lock:
            self._heads.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._heads)
