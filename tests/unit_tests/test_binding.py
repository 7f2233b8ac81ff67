"""The binding ChatPathors.bind returns: it stays one through later binds, and hides variables."""

from __future__ import annotations

import pickle

from langchain_core.load import dumpd, dumps

from langchain_pathors import ChatPathors, SessionVariables
from langchain_pathors._binding import VariablesHidingBinding

VALUE = "acct-canary-31415"


def model() -> ChatPathors:
    return ChatPathors(project_id="p", api_key="k", base_url="https://pathors.test")


def test_every_later_bind_hides_a_plain_dict() -> None:
    bound = model().bind_tools([]).with_config(run_name="x").bind(session_variables={"a": VALUE})
    assert isinstance(bound, VariablesHidingBinding)
    variables = bound.kwargs["session_variables"]
    assert isinstance(variables, SessionVariables)
    assert dict(variables) == {"a": VALUE}  # still what the session is created with
    assert VALUE not in repr(bound)
    assert VALUE not in dumps(bound)


def test_it_serializes_and_pickles_as_langchains_binding() -> None:
    bound = model().bind(session_id="s-1").bind(max_tokens=5)
    assert dumpd(bound)["id"][-1] == "RunnableBinding"
    clone = pickle.loads(pickle.dumps(bound))
    assert type(clone) is VariablesHidingBinding
    assert clone.kwargs == {"session_id": "s-1", "max_tokens": 5}


def test_a_session_variables_object_is_kept_as_it_is() -> None:
    variables = SessionVariables(a=VALUE)
    assert model().bind(session_variables=variables).kwargs["session_variables"] is variables
