"""A loopback emulator of the Pathors API, for tests, demos, benchmarks and fault injection.

It serves the documented routes (chat completions and create session) over real HTTP,
with sessions, variables, tool calls, streaming and injectable faults. Who answers is a
pluggable :class:`Pathway`: the deterministic :class:`EchoPathway` by default, any
LangChain chat model, or your own function.

Example:
    >>> from langchain_pathors.emulator import Fault, PathorsEmulator
    >>> with PathorsEmulator() as emulator:  # doctest: +SKIP
    ...     emulator.inject(Fault(status=429, retry_after=1))
    ...     ...  # point the client at emulator.base_url

Needs the ``emulator`` extra: ``pip install 'langchain-pathors[emulator]'``.
"""

from __future__ import annotations

try:  # fail early and clearly when the extra is missing
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "the emulator needs the extra: pip install 'langchain-pathors[emulator]'"
    ) from exc

from ._faults import Fault
from ._pathways import (
    CallablePathway,
    ChatModelPathway,
    EchoPathway,
    Pathway,
    PathwayReply,
    PathwayRequest,
    ToolCallReply,
)
from ._server import PathorsEmulator
from ._state import RecordedRequest, SessionRecord
from ._turn_log import TurnRecord

__all__ = [
    "CallablePathway",
    "ChatModelPathway",
    "EchoPathway",
    "Fault",
    "PathorsEmulator",
    "Pathway",
    "PathwayReply",
    "PathwayRequest",
    "RecordedRequest",
    "SessionRecord",
    "ToolCallReply",
    "TurnRecord",
]
