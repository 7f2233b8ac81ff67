"""LangChain integration for Pathors: `ChatPathors`, sessions with variables, typed errors.

Example:
    ```python
    from langchain_pathors import ChatPathors

    llm = ChatPathors(project_id="...", api_key="...")
    print(llm.invoke("Hello!").content)
    ```
"""

from langchain_pathors._sessions import PathorsSession
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
    "PathorsNotFoundError",
    "PathorsOutcomeUnknownError",
    "PathorsPermissionDeniedError",
    "PathorsRateLimitError",
    "PathorsResponseError",
    "PathorsServerError",
    "PathorsSession",
    "PathorsStreamError",
    "PathorsTimeoutError",
    "__version__",
]
