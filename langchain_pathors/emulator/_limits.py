"""The emulator's bounds: what one request may hold, and what the server remembers.

Every bound is documented (docs/testing.md, "Limits") and adjustable, on the
constructor (``PathorsEmulator(limits=EmulatorLimits(...))``) or at run time through
``emulator.limits``. A request past a request bound gets a 4xx with the documented
``{"error": ...}`` body; the stores forget their oldest entries past theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["EmulatorLimits"]

KIB = 1024
MIB = 1024 * KIB


@dataclass
class EmulatorLimits:
    """Bounds on requests and on the emulator's memory. Defaults fit any normal test.

    Attributes:
        max_body_bytes: A request body larger than this is refused with ``413``. The body
            is read in pieces and reading stops at the cap.
        max_json_depth: Bodies nested deeper than this (arrays and objects) are refused
            with ``400``.
        max_tools: Most tools one chat request may bind (OpenAI's limit is 128).
        max_stop: Most ``stop`` sequences one chat request may send (OpenAI's is 4).
        max_variables_bytes: Largest session ``variables`` object, as compact JSON.
        max_sessions: Sessions kept; past it the least recently used is forgotten (a
            later request for it starts a new session, with no variables).
        max_session_bytes: Total size of all sessions' variables (characters of compact
            JSON); past it the least recently used sessions are forgotten.
        max_recorded_requests: Requests kept in ``emulator.requests`` (oldest dropped).
        max_recorded_bytes: Total size of the bodies and headers the request log keeps
            (oldest dropped).
        max_stream_deltas: Most content deltas in one streamed reply: longer replies put
            several words in each delta. A pathway's own ``chunks`` are sent as given.

    Example:
        >>> EmulatorLimits(max_body_bytes=1024).max_tools
        128

    """

    max_body_bytes: int = 4 * MIB
    max_json_depth: int = 64
    max_tools: int = 128
    max_stop: int = 4
    max_variables_bytes: int = 64 * KIB
    max_sessions: int = 10_000
    max_session_bytes: int = 64 * MIB
    max_recorded_requests: int = 1_000
    max_recorded_bytes: int = 32 * MIB
    max_stream_deltas: int = 2_048

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{item.name} must be a positive integer, not {value!r}")
