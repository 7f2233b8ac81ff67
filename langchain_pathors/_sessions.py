"""Session ids: validation, fresh ids, and the created-session value.

A session is server-side state (the pathway's position and its variables). Ids are user
input that ends up in an HTTP header, so they are validated before any request is built.
Which session a call uses is `_session_resolver`'s job; turns, forks and creating a
session once are `_session_turns`'.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "PathorsSession",
    "new_session_id",
    "session_from_body",
    "validate_project_id",
    "validate_session_id",
]

MAX_SESSION_ID_LENGTH = 256


@dataclass(frozen=True)
class PathorsSession:
    """A session the server has created.

    Attributes:
        session_id: The id to pass as `session_id=` on later calls.
        pathway_id: The pathway that serves this project.

    Example:
        ```python
        session = llm.create_session(variables={"userName": "John"})
        llm.invoke("Hi", session_id=session.session_id)
        ```
    """

    session_id: str
    pathway_id: str | None = None


def validate_session_id(value: object) -> str:
    """Return `value` if it can travel safely in the `X-Session-ID` header, else raise.

    Allowed: 1 to 256 visible ASCII characters (no spaces, CR, LF or other control
    characters), so an id can neither inject a header nor be mangled in transit.
    """
    if not isinstance(value, str):
        msg = f"session_id must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    if not value:
        msg = "session_id must not be empty"
        raise ValueError(msg)
    if len(value) > MAX_SESSION_ID_LENGTH:
        msg = f"session_id is {len(value)} characters long; the limit is {MAX_SESSION_ID_LENGTH}"
        raise ValueError(msg)
    if not all("!" <= ch <= "~" for ch in value):
        msg = (
            "session_id may contain only visible ASCII characters "
            "(no spaces, control characters or line breaks)"
        )
        raise ValueError(msg)
    return value


def validate_project_id(value: object) -> str:
    """Return `value` if it can be one URL path segment once quoted, else raise.

    Quoting handles `/`, `?`, `#` and `%`; the dot segments `.` and `..` must be refused
    because URL normalisation would resolve them against the path.
    """
    if not isinstance(value, str) or not value:
        msg = (
            "project_id is required: pass project_id=... or set PATHORS_PROJECT_ID "
            "(find it in your Pathors project settings)"
        )
        raise ValueError(msg)
    if value.strip() in {".", ".."} or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        msg = "project_id must be a plain identifier, not a path or control characters"
        raise ValueError(msg)
    return value


def new_session_id() -> str:
    """A fresh, unguessable session id (122 random bits)."""
    return f"lc-{uuid.uuid4().hex}"


def session_from_body(session_id: str, body: dict[str, Any]) -> PathorsSession:
    """The session a create-session answer describes (the id sent, unless it names one)."""
    returned = body.get("sessionId")
    pathway = body.get("pathwayId")
    return PathorsSession(
        session_id=returned if isinstance(returned, str) and returned else session_id,
        pathway_id=pathway if isinstance(pathway, str) else None,
    )
