"""Checks of a ChatPathors's settings when it is built, so that misuse fails before any request.

Each check says what is wrong and where the value came from (the argument, or its
environment variable), and never shows a secret: the key and `default_headers` values
are described ("ends with a line break"), not printed. A key problem is a
`PathorsAuthenticationError`; any other bad setting a `ValueError`, which pydantic reports
as a `ValidationError` whose inputs `without_inputs` has removed.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol, get_args
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from langchain_pathors.errors import PathorsAuthenticationError

__all__ = [
    "PathorsInsecureURLWarning",
    "check_api_key",
    "check_base_url",
    "check_headers",
    "check_settings",
    "validate_without_inputs",
    "warn_if_cleartext",
    "without_inputs",
]

KEY_ENV = "PATHORS_API_KEY"
BASE_URL_ENV = "PATHORS_BASE_URL"
# Headers the package sets itself, or that frame the request: setting them through
# default_headers would bypass validation (the key, the session id) or corrupt the body.
RESERVED_HEADERS = frozenset(
    {"authorization", "x-session-id", "content-length", "transfer-encoding"}
)
# RFC 9110 token: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHAR_NAMES = {"\n": "a line break (LF)", "\r": "a carriage return (CR)", "\t": "a tab"}
_HIDDEN = "***"


class PathorsInsecureURLWarning(UserWarning):
    """`base_url` is plain `http://` to another machine: the key would travel unencrypted.

    Raised once per host and process. Silence it, for a trusted network, with
    `warnings.filterwarnings("ignore", category=PathorsInsecureURLWarning)`.
    """


class Settings(Protocol):
    """The fields of a ChatPathors that are checked (the model itself satisfies it)."""

    api_key: SecretStr | None
    base_url: str
    default_headers: dict[str, str] | None
    timeout: float | httpx.Timeout | None
    stream_idle_timeout: float | None
    total_timeout: float | None
    max_retries: int
    max_retry_after: float

    @property
    def model_fields_set(self) -> set[str]:
        """Fields passed as arguments (the others came from the environment or defaults)."""
        ...


def check_settings(settings: Settings) -> None:
    """Raise on the first setting that could not work, before anything is sent."""
    if settings.api_key is not None:
        check_api_key(
            settings.api_key.get_secret_value(),
            from_env="api_key" not in settings.model_fields_set,
        )
    check_headers(settings.default_headers or {})
    check_base_url(settings.base_url, from_env="base_url" not in settings.model_fields_set)
    check_timeout(settings.timeout)
    _check_seconds(
        "stream_idle_timeout", settings.stream_idle_timeout, none_means="to wait forever"
    )
    _check_seconds("total_timeout", settings.total_timeout, none_means="for no limit")
    _check_seconds("max_retry_after", settings.max_retry_after, allow_zero=True)
    if settings.max_retries < 0:
        msg = f"max_retries must be 0 or more (it counts retries), not {settings.max_retries}"
        raise ValueError(msg)


# --------------------------------------------------------------------------- the key
def check_api_key(key: str, *, from_env: bool) -> None:
    """Raise `PathorsAuthenticationError` if `key` cannot be a bearer token; never show it.

    A token is visible ASCII only (RFC 6750), so a line break left by reading a file, a
    pasted typographic character or a `Bearer ` prefix is refused here instead of going
    out as a broken header (or reaching a log).
    """
    problem = _key_problem(key)
    if problem is not None:
        source = f"the {KEY_ENV} environment variable" if from_env else "api_key="
        shown = "" if not key else " (the key itself is not shown)"
        msg = f"the API key from {source} {problem}{shown}"
        raise PathorsAuthenticationError(msg)


def _key_problem(key: str) -> str | None:
    if not key:
        return "is empty: set it to the key from your Pathors project's integration settings"
    lowered = key.lower()
    for prefix in ("authorization:", "bearer "):
        if lowered.startswith(prefix):
            shown = "Authorization: Bearer " if prefix == "authorization:" else "Bearer "
            return f"starts with {shown!r}: pass the key alone, the package adds 'Bearer ' itself"
    problem = _value_problem(key)
    if problem is not None:
        if key != key.strip() and ("\n" in key or "\r" in key):
            problem += ": strip it (a key read from a file keeps its line break)"
        return problem
    if len(key) > 1 and key[0] == key[-1] and key[0] in "'\"":
        return "is wrapped in quotes: remove them (quotes in a .env file are not part of it)"
    space = key.find(" ")
    if space >= 0:
        return f"contains a space (character {space + 1}): a key is a single word"
    return None


# --------------------------------------------------------------------------- headers
def check_headers(headers: Mapping[str, str]) -> None:
    """Raise `ValueError` for a header name or value that cannot be sent as it is."""
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            msg = (
                f"default_headers: {name!r} is not a valid header name (letters, digits "
                "and !#$%&'*+-.^_`|~ only)"
            )
            raise ValueError(msg)
        if name.lower() in RESERVED_HEADERS:
            msg = (
                f"default_headers may not set {name}: the package sets it "
                "(use api_key= and session_id= for the key and the session)"
            )
            raise ValueError(msg)
        problem = _value_problem(value)
        if problem is not None:
            msg = f"default_headers[{name!r}] {problem} (the value is not shown)"
            raise ValueError(msg)


def _value_problem(value: str) -> str | None:
    """What keeps `value` from being a header value that is sent exactly as given."""
    if value != value.strip():
        where = "ends" if value[-1:].isspace() else "starts"
        char = value[-1] if where == "ends" else value[0]
        return f"{where} with {_describe(char)}"
    for index, char in enumerate(value):
        if not " " <= char <= "~":
            return f"contains {_describe(char)} (character {index + 1}); only ASCII is allowed"
    return None


def _describe(char: str) -> str:
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    if char == " ":
        return "a space"
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char).startswith("C"):
        return f"a control character ({code})"
    name = unicodedata.name(char, "")
    return f"a non-ASCII character ({code} {name})".replace(" )", ")")


# --------------------------------------------------------------------------- base_url
@functools.lru_cache(maxsize=64)  # models are often built many times with one URL
def check_base_url(url: str, *, from_env: bool) -> None:
    """Raise `ValueError` unless `url` is an http(s) server root (a path prefix is fine).

    A path that repeats the API's own path (`/api`, `/v1`, the endpoint URL) is refused
    with the root to use instead: the client appends `/api/project/...` itself.
    """
    source = f"the {BASE_URL_ENV} environment variable" if from_env else "base_url"
    problem = _value_problem(url)
    if problem is not None:
        msg = f"{source} {problem}"
        raise ValueError(msg)
    if "://" not in url:
        host = urlsplit(f"//{url.lstrip('/')}").hostname or ""
        scheme = "http" if _is_loopback(host) else "https"
        msg = f"{source} {url!r} has no scheme: did you mean '{scheme}://{url.lstrip('/')}'?"
        raise ValueError(msg)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        msg = f"{source} must start with https:// (or http:// for a local server)"
        raise ValueError(msg)
    if "@" in parts.netloc:
        # Not shown: the part before "@" is a password.
        msg = f"{source} must not contain credentials (user:password@): use api_key="
        raise ValueError(msg)
    try:
        _ = parts.port  # raises for a port that is not a number in range
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        msg = f"{source} {url!r} is not a valid URL ({exc})"
        raise ValueError(msg) from None
    if not parts.hostname:
        msg = f"{source} {url!r} has no host, e.g. 'https://app.pathors.com'"
        raise ValueError(msg)
    origin = f"{parts.scheme}://{parts.netloc}"
    root = _root_path(parts.path)
    if root is not None or parts.query or parts.fragment:
        fixed = origin + (parts.path.rstrip("/") if root is None else root)
        what = "the API path" if root is not None else "a query or fragment"
        msg = (
            f"{source} {url!r} includes {what}: base_url is the server root "
            f"(the package adds /api/project/<project_id>/...), use {fixed!r}"
        )
        raise ValueError(msg)


def _root_path(path: str) -> str | None:
    """The path prefix to keep when `path` repeats the API path, else None."""
    segments = path.rstrip("/").split("/")
    for index in range(len(segments) - 1):
        if segments[index] == "api" and segments[index + 1] == "project":
            return "/".join(segments[:index])
    original = len(segments)
    if segments[-2:] == ["chat", "completions"]:
        del segments[-2:]
    while segments and segments[-1].lower() in ("api", "v1"):
        segments.pop()
    return "/".join(segments) if len(segments) != original else None


_warned_hosts: set[str] = set()
_warned_lock = threading.Lock()


def warn_if_cleartext(url: str, *, stacklevel: int = 2) -> None:
    """Warn once per host when the key would go over plain http to another machine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme.lower() != "http" or _is_loopback(host):
        return
    with _warned_lock:
        if host in _warned_hosts:
            return
        _warned_hosts.add(host)
    warnings.warn(
        f"base_url is plain http:// to {host}, which is not this machine: the API key and "
        "the conversation travel unencrypted. Use https:// (this warning is shown once)",
        PathorsInsecureURLWarning,
        stacklevel=stacklevel + 1,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- timeouts
def check_timeout(timeout: float | httpx.Timeout | None) -> None:
    """Raise `ValueError` unless each part of `timeout` is None or positive seconds."""
    if isinstance(timeout, httpx.Timeout):
        for part, value in timeout.as_dict().items():
            _check_seconds(f"timeout's {part}", value, none_means="for no limit")
    else:
        _check_seconds("timeout", timeout, none_means="for no timeout")


def _check_seconds(
    name: str, value: float | None, *, none_means: str | None = None, allow_zero: bool = False
) -> None:
    if value is None and none_means is not None:
        return
    if value is not None and math.isfinite(value) and (value > 0 or (allow_zero and value == 0)):
        return
    bound = "0 or more" if allow_zero else "more than 0"
    alternative = f", or None {none_means}" if none_means else ""
    msg = f"{name} must be a number of seconds {bound}{alternative}, not {value!r}"
    raise ValueError(msg)


# --------------------------------------------------------------------------- pydantic
_KNOWN_ERROR_TYPES = frozenset(get_args(ErrorType))


def validate_without_inputs(init: Callable[..., None], data: dict[str, Any]) -> None:
    """Run a model's `init(**data)`; a `ValidationError` is raised `without_inputs`."""
    try:
        init(**data)
    except ValidationError as error:
        hidden = without_inputs(error)
    else:
        return
    raise hidden  # outside the except block, so the original is not its __context__


def without_inputs(error: ValidationError) -> ValidationError:
    """The same validation error with every input value replaced by `***`.

    pydantic's `hide_input_in_errors` hides inputs from `str` and `repr` only: `.errors()`
    and `.json()` still hold them, and a ChatPathors's inputs include the key and the
    headers. The messages say what is wrong without them.
    """
    details: list[InitErrorDetails] = []
    for item in error.errors(include_url=False):
        kind: str | PydanticCustomError = item["type"]
        if kind not in _KNOWN_ERROR_TYPES:
            kind = PydanticCustomError(str(kind), item["msg"])
        detail = InitErrorDetails(type=kind, loc=item["loc"], input=_HIDDEN)
        if "ctx" in item:
            # e.g. the bound of `ge`, or the ValueError a validator raised: the package's
            # own text, never the input.
            detail["ctx"] = item["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(error.title, details, hide_input=True)
