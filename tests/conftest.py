"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry sleeps (sync and async) through `_retry_loop`'s seam, without waiting."""
    recorded: list[float] = []

    async def fake_async_sleep(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr("langchain_pathors._retry_loop.sleep", recorded.append)
    monkeypatch.setattr("langchain_pathors._retry_loop.async_sleep", fake_async_sleep)
    return recorded


@pytest.fixture(autouse=True)
def _fresh_process_sessions() -> None:
    """Each test starts with no session heads or created sessions remembered.

    They are per process by design; tests reuse ids (and the emulator is reset between
    tests), so one test's sessions must not look created or forked to the next.
    """
    from langchain_pathors._session_turns import forget_process_sessions

    forget_process_sessions()
