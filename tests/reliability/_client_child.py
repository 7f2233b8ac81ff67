"""Run ChatPathors calls in a separate process and report how each ended, as JSON.

`python -m tests.reliability._client_child` reads one JSON spec per line on stdin and
answers each with one JSON line on stdout. A spec has `base_url`, `api_key`, `settings`
(ChatPathors keyword arguments), `session_id`, and `modes` (any of "invoke", "ainvoke",
"stream", "astream"). For each mode the report says which exception
ended the call, its message, how long it took, by how much the process's peak RSS grew
(VmHWM, reset before each call), and every place the API key showed up: the error's
str/repr/args, the formatted traceback with its chain, `on_llm_error`, and DEBUG logs of
httpx, httpcore and this package.

A separate process keeps the measurement honest: the test runner's own memory (and a
server thread sending hundreds of MB) would otherwise be counted. One process serves many
specs, since starting Python and importing LangChain costs seconds on a loaded machine;
the peak is reset before each call, so each call's growth is its own.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from langchain_pathors import ChatPathors, PathorsError
from tests.reliability._probe import capture_logs, leak_places, measure, run_mode


class ErrorSeen(BaseCallbackHandler):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.texts.append(f"{error!s} {error!r} {kwargs!r}")


async def _call(llm: ChatPathors, mode: str, session_id: str | None, seen: ErrorSeen) -> None:
    kwargs: dict[str, Any] = {"session_id": session_id} if session_id else {}
    await run_mode(llm, mode, {"callbacks": [seen]}, **kwargs)


def run_spec_mode(spec: dict[str, Any], mode: str, logs: io.StringIO) -> dict[str, Any]:
    llm = ChatPathors(
        base_url=spec["base_url"], project_id="p", api_key=spec["api_key"], **spec["settings"]
    )
    seen = ErrorSeen()
    measured = measure(_call(llm, mode, spec.get("session_id"), seen), logs)
    llm.close()
    report: dict[str, Any] = {
        "mode": mode,
        "elapsed": measured.elapsed,
        "rss_growth": measured.rss_growth,
        "error": None,
    }
    error = measured.error
    if error is not None:
        places = leak_places(error, seen.texts, logs)
        report["error"] = {
            "type": type(error).__name__,
            "is_pathors_error": isinstance(error, PathorsError),
            "message": str(error),
            "is_retryable": getattr(error, "is_retryable", None),
            "key_in": [name for name, text in places.items() if spec["api_key"] in text],
            "chain_types": _chain_types(error),
        }
    return report


def _chain_types(error: BaseException) -> list[str]:
    """Module-qualified types of every exception on the cause/context chain."""
    found, seen, todo = [], set(), [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        found.append(f"{type(item).__module__}.{type(item).__name__}")
        todo += [item.__cause__, item.__context__]
    return found


def main() -> None:
    logs = capture_logs()
    for line in sys.stdin:
        spec = json.loads(line)
        reports = [run_spec_mode(spec, mode, logs) for mode in spec["modes"]]
        sys.stdout.write(json.dumps(reports) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
