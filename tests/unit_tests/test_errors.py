"""The error hierarchy: LangChain's Model*Error types, retryability, messages, mapping."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from langchain_pathors import errors
from langchain_pathors.errors import (
    PathorsAPIStatusError,
    PathorsAuthenticationError,
    PathorsBadRequestError,
    PathorsConnectionError,
    PathorsError,
    PathorsNotFoundError,
    PathorsOutcomeUnknownError,
    PathorsPermissionDeniedError,
    PathorsRateLimitError,
    PathorsResponseError,
    PathorsServerError,
    PathorsSessionBusyError,
    PathorsSessionForkedError,
    PathorsSessionRegistryError,
    PathorsStreamError,
    PathorsTimeoutError,
    error_class_for_status,
)

# Each class, the LangChain error it must also be, and whether it is retryable.
HIERARCHY: list[tuple[type[PathorsError], type[ModelError], bool]] = [
    (PathorsBadRequestError, ModelInvalidRequestError, False),
    (PathorsAuthenticationError, ModelAuthenticationError, False),
    (PathorsPermissionDeniedError, ModelPermissionDeniedError, False),
    (PathorsNotFoundError, ModelNotFoundError, False),
    (PathorsRateLimitError, ModelRateLimitError, True),
    (PathorsServerError, ModelAPIError, True),
    (PathorsConnectionError, ModelConnectionError, True),
    (PathorsTimeoutError, ModelTimeoutError, True),
    (PathorsOutcomeUnknownError, ModelAPIError, False),
    (PathorsAPIStatusError, ModelError, False),
    (PathorsSessionForkedError, ModelError, False),
    (PathorsSessionBusyError, ModelError, True),
    (PathorsSessionRegistryError, ModelError, False),
]
ALL_CLASSES = [getattr(errors, name) for name in errors.__all__]


def make(cls: type[PathorsError], message: str = "it failed", **kwargs: Any) -> PathorsError:
    """An instance of any class (PathorsOutcomeUnknownError requires session_id)."""
    if cls is PathorsOutcomeUnknownError:
        kwargs.setdefault("session_id", None)
    return cls(message, **kwargs)


def ids(param: Any) -> str:
    return param.__name__ if isinstance(param, type) else str(param)


def test_all_exports_are_pathors_errors() -> None:
    assert set(ALL_CLASSES) >= {cls for cls, _, _ in HIERARCHY}
    assert all(issubclass(cls, PathorsError) for cls in ALL_CLASSES)


@pytest.mark.parametrize(("cls", "lc_base", "retryable"), HIERARCHY, ids=ids)
def test_each_class_is_its_langchain_error(
    cls: type[PathorsError], lc_base: type[ModelError], retryable: bool
) -> None:
    error = make(cls)
    assert isinstance(error, lc_base)
    assert isinstance(error, PathorsError)
    assert isinstance(error, ModelError)
    with pytest.raises(lc_base):
        raise error


@pytest.mark.parametrize(("cls", "lc_base", "retryable"), HIERARCHY, ids=ids)
def test_is_retryable(cls: type[PathorsError], lc_base: type[ModelError], retryable: bool) -> None:
    assert make(cls).is_retryable is retryable


def test_response_and_stream_errors_are_api_errors() -> None:
    assert isinstance(make(PathorsResponseError), ModelAPIError)
    stream_error = make(PathorsStreamError)
    assert isinstance(stream_error, PathorsResponseError)
    assert isinstance(stream_error, ModelAPIError)


def test_str_has_message_status_and_session() -> None:
    error = PathorsServerError("pathway crashed", status_code=503, session_id="sess-9")
    text = str(error)
    assert "pathway crashed" in text
    assert "HTTP 503" in text
    assert "sess-9" in text


def test_str_is_just_the_message_without_status_or_session() -> None:
    assert str(PathorsConnectionError("could not reach Pathors")) == "could not reach Pathors"


def test_attributes_are_kept() -> None:
    error = PathorsRateLimitError("slow down", status_code=429, retry_after=2.5)
    assert (error.message, error.status_code, error.retry_after) == ("slow down", 429, 2.5)
    assert error.session_id is None
    stream = PathorsStreamError("cut", session_id="s", partial_text="Hel")
    assert (stream.partial_text, stream.session_id) == ("Hel", "s")
    unknown = PathorsOutcomeUnknownError("?", session_id="s", status_code=500, partial_text="x")
    assert (unknown.session_id, unknown.status_code, unknown.partial_text) == ("s", 500, "x")


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=ids)
def test_every_error_has_partial_text(cls: type[PathorsError]) -> None:
    # One place to read what a failed stream had delivered, whatever the error's class.
    assert make(cls).partial_text == ""
    assert make(cls, partial_text="Hel").partial_text == "Hel"


def test_outcome_unknown_cause_is_the_underlying_error() -> None:
    underlying = TimeoutError("read timed out")
    with pytest.raises(PathorsOutcomeUnknownError) as info:
        raise PathorsOutcomeUnknownError("unknown", session_id="s") from underlying
    assert info.value.cause is underlying
    assert PathorsOutcomeUnknownError("x", session_id="s").cause is None


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=ids)
@pytest.mark.parametrize("clone", [pickle, copy], ids=["pickle", "copy"])
def test_errors_survive_pickle_and_copy(cls: type[PathorsError], clone: Any) -> None:
    error = make(cls, "boom", status_code=500, session_id="sess-3")
    error.extra = "kept"  # type: ignore[attr-defined]
    error.partial_text = "so far"
    restored = pickle.loads(pickle.dumps(error)) if clone is pickle else copy.copy(error)
    assert type(restored) is cls
    assert str(restored) == str(error)
    assert vars(restored) == vars(error)
    assert restored.args == error.args


# --------------------------------------------------------------------------- status mapping
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, PathorsBadRequestError),
        (401, PathorsAuthenticationError),
        (403, PathorsPermissionDeniedError),
        (404, PathorsNotFoundError),
        (413, PathorsBadRequestError),
        (422, PathorsBadRequestError),
        (429, PathorsRateLimitError),
        (500, PathorsServerError),
        (502, PathorsServerError),
        (503, PathorsServerError),
        (504, PathorsServerError),
        (599, PathorsServerError),
        (418, PathorsAPIStatusError),
        (409, PathorsAPIStatusError),
        (302, PathorsAPIStatusError),
    ],
)
def test_error_class_for_status(status: int, cls: type[PathorsError]) -> None:
    assert error_class_for_status(status) is cls
