"""Settings are checked when a ChatPathors is built: typed, readable errors that hide secrets."""

from __future__ import annotations

import traceback
import warnings
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from langchain_pathors import ChatPathors, PathorsAuthenticationError, PathorsInsecureURLWarning
from langchain_pathors import _settings as settings
from langchain_pathors._settings import check_api_key, check_base_url, check_headers

KEY = "pk-live-canary-0a1b2c3d4e5f"
HEADER = "hdr-secret-canary-77"


def everything_about(error: BaseException) -> str:
    """Every text an error can show, the pydantic views included."""
    texts = [str(error), repr(error), repr(error.args), "".join(traceback.format_exception(error))]
    if isinstance(error, ValidationError):
        texts += [str(error.errors()), error.json(), repr(error.errors(include_url=False))]
    return "\n".join(texts)


def build(**kwargs: Any) -> ChatPathors:
    params: dict[str, Any] = {"project_id": "p", "api_key": KEY, "base_url": "https://x.test"}
    params.update(kwargs)
    return ChatPathors(**params)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PATHORS_API_KEY", "PATHORS_PROJECT_ID", "PATHORS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- the key
MALFORMED_KEYS = [
    (KEY + "\n", "ends with a line break", "strip it"),
    (KEY + "\r\n", "ends with a line break", "strip it"),
    ("  " + KEY, "starts with a space", None),
    (KEY + "\t", "ends with a tab", None),
    (KEY[:6] + "\x00" + KEY[6:], "control character (U+0000) (character 7)", None),
    (KEY[:6] + "\u2019" + KEY[6:], "non-ASCII character (U+2019 RIGHT SINGLE QUOTATION", None),
    (KEY + "\u00e9", "non-ASCII character (U+00E9", None),
    ("Bearer " + KEY, "starts with 'Bearer '", "adds 'Bearer ' itself"),
    ("bearer " + KEY, "starts with 'Bearer '", None),
    ("Authorization: Bearer " + KEY, "starts with 'Authorization: Bearer '", None),
    ('"' + KEY + '"', "wrapped in quotes", None),
    (KEY[:6] + " " + KEY[6:], "contains a space (character 7)", None),
]


@pytest.mark.parametrize(("key", "problem", "hint"), MALFORMED_KEYS)
def test_malformed_key_is_an_authentication_error_that_hides_it(
    key: str, problem: str, hint: str | None
) -> None:
    with pytest.raises(PathorsAuthenticationError) as info:
        build(api_key=key)
    text = str(info.value)
    assert problem in text
    assert "api_key=" in text
    if hint:
        assert hint in text
    assert KEY not in everything_about(info.value)
    assert KEY[6:] not in everything_about(info.value)  # not even the tail of it
    assert not info.value.is_retryable


@pytest.mark.parametrize(("key", "problem", "hint"), MALFORMED_KEYS[:3])
def test_a_key_from_the_environment_is_named_as_such(
    key: str, problem: str, hint: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHORS_API_KEY", key)
    with pytest.raises(PathorsAuthenticationError, match="PATHORS_API_KEY environment variable"):
        ChatPathors(project_id="p")


def test_empty_key_from_argument_or_environment_fails_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(PathorsAuthenticationError, match="api_key= is empty"):
        build(api_key="")
    monkeypatch.setenv("PATHORS_API_KEY", "")
    with pytest.raises(PathorsAuthenticationError, match=r"PATHORS_API_KEY environment .* empty"):
        ChatPathors(project_id="p")


def test_missing_key_is_allowed_until_the_first_call() -> None:
    assert build(api_key=None).api_key is None


@pytest.mark.parametrize(
    "key", ["sk-abc", "pk_live.123~x/y+z=", KEY, "a" * 300, "k'e\"y"], ids=repr
)
def test_well_formed_keys_pass(key: str) -> None:
    check_api_key(key, from_env=False)
    assert build(api_key=key).api_key.get_secret_value() == key  # type: ignore[union-attr]


# --------------------------------------------------------------------------- headers
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (HEADER + "\n", "ends with a line break"),
        (" " + HEADER, "starts with a space"),
        (HEADER[:4] + "\r\nX-Injected: 1", "carriage return"),
        (HEADER + "\u00fc", "non-ASCII character (U+00FC"),
        (HEADER[:4] + "\x7f" + HEADER[4:], "control character (U+007F)"),
    ],
)
def test_bad_header_value_is_refused_without_showing_it(value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(default_headers={"X-Upstream-Auth": value})
    assert problem in str(info.value)
    assert "X-Upstream-Auth" in str(info.value)
    assert HEADER not in everything_about(info.value)
    assert KEY not in everything_about(info.value)


@pytest.mark.parametrize("name", ["X Bad", "X-Bad:", "", "Ä", "X\nY"])
def test_bad_header_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid header name"):
        check_headers({name: "v"})


@pytest.mark.parametrize(
    "name", ["Authorization", "x-session-id", "Content-Length", "transfer-encoding"]
)
def test_reserved_headers_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="may not set"):
        build(default_headers={name: "value-1234567"})


