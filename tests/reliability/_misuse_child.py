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

import io
import json
import os
import sys
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import ValidationError

from langchain_pathors import ChatPathors
from tests.reliability._probe import capture_logs, leak_places, measure, run_mode


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


async def _call(settings: dict[str, Any], mode: str, seen: Seen) -> None:
    llm = ChatPathors(**settings)
    try:
        await run_mode(llm, mode, {"callbacks": [seen]})
    finally:
        llm.close()
        await llm.aclose()


def run_case(case: dict[str, Any], mode: str, canary: str, logs: io.StringIO) -> dict[str, Any]:
    saved = {name: os.environ.get(name) for name in case["env"]}
    os.environ.update(case["env"])
    seen = Seen()
    try:
        measured = measure(_call(case["settings"], mode, seen), logs)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    report: dict[str, Any] = {
        "case": case["name"],
        "mode": mode,
        "elapsed": measured.elapsed,
        "rss_growth": measured.rss_growth,
        "retries": seen.retries,
        "error": None,
    }
    error = measured.error
    if error is not None:
        places = leak_places(error, seen.texts, logs)
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
    logs = capture_logs()
    reports = [
        run_case(case, mode, spec["canary"], logs)
        for case in spec["cases"]
        for mode in case["modes"]
    ]
    print(json.dumps(reports))  # noqa: T201 - the report is the child's output


if __name__ == "__main__":
    main()
