"""From a LangChain call (messages, stop, kwargs) to the request to send and its session.

Which session a call uses is decided here, per call, from the call's own arguments first
and the model's configuration second, so one model instance can serve many users.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.messages import BaseMessage

from langchain_pathors._messages import messages_to_wire
from langchain_pathors._session_variables import plain_variables
from langchain_pathors._sessions import validate_session_id

__all__ = ["CALL_OPTIONS", "PreparedCall", "body_params", "http_timeout", "prepare_call"]

# Per-call keyword arguments that configure the call rather than go into the request body.
CALL_OPTIONS = frozenset({"session_id", "session_variables", "stream"})
MAX_CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class PreparedCall:
    """A request body, the session it is pinned to, and the variables to create it with."""

    body: dict[str, Any]
    session_id: str | None
    variables: dict[str, Any] | None


def body_params(defaults: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Model-level body fields overridden by call kwargs; unset (None) fields are not sent."""
    params = dict(defaults)
    params.update(
        (k, v) for k, v in kwargs.items() if k not in CALL_OPTIONS and not k.startswith("ls_")
    )
    return {k: v for k, v in params.items() if v is not None}


def prepare_call(
    messages: list[BaseMessage],
    *,
    stop: list[str] | None,
    kwargs: Mapping[str, Any],
    defaults: Mapping[str, Any],
    model_session_id: str | None,
    model_variables: Mapping[str, Any] | None,
    stream: bool,
) -> PreparedCall:
    """Build the call: the per-call session wins, and takes no model-level variables."""
    session_id = kwargs.get("session_id")
    variables = kwargs.get("session_variables")
    if session_id is None:
        session_id = model_session_id
        if variables is None:
            variables = model_variables
    # A SessionVariables (or any mapping) becomes the plain dict the request carries.
    variables = plain_variables(variables)
    if session_id is not None:
        validate_session_id(session_id)
    elif variables is not None:
        msg = "session_variables need a session_id"
        raise ValueError(msg)
    body: dict[str, Any] = {"messages": messages_to_wire(messages), "stream": stream}
    body.update(body_params(defaults, kwargs))
    if stop:
        body["stop"] = stop
    return PreparedCall(body, session_id, variables)


def http_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """Seconds become a timeout whose connect phase fails fast; None means no timeout."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    return httpx.Timeout(timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout))
