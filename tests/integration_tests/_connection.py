"""Where the integration tests send their requests: the emulator, or the real Pathors.

With both ``PATHORS_API_KEY`` and ``PATHORS_PROJECT_ID`` set, the tests talk to the real
service (``PATHORS_BASE_URL`` or the default root); otherwise one ``PathorsEmulator`` on
127.0.0.1 serves the whole test session. The standard suite reads its model parameters
from a property (no fixtures there), so the shared connection is reachable without one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from langchain_pathors import ChatPathors
from langchain_pathors.chat_models import DEFAULT_BASE_URL
from langchain_pathors.emulator import PathorsEmulator

REAL_SERVICE = bool(os.environ.get("PATHORS_API_KEY")) and bool(
    os.environ.get("PATHORS_PROJECT_ID")
)
EMULATOR_ONLY = (
    "needs the emulator (session records, request log, faults or scripted pathways); "
    "PATHORS_API_KEY and PATHORS_PROJECT_ID point the tests at the real service"
)


@dataclass(frozen=True)
class Connection:
    """How to reach the server under test."""

    base_url: str
    project_id: str
    api_key: str
    emulator: PathorsEmulator | None = None

    @property
    def params(self) -> dict[str, Any]:
        """ChatPathors keyword arguments for this server."""
        return {"base_url": self.base_url, "project_id": self.project_id, "api_key": self.api_key}

    def model(self, **kwargs: Any) -> ChatPathors:
        """A ChatPathors pointed at this server (30 s timeout unless told otherwise)."""
        return ChatPathors(**{"timeout": 30.0, **self.params, **kwargs})


_shared: Connection | None = None


def shared_connection() -> Connection:
    """The test session's connection, starting the shared emulator on first use."""
    global _shared
    if _shared is None:
        if REAL_SERVICE:
            _shared = Connection(
                base_url=os.environ.get("PATHORS_BASE_URL") or DEFAULT_BASE_URL,
                project_id=os.environ["PATHORS_PROJECT_ID"],
                api_key=os.environ["PATHORS_API_KEY"],
            )
        else:
            emulator = PathorsEmulator().start()
            _shared = Connection(emulator.base_url, emulator.project_id, emulator.api_key, emulator)
    return _shared


def close_shared_connection() -> None:
    """Stop the shared emulator, if one was started."""
    global _shared
    if _shared is not None and _shared.emulator is not None:
        _shared.emulator.stop()
    _shared = None
