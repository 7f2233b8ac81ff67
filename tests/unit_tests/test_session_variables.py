"""SessionVariables: sent to Pathors, never shown by repr, dumps or traces."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

from langchain_pathors import SessionVariables
from tests.tracing import RunCollector
from tests.unit_tests.conftest import FakePathors

SSN = "ssn-canary-987-65-4321"
VARIABLES = {"userName": "John", "ssn": SSN}


def test_repr_and_str_show_names_only() -> None:
    variables = SessionVariables(VARIABLES)
    assert repr(variables) == "SessionVariables(<2 hidden: ssn, userName>)"
    assert str(variables) == repr(variables)
    assert f"{variables}" == repr(variables)
    assert SSN not in repr({"v": variables})


def test_it_is_a_read_only_mapping_of_the_values() -> None:
    variables = SessionVariables(VARIABLES, plan="pro")
    assert dict(variables) == {**VARIABLES, "plan": "pro"}
    assert variables["ssn"] == SSN
    assert len(variables) == 3
    assert variables == {**VARIABLES, "plan": "pro"}
    with pytest.raises(TypeError):
        variables["ssn"] = "x"  # type: ignore[index]
    source = dict(VARIABLES)
    copied = SessionVariables(source)
    source["ssn"] = "changed"
    assert copied["ssn"] == SSN  # a copy: later changes to the dict do not leak in


def test_names_must_be_strings() -> None:
    with pytest.raises(TypeError, match="names must be strings"):
        SessionVariables({1: "x"})  # type: ignore[dict-item]


def test_it_is_not_json_and_survives_pickle_and_copy() -> None:
    variables = SessionVariables(VARIABLES)
    with pytest.raises(TypeError):
        json.dumps(variables)  # never silently serialized
    assert dict(pickle.loads(pickle.dumps(variables))) == VARIABLES
    assert dict(copy.deepcopy(variables)) == VARIABLES


def test_bind_hides_a_plain_dict_from_repr_and_dumps(fake: FakePathors) -> None:
    bound = fake.model().bind(session_id="s-1", session_variables=dict(VARIABLES))
    assert SSN not in repr(bound)
    assert "SessionVariables(<2 hidden: ssn, userName>)" in repr(bound)
    assert SSN not in dumps(bound)
    assert SSN not in json.dumps(dumpd(bound))


def test_bind_tools_and_chains_hide_them_too(fake: FakePathors) -> None:
    class Lookup(BaseModel):
        """Look something up."""

        query: str

    llm = fake.model()
    with_tools = llm.bind_tools([Lookup], session_id="s-1", session_variables=dict(VARIABLES))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | llm.bind(
        session_id="s-2", session_variables=SessionVariables(VARIABLES)
    )
    for runnable in (with_tools, chain):
        assert SSN not in repr(runnable)
        assert SSN not in dumps(runnable)


def test_the_values_still_reach_the_session_endpoint_once(fake: FakePathors) -> None:
    llm = fake.model()
    user_llm = llm.bind(session_id="s-1", session_variables=SessionVariables(VARIABLES))
    user_llm.invoke("Hi")
    user_llm.invoke("Again")
    other = llm.bind(session_id="s-1", session_variables=SessionVariables(userName="Ann"))
    other.invoke("Hi")  # other variables: a second creation, not mistaken for the first
    bodies = [json.loads(r.content) for r in fake.session_requests()]
    assert bodies == [
        {"session_id": "s-1", "variables": VARIABLES},
        {"session_id": "s-1", "variables": {"userName": "Ann"}},
    ]


async def test_async_calls_and_create_session_take_them(fake: FakePathors) -> None:
    llm = fake.model()
    await llm.bind(session_id="s-3", session_variables=SessionVariables(VARIABLES)).ainvoke("Hi")
    llm.create_session("s-4", SessionVariables(VARIABLES))
    await llm.acreate_session("s-5", SessionVariables(VARIABLES))
    assert [json.loads(r.content)["variables"] for r in fake.session_requests()] == [VARIABLES] * 3


def test_traces_of_a_chain_name_the_variables_without_their_values(fake: FakePathors) -> None:
    tracer = RunCollector()
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | fake.model().bind(
        session_id="s-6", session_variables=dict(VARIABLES)
    )
    chain.invoke({"q": "Hi"}, config={"callbacks": [tracer]})
    dumped: list[Any] = [run.model_dump_json() for run in tracer.runs]
    assert dumped
    assert not any(SSN in text for text in dumped)
    model_runs = [r for r in tracer.runs for r in [r, *r.child_runs] if r.run_type == "llm"]
    assert model_runs[0].extra["invocation_params"]["session_variable_names"] == [
        "ssn",
        "userName",
    ]


def test_a_non_mapping_is_refused(fake: FakePathors) -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        fake.model().invoke("Hi", session_id="s-7", session_variables=["ssn"])
