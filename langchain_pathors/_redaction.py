"""What an error may carry out of a call: no key, no header value, no session variable.

A server (or a proxy) may echo what it received in its error text: the key, a header, a
session variable's value. And an httpx error keeps the request it failed on, headers
included. `scrub_error` cleans an error and its whole cause chain in place, before
callbacks, tracers or the caller see it; `redacts_errors` does so for every error
leaving a ChatPathors method.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

import httpx

from langchain_pathors.errors import PathorsError

__all__ = ["MASK", "Redactor", "redacts_errors", "scrub_error", "variable_values"]

MASK = "***"
# Header values shorter than this are not taken for secrets ("1", "yes", "gzip"...).
MIN_SECRET_LENGTH = 8
# Shorter variable values are not redacted: one character says nothing about anyone.
MIN_VARIABLE_LENGTH = 2
# Bounds the work on a huge (or hostile) variables mapping; values beyond are not searched.
MAX_VARIABLE_VALUES = 1000

F = TypeVar("F", bound=Callable[..., Any])


class Redactor:
    """Replaces secrets in a text with `***`.

    Args:
        secrets: Replaced wherever they occur (the key, header values).
        words: Replaced where they stand alone, not inside a longer word (session
            variable values: "Ann" must not blank out "Annual").

    Example:
        >>> Redactor(secrets=["sk-123456789"], words=["Ann"])("sk-123456789 for Ann, Annual")
        '*** for ***, Annual'
    """

    def __init__(self, secrets: Iterable[str] = (), words: Iterable[str] = ()) -> None:
        # Longest first: where two overlap, the longer one is blanked out whole.
        alternatives = [(s, re.escape(s)) for s in set(secrets) if s]
        alternatives += [(w, _standalone(w)) for w in set(words) if w]
        alternatives.sort(key=lambda pair: len(pair[0]), reverse=True)
        pattern = "|".join(regex for _, regex in alternatives)
        self._pattern = re.compile(pattern) if pattern else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text


def _standalone(word: str) -> str:
    # Word boundaries only where the value itself starts or ends with a word character,
    # so "+1 555" is still found in "tel:+1 555".
    before = r"(?<!\w)" if re.match(r"\w", word[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", word[-1]) else ""
    return before + re.escape(word) + after


def secrets_of(api_key: str | None, headers: Mapping[str, str] | None) -> list[str]:
    """The key, and each header value and its credentials part ("Bearer <token>")."""
    secrets = [api_key] if api_key else []
    for value in (headers or {}).values():
        for candidate in (value.strip(), value.strip().partition(" ")[2].strip()):
            if len(candidate) >= MIN_SECRET_LENGTH:
                secrets.append(candidate)
    return secrets


def variable_values(*variable_sets: Mapping[str, Any] | None) -> list[str]:
    """The text of every value (nested ones too) in the given session variables.

    Each string, number and its JSON-escaped form (how a server echoing JSON shows
    `"Zoë"`), at least `MIN_VARIABLE_LENGTH` characters long. Names are not included.
    """
    found: list[str] = []
    pending: list[Any] = [v for variables in variable_sets if variables for v in variables.values()]
    visited = 0
    while pending and visited < MAX_VARIABLE_VALUES:
        value = pending.pop()
        visited += 1
        if isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = value if isinstance(value, str) else str(value)
            escaped = json.dumps(text)[1:-1]
            found.extend(t for t in {text, escaped} if len(t) >= MIN_VARIABLE_LENGTH)
    return found


def scrub_error(error: BaseException, redact: Redactor) -> None:
    """Clean `error` and every exception on its cause/context chain, in place.

    Redacts their messages and arguments, and replaces the request an httpx error keeps
    (with its `Authorization` header) by a bare one with only the method and URL.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if redact:
            _redact_texts(exc, redact)
        _detach_request(exc)
        pending.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)


def _redact_texts(exc: BaseException, redact: Redactor) -> None:
    if isinstance(exc, PathorsError):
        exc.message = redact(exc.message)
    # UnicodeError keeps its text in attributes that args do not update: leave it whole.
    if not isinstance(exc, UnicodeError):
        args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
        if args != exc.args:
            exc.args = args
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [redact(n) if isinstance(n, str) else n for n in notes]


def _detach_request(exc: BaseException) -> None:
    """Swap the request an httpx error holds for a copy without headers or body."""
    if not isinstance(exc, httpx.HTTPError):
        return
    request = getattr(exc, "_request", None)
    if isinstance(request, httpx.Request):
        exc.request = httpx.Request(request.method, request.url)
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response) and getattr(response, "_request", None):
        response.request = exc.request


def call_redactor(model: Any, variables: Iterable[Mapping[str, Any] | None]) -> Redactor:
    """A redactor for one ChatPathors call: its key, headers and session variables."""
    key = model.api_key.get_secret_value() if model.api_key is not None else None
    secrets = secrets_of(key, model.default_headers)
    # A short key is blanked out only where it stands alone (a test key like "k").
    words = variable_values(model.session_variables, *variables)
    if key is not None and len(key) < MIN_SECRET_LENGTH:
        secrets.remove(key)
        words.append(key)
    return Redactor(secrets, words)


def _call_variables(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[Mapping[str, Any] | None]:
    """The session variables a call was given (`session_variables=` or `variables`)."""
    try:
        bound = inspect.signature(method).bind_partial(*args, **kwargs).arguments
    except TypeError:
        bound = dict(kwargs)
    found = [bound.get("session_variables"), bound.get("variables")]
    found += [v.get("session_variables") for v in bound.values() if isinstance(v, dict)]
    return [v for v in found if isinstance(v, Mapping)]


def redacts_errors(method: F) -> F:
    """Decorate a ChatPathors method so that any error leaving it has been scrubbed.

    Works on functions, coroutines, generators and async generators alike. The work is
    done only when an error occurs, so successful calls pay nothing for it.
    """

    def scrub(args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException) -> None:
        variables = _call_variables(method, args, kwargs)
        scrub_error(error, call_redactor(args[0], variables))

    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            inner = method(*args, **kwargs)
            try:
                async for item in inner:
                    yield item
            except Exception as error:
                scrub(args, kwargs, error)
                raise
            finally:
                # Closed at once when the caller stops early, not whenever the loop
                # finalizes it: its response (and connection) is released with it.
                await inner.aclose()

        return cast("F", agen_wrapper)

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except Exception as error:
                scrub(args, kwargs, error)
                raise

        return cast("F", gen_wrapper)

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except Exception as error:
                scrub(args, kwargs, error)
                raise

        return cast("F", async_wrapper)

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            scrub(args, kwargs, error)
            raise

    return cast("F", wrapper)
