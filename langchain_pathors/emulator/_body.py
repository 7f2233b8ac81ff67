"""Reading a request body under a size cap, and parsing it as strict JSON.

The body is read in pieces and reading stops at the cap, so an oversized request never
sits whole in memory. Parsing is stricter than :func:`json.loads` alone, because
everything the emulator accepts must later be echoed back without failing:

* the body must be UTF-8 (a leading byte-order mark is ignored, as RFC 8259 allows);
* ``NaN``, ``Infinity`` and numbers too large for a double are refused (they cannot be
  written back as JSON);
* strings may not hold lone surrogates (a ``ud800`` escape without its pair): UTF-8
  cannot encode them (I-JSON, RFC 7493, forbids them);
* arrays and objects may nest at most ``max_json_depth`` levels.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.requests import Request

__all__ = ["BodyTooLarge", "InvalidBody", "parse_json", "read_body"]

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(Exception):
    """The body is over the cap (answered with ``413``)."""


class InvalidBody(ValueError):
    """The body is not acceptable JSON; the message says why (answered with ``400``)."""


async def read_body(request: Request, cap: int) -> bytes:
    """Read the whole body, or raise :class:`BodyTooLarge` as soon as it passes ``cap``.

    A ``Content-Length`` over the cap is refused before anything is read.

    Raises:
        BodyTooLarge: When the declared or received size passes ``cap``.

    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > cap:
            raise BodyTooLarge
        parts.append(piece)
    return b"".join(parts)


def parse_json(raw: bytes, max_depth: int) -> Any:
    """Parse a body as strict JSON (see the module docstring).

    Example:
        >>> parse_json(b'{"a": [1, 2.5]}', max_depth=8)
        {'a': [1, 2.5]}

    Raises:
        InvalidBody: With a message naming the problem.

    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBody("Invalid request body: not UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidBody(f"Invalid request body: nested deeper than {max_depth} levels") from None
    except InvalidBody:
        raise
    except ValueError:  # JSONDecodeError, or an integer with too many digits
        raise InvalidBody("Invalid request body") from None
    # Only a body that escapes a surrogate can hold a lone one: skip the scan otherwise.
    check_surrogates = _ESCAPED_SURROGATE.search(text) is not None
    _check_tree(value, max_depth, check_surrogates)
    return value


def _refuse_constant(name: str) -> Any:
    raise InvalidBody(f"Invalid request body: {name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise InvalidBody("Invalid request body: a number is too large")
    return value


def _check_tree(value: Any, max_depth: int, check_surrogates: bool) -> None:
    # Iterative, so a deep body cannot exhaust the stack while it is being checked.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise InvalidBody(f"Invalid request body: nested deeper than {max_depth} levels")
            if check_surrogates:
                for key in node:
                    _check_string(key)
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            if depth > max_depth:
                raise InvalidBody(f"Invalid request body: nested deeper than {max_depth} levels")
            stack.extend((item, depth + 1) for item in node)
        elif check_surrogates and isinstance(node, str):
            _check_string(node)


def _check_string(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise InvalidBody("Invalid request body: a string holds a lone surrogate")