def test_ordinary_headers_pass_with_inner_spaces() -> None:
    headers = {"X-Request-Source": "web app", "X-Empty": ""}
    assert build(default_headers=headers).default_headers == headers


# --------------------------------------------------------------------------- base_url
@pytest.mark.parametrize(
    ("url", "fixed"),
    [
        ("https://app.pathors.com/api", "https://app.pathors.com"),
        ("https://app.pathors.com/api/", "https://app.pathors.com"),
        ("https://app.pathors.com/v1", "https://app.pathors.com"),
        ("https://app.pathors.com/api/v1", "https://app.pathors.com"),
        (
            "https://app.pathors.com/api/project/p/integration/api/chat/completions",
            "https://app.pathors.com",
        ),
        ("https://app.pathors.com/api/project/p/integration/api", "https://app.pathors.com"),
        ("https://gw.corp.test/pathors/api/project/p/x", "https://gw.corp.test/pathors"),
        ("http://127.0.0.1:8000/chat/completions", "http://127.0.0.1:8000"),
        ("https://app.pathors.com/?x=1", "https://app.pathors.com"),
        ("https://app.pathors.com#top", "https://app.pathors.com"),
    ],
)
def test_base_url_with_the_api_path_is_refused_with_the_fix(url: str, fixed: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(base_url=url)
    assert f"use {fixed!r}" in str(info.value)
    assert KEY not in everything_about(info.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("app.pathors.com", "has no scheme: did you mean 'https://app.pathors.com'"),
        ("localhost:8000", "did you mean 'http://localhost:8000'"),
        ("ftp://app.pathors.com", "must start with https://"),
        ("https://", "has no host"),
        ("https://app.pathors.com:99999", "is not a valid URL"),
        ("https://app.pathors.com\n", "ends with a line break"),
        (" https://app.pathors.com", "starts with a space"),
    ],
)
def test_base_url_needs_a_scheme_and_a_host(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match="base_url") as info:
        build(base_url=url)
    assert problem in str(info.value)


def test_base_url_credentials_are_refused_and_not_shown() -> None:
    password = "hunter2-" + "secret"  # built, so the traceback's source line cannot show it
    with pytest.raises(ValidationError) as info:
        build(base_url=f"https://user:{password}@app.pathors.com")
    assert "credentials" in str(info.value)
    assert password not in everything_about(info.value)


def test_base_url_from_the_environment_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHORS_BASE_URL", "https://app.pathors.com/api")
    with pytest.raises(ValidationError, match="PATHORS_BASE_URL environment variable"):
        ChatPathors(project_id="p", api_key=KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.pathors.com",
        "https://app.pathors.com/",
        "https://gw.corp.test/pathors",
        "https://gw.corp.test/api/pathors",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
        "HTTPS://APP.PATHORS.COM",
    ],
)
def test_server_roots_and_prefixes_pass(url: str) -> None:
    check_base_url(url, from_env=False)


