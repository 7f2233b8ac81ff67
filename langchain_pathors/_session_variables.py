"""`SessionVariables`: session variables that repr, `dumps` and traces never show.

Session variables are often personal data (a name, an account number). A plain dict given
to `llm.bind(session_variables=...)` is printed by the binding's `repr` and written out by
LangChain's `dumps`; this mapping shows only its variable names in both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["SessionVariables", "hide_session_variables", "plain_variables"]


class SessionVariables(Mapping[str, Any]):
    """Session variables whose values never appear in `repr`, `dumps`, logs or traces.

    It is a read-only mapping: pass it wherever session variables go. `ChatPathors.bind`
    wraps a plain dict in one for you. The values are still sent to Pathors when the
    session is created, and `pickle` keeps them (it is how objects reach other processes).

    Example:
        ```python
        from langchain_pathors import ChatPathors, SessionVariables

        variables = SessionVariables({"userName": "John", "accountNumber": "12-345"})
        user_llm = llm.bind(session_id="user-42", session_variables=variables)
        repr(user_llm)  # ... SessionVariables(<2 hidden: accountNumber, userName>) ...
        ```
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        merged = dict(values or {}, **more)
        for name in merged:
            if not isinstance(name, str):
                msg = f"session variable names must be strings, not {type(name).__name__}"
                raise TypeError(msg)
        self._values = merged

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SessionVariables(<{len(self._values)} hidden: {', '.join(sorted(self))}>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (SessionVariables, (self._values,))


def hide_session_variables(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with a plain `session_variables` mapping wrapped in `SessionVariables`."""
    variables = kwargs.get("session_variables")
    if isinstance(variables, Mapping) and not isinstance(variables, SessionVariables):
        return {**kwargs, "session_variables": SessionVariables(variables)}
    return kwargs


def plain_variables(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plain dict of `variables` (what goes into a request body), or None.

    Raises:
        TypeError: `variables` is not a mapping.
    """
    if variables is None:
        return None
    if not isinstance(variables, Mapping):
        msg = f"session_variables must be a mapping, not {type(variables).__name__}"
        raise TypeError(msg)
    return dict(variables)
