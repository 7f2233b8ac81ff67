"""Pickle, copy, deep copy and model_copy: settings travel, process resources are rebuilt."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from langchain_pathors import ChatPathors

from .conftest import API_KEY, PROJECT, FakePathors


def _model(**kwargs: Any) -> ChatPathors:
    params: dict[str, Any] = {
        "project_id": PROJECT,
        "api_key": API_KEY,
        "base_url": "https://pathors.test",
        "session_id": "user-7",
        "session_variables": {"userName": "Ada"},
        "temperature": 0.3,
        "timeout": httpx.Timeout(12.0, connect=3.0),
        "default_headers": {"X-Team": "blue"},
        "max_retries": 5,
    }
    params.update(kwargs)
    return ChatPathors(**params)


COPIES: dict[str, Callable[[ChatPathors], ChatPathors]] = {
    "pickle": lambda m: pickle.loads(pickle.dumps(m)),
    "deepcopy": copy.deepcopy,
    "model_copy_deep": lambda m: m.model_copy(deep=True),
    "copy": copy.copy,
}


@pytest.mark.parametrize("how", list(COPIES))
def test_every_setting_survives_the_copy(how: str) -> None:
    original = _model()
    clone = COPIES[how](original)
    assert clone.model_dump() == original.model_dump()
    # Excluded fields (never serialized by dumps) still travel with pickle and copies.
    assert clone.session_variables == {"userName": "Ada"}
    assert clone.default_headers == {"X-Team": "blue"}
    assert clone.api_key is not None
    assert clone.api_key.get_secret_value() == API_KEY
    # The client is built from the copied settings, not left half-initialised.
    assert clone._client.config.default_headers == {"X-Team": "blue"}
    assert clone._client.config.timeout == httpx.Timeout(12.0, connect=3.0)
    assert clone._client.config.retry.max_retries == 5


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "model_copy_deep"])
def test_process_resources_are_rebuilt_not_shared(how: str) -> None:
    original = _model()
    clone = COPIES[how](original)
    assert clone._client is not original._client


def test_the_key_is_a_secret_in_the_pickle_but_readable_from_its_bytes() -> None:
    # Documented: a pickle holds the key. It stays masked in repr after the round trip.
    data = pickle.dumps(_model())
    assert API_KEY.encode() in data
    clone = pickle.loads(data)
    assert API_KEY not in repr(clone)
    assert API_KEY not in str(clone.api_key)


def test_a_model_with_its_own_http_client_refuses_pickling_with_a_clear_error() -> None:
    model = FakePathors().model()
    with pytest.raises(TypeError, match=r"http_client and http_async_client cannot be pickled"):
        pickle.dumps(model)


def test_a_deep_copy_shares_the_callers_http_clients_and_still_calls(fake: FakePathors) -> None:
    model = fake.model(session_id="deep-1")
    clone = copy.deepcopy(model)
    assert clone.http_client is model.http_client
    assert clone.invoke("Hi").content == "Hello!"
    assert [r.headers["x-session-id"] for r in fake.chat_requests()] == ["deep-1"]


async def test_an_async_deep_copy_calls_through_the_shared_async_client(
    fake: FakePathors,
) -> None:
    clone = fake.model().model_copy(deep=True)
    assert (await clone.ainvoke("Hi")).content == "Hello!"
    assert len(fake.chat_requests()) == 1


def test_a_copy_updating_only_session_fields_shares_the_client() -> None:
    # What a per-call copy (e.g. PathorsSessionMiddleware's) wants: no new client per call.
    original = _model()
    clone = original.model_copy(update={"session_variables": {"plan": "pro"}})
    assert clone._client is original._client
    assert clone.session_variables == {"plan": "pro"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_key", SecretStr("sk-other")),
        ("timeout", 5.0),
        ("max_retries", 0),
        ("default_headers", {"X-Team": "red"}),
        ("project_id", "proj-2"),
    ],
)
def test_a_copy_updating_a_connection_setting_gets_its_own_client(field: str, value: Any) -> None:
    original = _model()
    clone = original.model_copy(update={field: value})
    assert clone._client is not original._client
    assert original._client.config != clone._client.config


def test_model_copy_with_an_update_builds_clients_for_the_new_settings() -> None:
    original = _model()
    moved = original.model_copy(update={"base_url": "http://127.0.0.1:9"})
    assert str(moved._client.chat_url).startswith("http://127.0.0.1:9/api/project/")
    assert str(original._client.chat_url).startswith("https://pathors.test/")


def test_a_bound_model_pickles_with_its_bound_arguments() -> None:
    bound = _model().bind(session_id="bound-9", temperature=0.1)
    clone = pickle.loads(pickle.dumps(bound))
    assert clone.kwargs == {"session_id": "bound-9", "temperature": 0.1}
    assert isinstance(clone.bound, ChatPathors)