# --------------------------------------------------------------------------- cleartext
@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "_warned_hosts", set())


@pytest.mark.usefixtures("fresh_warnings")
def test_plain_http_to_another_host_warns_once_per_host() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(base_url="http://pathors.internal.test")
        build(base_url="http://pathors.internal.test:8080")
        build(base_url="http://10.0.0.7")
    assert [w.category for w in caught] == [PathorsInsecureURLWarning] * 2
    assert "pathors.internal.test" in str(caught[0].message)
    assert "unencrypted" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the line that built the model


@pytest.mark.usefixtures("fresh_warnings")
@pytest.mark.parametrize(
    "url",
    [
        "https://pathors.internal.test",
        "http://127.0.0.1:9",
        "http://127.5.0.1:9",
        "http://localhost:9",
        "http://api.localhost:9",
        "http://[::1]:9",
    ],
)
def test_https_and_loopback_do_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build(base_url=url)


# --------------------------------------------------------------------------- timeouts, retries
@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"timeout": -1}, "timeout must be a number of seconds more than 0"),
        ({"timeout": 0}, "timeout must be"),
        ({"timeout": float("nan")}, "not nan"),
        ({"timeout": float("inf")}, "or None for no timeout"),
        ({"timeout": httpx.Timeout(5.0, read=-1)}, "timeout's read"),
        ({"timeout": httpx.Timeout(5.0, connect=0)}, "timeout's connect"),
        ({"stream_idle_timeout": 0}, "stream_idle_timeout must be"),
        ({"stream_idle_timeout": -5}, "None to wait forever"),
        ({"total_timeout": float("inf")}, "total_timeout must be"),
        ({"total_timeout": 0}, "greater than 0"),
        ({"max_retries": -1}, "greater than or equal to 0"),
        ({"max_retry_after": -1}, "max_retry_after must be a number of seconds 0 or more"),
        ({"timeout": "soon"}, "valid number"),
    ],
    ids=str,
)
def test_bad_timeouts_and_retries_fail_at_construction(
    kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError) as info:
        build(**kwargs)
    assert problem in str(info.value)
    assert KEY not in everything_about(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": None},
        {"timeout": 0.5},
        {"timeout": httpx.Timeout(None, connect=3)},
        {"stream_idle_timeout": None},
        {"max_retries": 0},
        {"max_retry_after": 0},
    ],
    ids=str,
)
def test_good_timeouts_and_retries_pass(kwargs: dict[str, Any]) -> None:
    build(**kwargs)


# --------------------------------------------------------------------------- pydantic's own errors
@pytest.mark.parametrize(
    "kwargs",
    [
        {"project_id": None},  # the case: required field missing, key passed directly
        {"default_headers": {"X-Upstream-Auth": 5, "X-Other": HEADER}},
        {"default_headers": [("X-Upstream-Auth", HEADER)]},
        {"api_key": [KEY]},
        {"session_id": "bad id", "default_headers": {"X-A": HEADER}},
        {"max_retries": "many", "default_headers": {"X-A": HEADER}},
        {"http_client": KEY},
    ],
    ids=str,
)
def test_validation_errors_never_hold_the_key_or_a_header_value(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        build(**kwargs)
    text = everything_about(info.value)
    assert KEY not in text
    assert HEADER not in text
    assert info.value.__context__ is None  # the original error (with inputs) is not kept
    assert all(item["input"] == "***" for item in info.value.errors())


def test_validation_errors_still_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError) as info:
        build(project_id=None)
    assert "project_id is required" in str(info.value)
    assert "PATHORS_PROJECT_ID" in str(info.value)
    with pytest.raises(ValidationError) as info:
        build(max_retries="many")
    (item,) = info.value.errors()
    assert item["loc"] == ("max_retries",)
    assert item["type"] == "int_parsing"
