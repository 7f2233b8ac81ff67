"""What the child-process probes share: peak RSS, log capture, the four ways to call a model,
and the places a secret must never show up in.

The children (`_client_child`, `_misuse_child`) run ChatPathors calls in a fresh process so
that the test runner's own memory is not counted; each reports, per call, how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import io
import logging
import time
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from langchain_pathors import ChatPathors

__all__ = [
    "Measured",
    "capture_logs",
    "leak_places",
    "measure",
    "reset_peak",
    "run_mode",
    "status",
]

LOGGERS = ("httpx", "httpcore", "langchain_pathors")


def status(field: str) -> int:
    """A `/proc/self/status` figure (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False if refused.

    Memory freed by earlier calls is first given back to the system, so that a call
    cannot hide its growth by reusing it.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def capture_logs() -> io.StringIO:
    """DEBUG logs of httpx, httpcore and this package, collected in one buffer."""
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    return logs


async def run_mode(llm: ChatPathors, mode: str, config: Any, **kwargs: Any) -> None:
    """One call in `mode`: "invoke", "ainvoke", "stream" or "astream" (streams read whole)."""
    if mode == "invoke":
        llm.invoke("Hi", config=config, **kwargs)
    elif mode == "ainvoke":
        await llm.ainvoke("Hi", config=config, **kwargs)
    elif mode == "stream":
        for _ in llm.stream("Hi", config=config, **kwargs):
            pass
    else:
        async for _ in llm.astream("Hi", config=config, **kwargs):
            pass


def leak_places(error: BaseException, callbacks: list[str], logs: io.StringIO) -> dict[str, str]:
    """Every text a user, a callback or a log reader sees of `error`, by where it is seen."""
    return {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "traceback": "".join(traceback.format_exception(error)),
        "callbacks": " ".join(callbacks),
        "logs": logs.getvalue(),
    }


@dataclass
class Measured:
    """How one measured call ended: its exception (if any), time, and peak RSS growth."""

    error: BaseException | None
    elapsed: float
    rss_growth: int | None  # None where the peak could not be reset


def measure(call: Coroutine[Any, Any, None], logs: io.StringIO) -> Measured:
    """Run `call` in a new event loop, from an empty log buffer and a freshly reset peak."""
    logs.seek(0)
    logs.truncate()
    reset = reset_peak()
    before = status("VmRSS")
    start = time.monotonic()
    error: BaseException | None = None
    try:
        asyncio.run(call)
    except BaseException as exc:  # everything: an untyped error is what the probes look for
        error = exc
    elapsed = time.monotonic() - start
    return Measured(error, elapsed, status("VmHWM") - before if reset else None)
