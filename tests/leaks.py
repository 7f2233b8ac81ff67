"""Where a secret could hide in a raised error: its texts, its cause chain, live requests."""

from __future__ import annotations

import contextlib
import pickle
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import ValidationError


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error and everything on its `__cause__` / `__context__` chain."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        pending += [e for e in (exc.__cause__, exc.__context__) if e is not None]


def error_texts(error: BaseException) -> str:
    """Everything an error shows: str, repr, args and attributes of each exception on its
    chain, the formatted traceback (chain included), its pickled form and, for pydantic's
    errors, `errors()` and `json()`."""
    texts = ["".join(traceback.format_exception(error))]
    for exc in chain(error):
        texts += [str(exc), repr(exc), repr(exc.args), repr(getattr(exc, "__dict__", {}))]
        if isinstance(exc, ValidationError):
            texts += [repr(exc.errors()), exc.json()]
    # Not every exception on a chain pickles; those were read directly above.
    with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
        texts.append(repr(pickle.loads(pickle.dumps(error))))
    return "\n".join(texts)


def _requests_in(exc: BaseException) -> Iterator[httpx.Request]:
    values: list[Any] = [getattr(exc, "_request", None), *getattr(exc, "__dict__", {}).values()]
    for value in values:
        if isinstance(value, httpx.Request):
            yield value
        elif isinstance(value, httpx.Response) and getattr(value, "_request", None) is not None:
            yield value.request


def authorized_requests(error: BaseException) -> list[httpx.Request]:
    """Live httpx requests carrying an Authorization header, anywhere on the chain."""
    return [
        request
        for exc in chain(error)
        for request in _requests_in(exc)
        if "authorization" in request.headers
    ]
