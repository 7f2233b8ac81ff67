"""No silent typos: an argument that looks like a session parameter but is not one fails.

A misspelt `sesion_id=` used to travel in the request body (per call) or vanish
(constructor), and the call then ran in a fresh session. Any other unknown constructor
argument follows the LangChain convention: it moves to `model_kwargs` with a warning.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.utils.utils import _build_model_kwargs, get_pydantic_field_names

__all__ = [
    "CALL_SESSION_OPTIONS",
    "MODEL_SESSION_FIELDS",
    "check_call_kwargs",
    "check_init_arguments",
    "check_model_kwargs",
    "refuse_cache",
    "session_typo",
]

CALL_SESSION_OPTIONS = ("session_id", "session_variables", "thread_id")
"""Per-call options about the session; they never go in the request body."""
MODEL_SESSION_FIELDS = (
    "session_id",
    "session_variables",
    "session_from_history",
    "session_from_thread",
    "on_session_fork",
    "session_concurrency",
)
_CUTOFF = 0.7


def _norm(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def session_typo(name: str, known: Iterable[str] = MODEL_SESSION_FIELDS) -> str | None:
    """The session parameter `name` was probably meant to be, or None if it looks unrelated.

    Example:
        ```python
        session_typo("sesion_id")  # 'session_id'
        session_typo("sessionId")  # 'session_id'
        session_typo("temperature")  # None
        ```
    """
    by_norm = {_norm(k): k for k in known}
    norm = _norm(name)
    close = difflib.get_close_matches(norm, by_norm, n=1, cutoff=_CUTOFF)
    if not close and ("sess" in norm or "sesion" in norm):
        close = difflib.get_close_matches(norm, by_norm, n=1, cutoff=0.0)
    return by_norm[close[0]] if close else None


def check_call_kwargs(kwargs: Mapping[str, Any]) -> None:
    """Refuse a per-call kwarg that looks like a session parameter but is not one.

    Raises:
        ValueError: naming the parameter that was meant.
    """
    for name in kwargs:
        if name in CALL_SESSION_OPTIONS:
            continue
        meant = session_typo(name, (*MODEL_SESSION_FIELDS, "thread_id"))
        if meant is None:
            continue
        if meant in CALL_SESSION_OPTIONS:
            msg = f"unknown call argument {name!r}: did you mean {meant!r}?"
        else:
            msg = (
                f"unknown call argument {name!r}: {meant!r} is a model setting, "
                f"set it on the model: ChatPathors({meant}=...)"
            )
        raise ValueError(msg)


def check_model_kwargs(model_kwargs: Mapping[str, Any]) -> None:
    """Refuse session parameters hidden in `model_kwargs` (they would go in the body).

    Raises:
        ValueError: naming the parameter to use instead.
    """
    for name in model_kwargs:
        meant = session_typo(name)
        if meant is not None:
            msg = (
                f"model_kwargs may not hold {name!r} (it would be sent in the request body): "
                f"pass {meant}=... to ChatPathors or to the call instead"
            )
            raise ValueError(msg)


def check_init_arguments(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Refuse session-like typos; move other unknown arguments to `model_kwargs` (warned).

    Raises:
        ValueError: for an unknown argument that looks like a session parameter.
    """
    known = get_pydantic_field_names(cls)
    for name in values:
        meant = None if name in known else session_typo(name)
        if meant is not None:
            msg = f"unknown argument {name!r}: did you mean {meant!r}?"
            raise ValueError(msg)
    values = _build_model_kwargs(dict(values), known)
    check_model_kwargs(values["model_kwargs"])
    return values


def refuse_cache(value: object) -> bool:
    """`cache` may only be off: a session turn is never answered from a cache.

    Every call is a turn that moves a server-side session. A cached answer would skip the
    turn, and its stamped session id would lead the next call into another conversation.

    Raises:
        ValueError: for `cache=True` or a cache instance.
    """
    if value not in (None, False):
        msg = (
            "ChatPathors does not cache: every call is a turn that moves a server-side "
            "session, so a cached answer would skip the turn or carry one "
            "conversation's session into another"
        )
        raise ValueError(msg)
    return False
