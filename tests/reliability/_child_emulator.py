"""The emulator in a child process, driven through its admin API (the load suites' server).

In a child process the server gets the other core, and the test process's RSS is the
client's alone. The `child` fixture (conftest) starts one per module that asks for it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from langchain_pathors.emulator import Fault

from .conftest import API_KEY, PROJECT

__all__ = ["ChildEmulator"]

START_TIMEOUT = 30.0


class ChildEmulator:
    """`python -m langchain_pathors.emulator` in a child process, driven by its admin API."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "langchain_pathors.emulator",
                "--port",
                "0",
                "--project-id",
                PROJECT,
                "--api-key",
                API_KEY,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.base_url = ""
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("export PATHORS_BASE_URL="):
                self.base_url = line.split("=", 1)[1].strip().strip("'")
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError("the emulator child process did not start")
        self.admin = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
        )

    def inject(self, fault: Fault) -> None:
        self.admin.post("/_emulator/faults", json=fault.to_dict()).raise_for_status()

    def reset(self) -> None:
        self.admin.post("/_emulator/reset").raise_for_status()

    def turns(self, session_id: str) -> int:
        response = self.admin.get(f"/_emulator/sessions/{session_id}")
        response.raise_for_status()
        return int(response.json()["turns"])

    def stop(self) -> None:
        if hasattr(self, "admin"):
            self.admin.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
