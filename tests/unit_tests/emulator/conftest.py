"""Fixtures for the emulator's tests: the app driven in-process (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator import PathorsEmulator
from langchain_pathors.emulator.pytest_plugin import (  # noqa: F401 - the fixtures under test
    pathors_emulator,
    pathors_emulator_fresh,
)

PROJECT = "test-project"
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = f"/api/project/{PROJECT}/integration/api/chat/completions"
SESSION = f"/api/project/{PROJECT}/integration/api/session"


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def sse_events(text: str) -> list[Any]:
    """Parse an SSE body: JSON payloads, "[DONE]" as a string, comments skipped.

    Every event must be one `data:` line followed by a blank line.
    """
    assert text.endswith("\n\n") or text == "", f"body must end with a blank line: {text!r}"
    events: list[Any] = []
    for block in text.split("\n\n")[:-1]:
        if block.startswith(":"):
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def deltas(events: list[Any]) -> list[dict[str, Any]]:
    return [e["choices"][0]["delta"] for e in events if isinstance(e, dict)]


@pytest.fixture
def emulator() -> PathorsEmulator:
    """An emulator that is never started: tests drive its app in-process."""
    return PathorsEmulator(project_id=PROJECT, api_key=KEY)


@pytest.fixture
def client(emulator: PathorsEmulator) -> Iterator[TestClient]:
    with TestClient(emulator.app, base_url="http://emulator") as test_client:
        yield test_client
