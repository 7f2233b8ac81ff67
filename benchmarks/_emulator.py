"""The emulator in a child process: `python -m langchain_pathors.emulator` on 127.0.0.1.

The child binds port 0 and prints `export PATHORS_BASE_URL=...`; we read the real port
from that line (no race for a "free" port), wait for `/_emulator/health`, and stop the
child with SIGTERM (then SIGKILL) when the `with` block ends, error or not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROJECT_ID = "bench-project"
API_KEY = "bench-key"
PATHWAY = "benchmarks._pathway:reply"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


# The CPUs this run may use, read before anything is pinned.
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def split_cpus(*, server: int | None = None) -> None:
    """Servers on the last CPU, the measuring process on the others (Linux, 2+ CPUs).

    On a 2-core machine a client and its server otherwise share both cores, and the
    scheduler moving them about adds to each contender's CPU figure unevenly. Every
    contender is measured under the same split; with one CPU this does nothing.
    """
    if len(_CPUS) < 2:
        return
    if server is None:
        os.sched_setaffinity(0, set(_CPUS[:-1]))
    else:
        os.sched_setaffinity(server, {_CPUS[-1]})


class EmulatorProcess:
    """A running emulator subprocess; use as a context manager.

    Args:
        latency: Seconds the server waits before answering each request.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    @property
    def api_root(self) -> str:
        """The OpenAI-compatible root: `<base>/api/project/<id>/integration/api`."""
        return f"{self.base_url}/api/project/{PROJECT_ID}/integration/api"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @classmethod
    @contextlib.contextmanager
    def pair(cls, latency: float) -> Iterator[tuple[EmulatorProcess, EmulatorProcess]]:
        """Two emulators, with no latency and with `latency`, started side by side."""
        fast, slow = cls(), cls(latency=latency)
        try:
            fast.launch()
            slow.launch()
            fast.wait_ready()
            slow.wait_ready()
            yield fast, slow
        finally:
            fast.stop()
            slow.stop()

    def start(self) -> EmulatorProcess:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        """Start the child process (returns at once; `wait_ready` waits for it to serve)."""
        cmd = [
            sys.executable,
            "-m",
            "langchain_pathors.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--project-id",
            PROJECT_ID,
            "--api-key",
            API_KEY,
            "--latency",
            str(self.latency),
            "--pathway",
            PATHWAY,
        ]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err
        )
        split_cpus(server=self._proc.pid)

    def wait_ready(self) -> None:
        """Wait for the printed base URL and a healthy `/_emulator/health`; stop on failure."""
        try:
            self.base_url = self._wait_for_url()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _read(self, handle: tempfile._TemporaryFileWrapper[bytes] | object) -> str:
        handle.seek(0)  # type: ignore[attr-defined]
        return handle.read().decode(errors="replace")  # type: ignore[attr-defined]

    def _wait_for_url(self) -> str:
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self._read(self._out).splitlines():
                if line.startswith("export PATHORS_BASE_URL="):
                    return line.partition("=")[2].strip("'\"")
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        msg = f"the emulator did not start:\n{self._read(self._err)[-2000:]}"
        raise RuntimeError(msg)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/_emulator/health", timeout=2).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the emulator never answered /_emulator/health")

    def reset(self) -> None:
        """Forget the sessions the server made (one per request), so its memory stays flat."""
        httpx.post(
            f"{self.base_url}/_emulator/reset",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        ).raise_for_status()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT)
        self._out.close()
        self._err.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
