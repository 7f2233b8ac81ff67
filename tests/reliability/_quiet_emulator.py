"""The secrets suites' emulator: a pathway that never repeats session variables back.

The suite's own `emu` (conftest) greets with the session's variables, which is the
pathway's output and so the user's business, not a leak; a test hunting for a leaked
variable needs a pathway that never prints one. A module imports both fixtures below;
its `emu` then replaces the conftest one for that module only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_pathors.emulator import PathorsEmulator, PathwayRequest

from .conftest import API_KEY, PROJECT

__all__ = ["emu", "quiet_emu"]


@pytest.fixture(scope="module")
def quiet_emu() -> Iterator[PathorsEmulator]:
    """One quiet emulator per importing module, on an ephemeral loopback port."""

    def reply(request: PathwayRequest) -> str:
        return f"You said: {request.last_user_text}"

    with PathorsEmulator(reply, project_id=PROJECT, api_key=API_KEY) as emulator:
        yield emulator


@pytest.fixture
def emu(quiet_emu: PathorsEmulator) -> Iterator[PathorsEmulator]:
    """The quiet emulator with no sessions, recorded requests or faults."""
    quiet_emu.reset()
    yield quiet_emu
    quiet_emu.reset()
