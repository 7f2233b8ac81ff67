"""A tracer that keeps every run, as LangSmith would receive it (for trace assertions)."""

from __future__ import annotations

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run


class RunCollector(BaseTracer):
    """Keeps every traced run in `runs`."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run)
