"""No silent typos: session-like arguments that are not parameters fail, naming the right one."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from langchain_pathors._session_params import (
    check_call_kwargs,
    check_model_kwargs,
    session_typo,
)
from tests.unit_tests.conftest import FakePathors


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("sesion_id", "session_id"),
        ("sessionId", "session_id"),
        ("SessionID", "session_id"),
        ("session-id", "session_id"),
        ("session", "session_id"),
        ("sessions_id", "session_id"),
        ("session_variable", "session_variables"),
        ("sessionVariables", "session_variables"),
        ("variables", "session_variables"),
        ("session_vars", "session_variables"),
        ("session_from_histroy", "session_from_history"),
        ("on_session_forks", "on_session_fork"),
        ("session_concurency", "session_concurrency"),
    ],
)
def test_session_like_names_map_to_the_right_parameter(name: str, meant: str) -> None:
    assert session_typo(name) == meant


@pytest.mark.parametrize(
    "name",
    [
        "temperature",
        "user",
        "seed",
        "top_p",
        "response_format",
        "parallel_tool_calls",
        "tools",
        "tool_choice",
        "metadata",
        "store",
        "n",
        "logprobs",
        "service_tier",
        "stream_options",
    ],
)
def test_ordinary_body_fields_are_not_session_typos(name: str) -> None:
    assert session_typo(name) is None
    check_call_kwargs({name: 1})  # passes through to the body


def test_call_typo_names_the_call_option() -> None:
    with pytest.raises(ValueError, match="'sesion_id': did you mean 'session_id'"):
        check_call_kwargs({"sesion_id": "s"})


def test_model_setting_passed_per_call_says_where_it_belongs() -> None:
    with pytest.raises(ValueError, match=r"ChatPathors\(on_session_fork=...\)"):
        check_call_kwargs({"on_session_fork": "allow"})


def test_session_parameters_hidden_in_model_kwargs_are_refused() -> None:
    with pytest.raises(ValueError, match="session_id"):
        check_model_kwargs({"session_id": "s"})


def test_invoke_with_a_typo_sends_nothing(fake: FakePathors) -> None:
    llm = fake.model()
    for typo in ("sesion_id", "sessionId", "session_variable"):
        # Any: invoke() also takes config and stop, which a dict[str, str] could not fill.
        kwargs: dict[str, Any] = {typo: "x"}
        with pytest.raises(ValueError, match="did you mean"):
            llm.invoke("Hi", **kwargs)
        with pytest.raises(ValueError, match="did you mean"):
            llm.bind(**kwargs).invoke("Hi")
    assert fake.requests == []


def test_constructor_typo_is_an_error(fake: FakePathors) -> None:
    with pytest.raises(ValueError, match="'sesion_id': did you mean 'session_id'"):
        fake.model(sesion_id="s")
    with pytest.raises(ValueError, match="did you mean 'session_variables'"):
        fake.model(session_variable={"a": 1})


def test_other_unknown_constructor_arguments_move_to_model_kwargs_with_a_warning(
    fake: FakePathors,
) -> None:
    with pytest.warns(UserWarning, match="top_p was transferred to model_kwargs"):
        llm = fake.model(top_p=0.5)
    assert llm.model_kwargs == {"top_p": 0.5}
    llm.invoke("Hi")
    assert fake.bodies()[0]["top_p"] == 0.5


def test_known_arguments_raise_no_warning(fake: FakePathors) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fake.model(session_id="s", model="m", stop_sequences=["x"], max_tokens=5)
