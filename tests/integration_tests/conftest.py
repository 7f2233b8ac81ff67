"""Fixtures: the server under test (emulator by default, real Pathors with credentials)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from ._connection import (
    EMULATOR_ONLY,
    REAL_SERVICE,
    Connection,
    close_shared_connection,
    shared_connection,
)


@pytest.fixture(scope="session", autouse=True)
def pathors_connection() -> Iterator[Connection]:
    """The connection every test in this folder uses; the emulator stops at the end."""
    try:
        yield shared_connection()
    finally:
        close_shared_connection()


@pytest.fixture
def emulator(pathors_connection: Connection) -> Iterator[PathorsEmulator]:
    """The shared emulator, reset before and after the test (skipped against Pathors)."""
    if pathors_connection.emulator is None:
        pytest.skip(EMULATOR_ONLY)
    emu = pathors_connection.emulator
    emu.reset()
    yield emu
    emu.reset()


@pytest.fixture
def emulator_only() -> None:
    """Skip a test that needs emulator-only features when running against Pathors."""
    if REAL_SERVICE:
        pytest.skip(EMULATOR_ONLY)


@pytest.fixture
def llm(pathors_connection: Connection) -> Iterator[ChatPathors]:
    """A ChatPathors pointed at the server under test, closed afterwards."""
    model = pathors_connection.model()
    yield model
    model.close()


@pytest.fixture
def start_emulator(emulator_only: None) -> Iterator[Callable[[Any], PathorsEmulator]]:
    """Start an extra emulator with its own pathway (stopped after the test)."""
    started: list[PathorsEmulator] = []

    def start(pathway: Any) -> PathorsEmulator:
        emu = PathorsEmulator(pathway).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def model_for(emu: PathorsEmulator, **kwargs: Any) -> ChatPathors:
    """A ChatPathors pointed at `emu`."""
    return ChatPathors(
        base_url=emu.base_url, project_id=emu.project_id, api_key=emu.api_key, **kwargs
    )
