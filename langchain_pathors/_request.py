"""From a LangChain call (messages, stop, kwargs, config) to the request and its session.

Which session a call uses is decided per call by `resolve_session` (the call's own
arguments, the model's settings, the history, the thread), so one model instance can
serve many users and conversations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.messages import BaseMessage

from langchain_pathors._client import ClientConfig
from langchain_pathors._messages import messages_to_wire
from langchain_pathors._retry import RetryPolicy
from langchain_pathors._session_params import CALL_SESSION_OPTIONS, check_call_kwargs
from langchain_pathors._session_resolver import (
    Endpoint,
    ResolvedSession,
    SessionRules,
    resolve_session,
)
from langchain_pathors._session_variables import plain_variables

if TYPE_CHECKING:
    from langchain_pathors.chat_models import ChatPathors

__all__ = [
    "CALL_OPTIONS",
    "PreparedCall",
    "body_params",
    "client_config",
    "http_timeout",
    "prepare_call",
]

# Per-call keyword arguments that configure the call rather than go into the request body.
CALL_OPTIONS = frozenset({*CALL_SESSION_OPTIONS, "stream"})
MAX_CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class PreparedCall:
    """A request body and the session the call belongs to."""

    body: dict[str, Any]
    session: ResolvedSession


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
    endpoint: Endpoint,
    rules: SessionRules,
    stream: bool,
) -> PreparedCall:
    """Build the call: its session (see `resolve_session`) and its request body."""
    check_call_kwargs(kwargs)
    thread_id = kwargs.get("thread_id")
    if thread_id is not None and rules.from_thread is False:
        msg = "thread_id= picks a session only with ChatPathors(session_from_thread=True)"
        raise ValueError(msg)
    session = resolve_session(
        messages,
        endpoint=endpoint,
        rules=rules,
        call_session_id=kwargs.get("session_id"),
        # A SessionVariables (or any mapping) becomes the plain dict the request carries.
        call_variables=plain_variables(kwargs.get("session_variables")),
        thread_id=thread_id,
    )
    body: dict[str, Any] = {"messages": messages_to_wire(messages), "stream": stream}
    body.update(body_params(defaults, kwargs))
    if stop:
        body["stop"] = stop
    return PreparedCall(body, session)


def client_config(model: ChatPathors) -> ClientConfig:
    """The HTTP client's settings, from the model's fields."""
    return ClientConfig(
        base_url=model.base_url,
        project_id=model.project_id or "",
        api_key=model.api_key,
        timeout=http_timeout(model.timeout),
        stream_idle_timeout=model.stream_idle_timeout,
        default_headers=dict(model.default_headers or {}),
        retry=RetryPolicy(max_retries=model.max_retries, max_retry_after=model.max_retry_after),
        total_timeout=model.total_timeout,
        max_response_bytes=model.max_response_bytes,
        max_event_bytes=model.max_event_bytes,
    )


def http_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """Seconds become a timeout whose connect phase fails fast; None means no timeout."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    return httpx.Timeout(timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout))
