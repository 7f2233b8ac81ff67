"""LangChain integration for Pathors: `ChatPathors`, sessions with variables, typed errors.

Example:
    ```python
    from langchain_pathors import ChatPathors

    llm = ChatPathors(project_id="...", api_key="...")
    print(llm.invoke("Hello!").content)
    ```

The names below are imported on first use (PEP 562), so importing a submodule such as
`langchain_pathors.errors` or `langchain_pathors.emulator` does not load the chat model,
LangChain's language-model stack and httpx with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_pathors._session_variables import SessionVariables
    from langchain_pathors._sessions import PathorsSession
    from langchain_pathors._settings import PathorsInsecureURLWarning
    from langchain_pathors._version import __version__
    from langchain_pathors.chat_models import ChatPathors
    from langchain_pathors.errors import (
        PathorsAPIStatusError,
        PathorsAuthenticationError,
        PathorsBadRequestError,
        PathorsConnectionError,
        PathorsError,
        PathorsNotFoundError,
        PathorsOutcomeUnknownError,
        PathorsPermissionDeniedError,
        PathorsRateLimitError,
        PathorsResponseError,
        PathorsServerError,
        PathorsSessionBusyError,
        PathorsSessionForkedError,
        PathorsSessionRegistryError,
        PathorsStreamError,
        PathorsTimeoutError,
    )

__all__ = [
    "ChatPathors",
    "PathorsAPIStatusError",
    "PathorsAuthenticationError",
    "PathorsBadRequestError",
    "PathorsConnectionError",
    "PathorsError",
    "PathorsInsecureURLWarning",
    "PathorsNotFoundError",
    "PathorsOutcomeUnknownError",
    "PathorsPermissionDeniedError",
    "PathorsRateLimitError",
    "PathorsResponseError",
    "PathorsServerError",
    "PathorsSession",
    "PathorsSessionBusyError",
    "PathorsSessionForkedError",
    "PathorsSessionRegistryError",
    "PathorsStreamError",
    "PathorsTimeoutError",
    "SessionVariables",
    "__version__",
]

# Where each public name lives (every name in __all__): the error classes are in `errors`.
_SOURCES = {name: "langchain_pathors.errors" for name in __all__ if name.endswith("Error")} | {
    "ChatPathors": "langchain_pathors.chat_models",
    "PathorsInsecureURLWarning": "langchain_pathors._settings",
    "PathorsSession": "langchain_pathors._sessions",
    "SessionVariables": "langchain_pathors._session_variables",
    "__version__": "langchain_pathors._version",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first access, then keep it as a module attribute."""
    source = _SOURCES.get(name)
    if source is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
