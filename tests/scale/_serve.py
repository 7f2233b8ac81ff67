"""A server in its own process group for the length of a test: started, waited for, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

__all__ = ["serve"]


@contextmanager
def serve(
    command: list[str],
    *,
    name: str,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    ready_url: str,
    ready_status: int | None = 200,
    startup_seconds: float = 90,
    stop_seconds: float = 30,
) -> Iterator[None]:
    """Run `command` until the block ends; ready once `ready_url` answers `ready_status`.

    `ready_status=None` takes any HTTP answer (an app with no health route).

    The process has its own process group, so stopping it stops whatever it started
    (uvicorn's workers, langgraph dev's server). A server that exits or does not become
    ready in time fails the test with the end of its log.
    """
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}):\n{_tail(log_path)}")
            try:
                status = httpx.get(ready_url, timeout=2).status_code
                if ready_status is None or status == ready_status:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not start in time:\n{_tail(log_path)}")
            time.sleep(0.25)
        yield
    finally:
        _stop(proc, stop_seconds)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


def _stop(proc: subprocess.Popen[bytes], seconds: float) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
