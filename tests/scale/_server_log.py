"""A pathway wrapper that records, at the server, when each request ran in which session.

The documented echo pathway answers; the wrapper only notes the start and end of each
request (on the emulator's event loop, so no lock is needed) and can add latency, so that
turns that overlap at the server are seen overlapping.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field

from langchain_pathors.emulator import EchoPathway, PathwayReply, PathwayRequest


@dataclass(frozen=True)
class Span:
    """One request as the server ran it."""

    session_id: str
    start: float
    end: float


@dataclass
class ConcurrencyLog:
    """The pathway to serve (`log.pathway`) and what it saw."""

    latency: float = 0.0
    spans: list[Span] = field(default_factory=list)
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _echo: EchoPathway = field(default_factory=EchoPathway)

    async def pathway(self, request: PathwayRequest) -> PathwayReply:
        sid = request.session.session_id
        start = time.monotonic()
        self._in_flight[sid] += 1
        self.max_in_flight[sid] = max(self.max_in_flight[sid], self._in_flight[sid])
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._echo.respond(request)
        finally:
            self._in_flight[sid] -= 1
            self.spans.append(Span(sid, start, time.monotonic()))

    def in_flight(self, session_id: str) -> int:
        """How many of this session's requests the server is running now."""
        return self._in_flight.get(session_id, 0)

    def overlaps(self, session_id: str) -> int:
        """How many pairs of this session's requests ran at the same time."""
        spans = sorted((s for s in self.spans if s.session_id == session_id), key=lambda s: s.start)
        return sum(1 for a, b in itertools.pairwise(spans) if b.start < a.end)

    def cross_session_overlaps(self) -> int:
        """How many pairs of requests of different sessions ran at the same time."""
        spans = self.spans
        return sum(
            1
            for i, a in enumerate(spans)
            for b in spans[i + 1 :]
            if a.session_id != b.session_id and a.start < b.end and b.start < a.end
        )
