"""Which session a call belongs to: the one rule, in one function.

Order (the first that applies wins):

| source    | when                                                                     |
|-----------|--------------------------------------------------------------------------|
| `call`    | a per-call `session_id` (kwarg, `.bind`, `configurable_fields`, or      |
|           | `config={"configurable": {"session_id": ...}}`)                          |
| `model`   | the model's own `session_id`                                             |
| `history` | `session_from_history=True` and the input holds an AIMessage this        |
|           | project (same base URL) produced: the session of the last such message   |
| `thread`  | `session_from_thread` is on and the call runs in a thread (LangGraph's   |
|           | `configurable.thread_id`): an id derived from the thread id              |
| `new`     | session variables are known: a fresh unguessable id, created with them   |
| `server`  | otherwise: no `X-Session-ID`, the server assigns a session               |

Results are stamped (`model_provider="pathors"`, `pathors_project_id`, `pathors_base_url`,
`session_id`, `session_source`, `pathors_reply_id`) so a later call can recognise them in
its history. Replies of another provider, project or base URL, and unstamped messages, are
never continued.

Continuing from the history is wrong when the history is not a live conversation: replaying
recorded conversations (an evaluation, a regression suite) would send their turns into the
old, real sessions. Use `session_from_history=False` there.

The thread rule is opt-in because thread ids are not unique across apps: "1" in one app
and "1" in another on the same project would share one server session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from langchain_core.messages import AIMessage, BaseMessage

from langchain_pathors._sessions import new_session_id, validate_session_id

__all__ = [
    "Endpoint",
    "ResolvedSession",
    "SessionRules",
    "SessionSource",
    "resolve_session",
    "thread_session_id",
]

SessionSource = Literal["call", "model", "history", "thread", "new", "server"]
ThreadRule = bool | Callable[[str], str]
PROVIDER = "pathors"


@dataclass(frozen=True)
class Endpoint:
    """The project a session lives in: its base URL (no credentials) and project id."""

    base_url: str
    project_id: str

    @classmethod
    def of(cls, base_url: str, project_id: str) -> Endpoint:
        """Normalise the base URL: no user info, query, fragment or trailing slash."""
        url = httpx.URL(base_url)
        clean = url.copy_with(username=None, password=None, query=None, fragment=None)
        return cls(str(clean).rstrip("/"), project_id)

    def stamp(self) -> dict[str, str]:
        """The metadata that marks a result as produced by this project."""
        return {
            "model_provider": PROVIDER,
            "pathors_project_id": self.project_id,
            "pathors_base_url": self.base_url,
        }

    def produced(self, message: BaseMessage) -> bool:
        """Whether `message` is a reply of this project (same base URL) with a session."""
        # Every message has response_metadata; most are empty or not ours, so those cheap
        # misses come first (`isinstance` on a pydantic class is the slow test). A history
        # is scanned with this on every call: 1,000 messages, 165 -> 100 us.
        meta = message.response_metadata
        return (
            bool(meta)
            and meta.get("pathors_base_url") == self.base_url
            and meta.get("pathors_project_id") == self.project_id
            and meta.get("model_provider") == PROVIDER
            and isinstance(message, AIMessage)
            and isinstance(meta.get("session_id"), str)
        )


@dataclass(frozen=True)
class SessionRules:
    """The model's session settings."""

    session_id: str | None = None
    variables: Mapping[str, Any] | None = None
    from_history: bool = True
    from_thread: ThreadRule = False


@dataclass(frozen=True)
class ResolvedSession:
    """The session of one call.

    Attributes:
        session_id: The id to send as `X-Session-ID`; None lets the server assign one.
        source: Why this session (see the module table).
        variables: The variables known for this session (for a fork's new session too).
        create: Whether the session must exist with `variables` before the turn (created
            once per process); False for a session found in the history.
        history_reply: The `pathors_reply_id` of the input's last reply from this
            session, to compare with the session's head.
    """

    session_id: str | None
    source: SessionSource
    variables: Mapping[str, Any] | None = None
    create: bool = False
    history_reply: str | None = None


def thread_session_id(thread_id: str, rule: ThreadRule) -> str:
    """The session id of a thread: `rule(thread_id)`, or `lc-thread-<sha256 prefix>`.

    The default is stable across processes and restarts, valid as a header whatever the
    thread id holds, and does not reveal the thread id.

    Example:
        ```python
        thread_session_id("1", True)  # 'lc-thread-6b86b273ff34fce19d6b804eff5a3f57'
        thread_session_id("1", lambda t: f"support-{t}")  # 'support-1'
        ```
    """
    if callable(rule):
        return validate_session_id(rule(thread_id))
    digest = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
    return f"lc-thread-{digest}"


def _last_reply(
    messages: Sequence[BaseMessage], endpoint: Endpoint, session_id: str | None = None
) -> AIMessage | None:
    for message in reversed(messages):
        if endpoint.produced(message) and (
            session_id is None or message.response_metadata["session_id"] == session_id
        ):
            return message  # type: ignore[return-value]
    return None


def _reply_id(message: AIMessage | None) -> str | None:
    value = None if message is None else message.response_metadata.get("pathors_reply_id")
    return value if isinstance(value, str) else None


def resolve_session(
    messages: Sequence[BaseMessage],
    *,
    endpoint: Endpoint,
    rules: SessionRules,
    call_session_id: str | None = None,
    call_variables: Mapping[str, Any] | None = None,
    thread_id: str | None = None,
) -> ResolvedSession:
    """Decide the session of a call (see the module table for the order).

    A per-call session takes only per-call variables: the model's variables belong to the
    model's own sessions.
    """
    variables = call_variables if call_variables is not None else rules.variables
    if call_session_id is not None:
        sid = validate_session_id(call_session_id)
        return _pinned(sid, "call", call_variables, messages, endpoint)
    if rules.session_id is not None:
        return _pinned(rules.session_id, "model", variables, messages, endpoint)
    if rules.from_history:
        last = _last_reply(messages, endpoint)
        if last is not None:
            sid = validate_session_id(last.response_metadata["session_id"])
            return ResolvedSession(sid, "history", variables, False, _reply_id(last))
    if rules.from_thread is not False and thread_id is not None:
        sid = thread_session_id(str(thread_id), rules.from_thread)
        return _pinned(sid, "thread", variables, messages, endpoint)
    if variables is not None:
        return ResolvedSession(new_session_id(), "new", variables, True)
    return ResolvedSession(None, "server")


def _pinned(
    session_id: str,
    source: SessionSource,
    variables: Mapping[str, Any] | None,
    messages: Sequence[BaseMessage],
    endpoint: Endpoint,
) -> ResolvedSession:
    reply = _reply_id(_last_reply(messages, endpoint, session_id))
    return ResolvedSession(session_id, source, variables, variables is not None, reply)
