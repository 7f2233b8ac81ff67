"""Two uvicorn worker processes share sessions through RedisSessionRegistry.

A user's concurrent requests land on either worker; at the server their session is
created once and its turns never overlap.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langchain_pathors.emulator import PathorsEmulator

from ._serve import serve
from ._server_log import ConcurrencyLog
from .conftest import free_port

pytest.importorskip("redis", reason="RedisSessionRegistry needs the [redis] extra")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web_service(emulator: PathorsEmulator, redis_db: str, tmp_path: Path) -> Iterator[str]:
    """`uvicorn --workers 2` serving tests/scale/_web_app.py; its URL. Stopped after."""
    port = free_port()
    env = {
        **os.environ,
        "PATHORS_API_KEY": emulator.api_key,
        "PATHORS_PROJECT_ID": emulator.project_id,
        "PATHORS_BASE_URL": emulator.base_url,
        "PATHORS_REDIS_URL": redis_db,
    }
    command = [sys.executable, "-m", "uvicorn", "tests.scale._web_app:app", "--workers", "2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    # The app has no health route: any HTTP answer means the workers are up.
    with serve(
        command,
        name="uvicorn",
        cwd=ROOT,
        env=env,
        log_path=tmp_path / "uvicorn.log",
        ready_url=url,
        ready_status=None,
    ):
        yield url


async def _burst(url: str, user: str, count: int) -> list[dict[str, str]]:
    async with httpx.AsyncClient(timeout=60) as client:
        replies = await asyncio.gather(
            *(
                client.post(f"{url}/chat", json={"user": user, "text": f"{user} message {i}"})
                for i in range(count)
            )
        )
    for reply in replies:
        reply.raise_for_status()
    return [reply.json() for reply in replies]


def test_two_users_bursting_at_two_workers_create_once_and_never_overlap(
    web_service: str, emulator: PathorsEmulator, server_log: ConcurrencyLog
) -> None:
    server_log.latency = 0.02

    async def both() -> list[list[dict[str, str]]]:
        return list(await asyncio.gather(*(_burst(web_service, u, 24) for u in ("ada", "bob"))))

    # Until both workers have served: the OS picks who accepts, and on a loaded machine the
    # second worker may still be starting when the first answers.
    deadline = time.monotonic() + 60
    while True:
        results = asyncio.run(both())
        if len({r["pid"] for rs in results for r in rs}) == 2 or time.monotonic() > deadline:
            break
    assert len({r["pid"] for rs in results for r in rs}) == 2, "one worker served everything"
    for user, replies in zip(("ada", "bob"), results, strict=True):
        assert {r["session"] for r in replies} == {user}
        # At the server: one create request for this user, turns one at a time.
        creates = [
            r for r in emulator.requests if r.path.endswith("/session") and r.session_id == user
        ]
        assert len(creates) == 1
        assert server_log.max_in_flight[user] == 1
        assert server_log.overlaps(user) == 0
    # The two users' sessions are independent: their turns did run at the same time.
    assert server_log.cross_session_overlaps() > 0
