"""Session and project id validation, fresh ids, and the created-session value."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from langchain_pathors import PathorsSession
from langchain_pathors._sessions import (
    MAX_SESSION_ID_LENGTH,
    new_session_id,
    session_from_body,
    validate_project_id,
    validate_session_id,
)

VARS = {"userName": "John", "plan": "pro"}


# --------------------------------------------------------------------------- session ids
@pytest.mark.parametrize(
    "value",
    [
        "session-xyz789",
        "a",
        "lc-0123456789abcdef0123456789abcdef",
        "A.b_c~d!e#f$g%h&*+/=?^`{|}'\"",
        "x" * MAX_SESSION_ID_LENGTH,
    ],
)
def test_valid_session_ids_pass_unchanged(value: str) -> None:
    assert validate_session_id(value) == value


def test_new_session_id_is_valid_and_unique() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(validate_session_id(i) == i for i in ids)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("s1\r\nX-Injected: yes", "visible ASCII"),
        ("s1\nX", "visible ASCII"),
        ("s1\rX", "visible ASCII"),
        ("s1\x00", "visible ASCII"),
        ("s1\tX", "visible ASCII"),
        ("s1\x7f", "visible ASCII"),
        ("s1\x1b[31m", "visible ASCII"),
        ("my session", "visible ASCII"),
        (" s1", "visible ASCII"),
        ("séance", "visible ASCII"),
        ("s1\u2028", "visible ASCII"),
        ("", "empty"),
        ("x" * (MAX_SESSION_ID_LENGTH + 1), "257 characters"),
    ],
    ids=[
        "CRLF",
        "LF",
        "CR",
        "NUL",
        "tab",
        "DEL",
        "escape",
        "space",
        "leading-space",
        "non-ascii",
        "line-separator",
        "empty",
        "too-long",
    ],
)
def test_invalid_session_ids_rejected(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_session_id(value)


@pytest.mark.parametrize("value", [None, 123, b"session", ["s"]])
def test_non_string_session_id_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        validate_session_id(value)


# --------------------------------------------------------------------------- project ids
@pytest.mark.parametrize(
    "value", ["proj-1", "a/b", "../x", "a?b=c", "a#frag", "%2e%2e", "%2F", "...", ".a", "é"]
)
def test_project_ids_that_quote_to_one_segment_are_accepted(value: str) -> None:
    assert validate_project_id(value) == value
    segment = quote(value, safe="")  # how the client puts it in the path
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert segment not in {".", ".."}


@pytest.mark.parametrize(
    "value", ["", ".", "..", " .. ", "a\nb", "a\rb", "a\x00", "a\tb", "a\x7f", None, 5]
)
def test_bad_project_ids_rejected(value: Any) -> None:
    with pytest.raises(ValueError, match="project_id"):
        validate_project_id(value)


# --------------------------------------------------------------------------- create answers
def test_session_from_body_prefers_the_server_id_and_keeps_the_pathway() -> None:
    assert session_from_body("mine", {"sessionId": "theirs", "pathwayId": "p"}) == (
        PathorsSession("theirs", "p")
    )
    assert session_from_body("mine", {}) == PathorsSession("mine", None)
    assert session_from_body("mine", {"sessionId": "", "pathwayId": 3}) == PathorsSession("mine")
