"""Build a ChatPathors from misused settings and call it, in a fresh process; report as JSON.

`python -m tests.reliability._misuse_child SPEC`, SPEC a JSON object: `canary` (a string
that must show up nowhere), `cases` (each with `name`, `settings` (ChatPathors keyword
arguments), `env` (environment variables set for the case) and `modes` (any of "invoke",
"ainvoke", "stream", "astream")). Construction is part of each measured call, as in a
user's script. For each case and mode the report says which exception ended it, its
message, the time it took, the growth of peak RSS, and where the canary showed up: the
error (str, repr, args, the traceback with its chain, pydantic's `errors()`/`json()`),
`on_llm_error`, `on_retry` and DEBUG logs of httpx, httpcore and this package.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import ValidationError

from langchain_pathors import ChatPathors

LOGGERS = ("httpx", "httpcore", "langchain_pathors")


class Seen(BaseCallbackHandler):
    """Keeps what error and retry callbacks receive."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.retries = 0

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.texts.append(f"{error!s} {error!r} {kwargs!r}")

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        self.retries += 1
        self.texts.append(repr(retry_state.outcome.exception()))


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


async def _call(settings: dict[str, Any], mode: str, seen: Seen) -> None:
    llm = ChatPathors(**settings)
    config: Any = {"callbacks": [seen]}
    try:
        if mode == "invoke":
            llm.invoke("Hi", config=config)
        elif mode == "ainvoke":
            await llm.ainvoke("Hi", config=config)
        elif mode == "stream":
            for _ in llm.stream("Hi", config=config):
                pass
        else:
            async for _ in llm.astream("Hi", config=config):
                pass
    finally:
        llm.close()
        await llm.aclose()


def run_case(case: dict[str, Any], mode: str, canary: str, logs: io.StringIO) -> dict[str, Any]:
    saved = {name: os.environ.get(name) for name in case["env"]}
    os.environ.update(case["env"])
    seen = Seen()
    logs.seek(0)
    logs.truncate()
    reset = _reset_peak()
    before = _status("VmRSS")
    start = time.monotonic()
    error: BaseException | None = None
    try:
        asyncio.run(_call(case["settings"], mode, seen))
    except BaseException as exc:  # everything: an untyped error is what we look for
        error = exc
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    report: dict[str, Any] = {
        "case": case["name"],
        "mode": mode,
        "elapsed": time.monotonic() - start,
        "rss_growth": _status("VmHWM") - before if reset else None,
        "retries": seen.retries,
        "error": None,
    }
    if error is not None:
        places = {
            "str": str(error),
            "repr": repr(error),
            "args": repr(error.args),
            "traceback": "".join(traceback.format_exception(error)),
            "callbacks": " ".join(seen.texts),
            "logs": logs.getvalue(),
        }
        if isinstance(error, ValidationError):
            places["errors()"] = repr(error.errors())
            places["json()"] = error.json()
        report["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "is_retryable": getattr(error, "is_retryable", None),
            "canary_in": [name for name, text in places.items() if canary in text],
        }
    return report


def main() -> None:
    spec = json.loads(sys.argv[1])
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    reports = [
        run_case(case, mode, spec["canary"], logs)
        for case in spec["cases"]
        for mode in case["modes"]
    ]
    print(json.dumps(reports))  # noqa: T201 - the report is the child's output


if __name__ == "__main__":
    main()
