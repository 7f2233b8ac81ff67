"""PathorsSessionMiddleware: variables per thread, thread binding, sync and async, no leaks.

The agents here run on the scripted transport (no sockets); the end-to-end tests against
the emulator are in tests/integration_tests/test_agent_sessions.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langsmith import Client
from langsmith.run_helpers import tracing_context

from langchain_pathors import ChatPathors
from langchain_pathors._session_resolver import thread_session_id
from langchain_pathors.middleware import PathorsSessionMiddleware
from tests.tracing import RunCollector
from tests.unit_tests.conftest import FakePathors

SECRET = "ssn-987-65-4321"


@dataclass
class User:
    name: str


def thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def created(fake: FakePathors) -> list[tuple[str, dict[str, Any]]]:
    bodies = [json.loads(r.content) for r in fake.session_requests()]
    return [(b["session_id"], b.get("variables")) for b in bodies]


def chat_sessions(fake: FakePathors) -> list[str | None]:
    return [r.headers.get("x-session-id") for r in fake.chat_requests()]


def test_imports_without_langchain_and_fails_only_when_used():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["langchain"] = None  # as if langchain were not installed
        import langchain_pathors.middleware as m
        assert m.PathorsSessionMiddleware.__doc__
        try:
            m.PathorsSessionMiddleware()
        except ImportError as exc:
            print("ImportError:", exc)
        else:
            raise SystemExit("no error")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'langchain>=1.0'" in done.stdout


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="variables must be a dict"):
        PathorsSessionMiddleware(variables=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="session_from_thread"):
        PathorsSessionMiddleware(session_from_thread="yes")  # type: ignore[arg-type]


def test_repr_never_shows_the_variables():
    text = repr(PathorsSessionMiddleware(variables={"ssn": SECRET}))
    assert SECRET not in text
    assert "variables=<dict>" in text


def test_dict_variables_create_each_threads_session_once(fake: FakePathors):
    llm = fake.model()
    middleware = PathorsSessionMiddleware(variables={"plan": "pro"})
    agent = create_agent(llm, [], checkpointer=InMemorySaver(), middleware=[middleware])
    for text in ("Hi", "And again", "Once more"):
        agent.invoke({"messages": [HumanMessage(text)]}, thread("a"))
    agent.invoke({"messages": [HumanMessage("Hi")]}, thread("b"))

    (a_id, a_vars), (b_id, b_vars) = created(fake)
    assert a_vars == b_vars == {"plan": "pro"}
    assert a_id != b_id
    assert chat_sessions(fake) == [a_id, a_id, a_id, b_id]


async def test_context_is_needed_only_until_the_thread_has_a_reply(fake: FakePathors):
    calls: list[Any] = []

    def variables(user: User | None) -> dict[str, Any]:
        calls.append(user)
        assert user is not None
        return {"userName": user.name}

    llm = fake.model()
    agent = create_agent(
        llm,
        [],
        checkpointer=InMemorySaver(),
        context_schema=User,
        middleware=[PathorsSessionMiddleware(variables=variables)],
    )
    await agent.ainvoke({"messages": [HumanMessage("Hi")]}, thread("t"), context=User("Ada"))
    await agent.ainvoke({"messages": [HumanMessage("Who am I?")]}, thread("t"))  # no context
    async for _ in agent.astream({"messages": [HumanMessage("Bye")]}, thread("t")):
        pass

    assert calls == [User("Ada")]
    ((sid, sent),) = created(fake)
    assert sent == {"userName": "Ada"}
    assert chat_sessions(fake) == [sid, sid, sid]
    await llm.aclose()


def test_a_variables_function_may_return_none(fake: FakePathors):
    agent = create_agent(
        fake.model(), [], middleware=[PathorsSessionMiddleware(variables=lambda _ctx: None)]
    )
    agent.invoke({"messages": [HumanMessage("Hi")]})
    assert created(fake) == []


def test_a_variables_function_must_return_a_dict(fake: FakePathors):
    # Deliberately the wrong return type: the middleware must refuse it at run time.
    not_a_dict = PathorsSessionMiddleware(variables=lambda _ctx: "x")  # type: ignore[arg-type]
    agent = create_agent(fake.model(), [], middleware=[not_a_dict])
    with pytest.raises(TypeError, match="must return a dict"):
        agent.invoke({"messages": [HumanMessage("Hi")]})
    assert fake.requests == []


@pytest.mark.parametrize(
    ("binding", "expected"),
    [(True, thread_session_id("t-7", True)), (lambda tid: f"support-{tid}", "support-t-7")],
)
def test_thread_binding_derives_the_session_from_the_thread(
    fake: FakePathors, binding: Any, expected: str
):
    agent = create_agent(
        fake.model(),
        [],
        checkpointer=InMemorySaver(),
        middleware=[PathorsSessionMiddleware(variables={"k": "v"}, session_from_thread=binding)],
    )
    agent.invoke({"messages": [HumanMessage("Hi")]}, thread("t-7"))
    agent.invoke({"messages": [HumanMessage("Again")]}, thread("t-7"))
    assert created(fake) == [(expected, {"k": "v"})]
    assert chat_sessions(fake) == [expected, expected]


def test_a_rebuilt_agent_does_not_create_a_bound_session_again(fake: FakePathors):
    saver = InMemorySaver()
    middleware = [PathorsSessionMiddleware(variables={"k": "v"}, session_from_thread=True)]
    create_agent(fake.model(), [], checkpointer=saver, middleware=middleware).invoke(
        {"messages": [HumanMessage("Hi")]}, thread("r")
    )
    # A new process would have a new model (and an empty registry): only the thread's
    # history tells that its session exists.
    create_agent(fake.model(), [], checkpointer=saver, middleware=middleware).invoke(
        {"messages": [HumanMessage("Back again")]}, thread("r")
    )
    assert created(fake) == [(thread_session_id("r", True), {"k": "v"})]
    assert chat_sessions(fake) == [thread_session_id("r", True)] * 2


def test_thread_binding_without_a_thread_is_an_error(fake: FakePathors):
    agent = create_agent(
        fake.model(), [], middleware=[PathorsSessionMiddleware(session_from_thread=True)]
    )
    with pytest.raises(ValueError, match="thread_id"):
        agent.invoke({"messages": [HumanMessage("Hi")]})
    assert fake.requests == []


def test_an_explicit_session_wins(fake: FakePathors):
    middleware = [PathorsSessionMiddleware(variables={"k": "v"}, session_from_thread=True)]
    pinned = create_agent(
        fake.model(session_id="pinned"), [], checkpointer=InMemorySaver(), middleware=middleware
    )
    pinned.invoke({"messages": [HumanMessage("Hi")]}, thread("p1"))
    anyone = create_agent(fake.model(), [], checkpointer=InMemorySaver(), middleware=middleware)
    config: RunnableConfig = {"configurable": {"thread_id": "p2", "session_id": "from-config"}}
    anyone.invoke({"messages": [HumanMessage("Hi")]}, config)
    assert created(fake) == []
    assert chat_sessions(fake) == ["pinned", "from-config"]


def test_other_models_pass_through_unchanged():
    model = GenericFakeChatModel(messages=iter([AIMessage("hi")]))
    request = ModelRequest(model=model, messages=[HumanMessage("x")])
    middleware = PathorsSessionMiddleware(variables={"k": "v"}, session_from_thread=True)
    assert middleware.wrap_model_call(request, lambda r: r) is request  # type: ignore[arg-type,return-value]


class _Recorder(Client):
    """A LangSmith client that keeps the runs it is sent instead of posting them."""

    def __init__(self) -> None:
        super().__init__(api_key="unused", api_url="http://127.0.0.1:9", auto_batch_tracing=False)
        self.sent: list[Any] = []

    def create_run(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def update_run(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class _Inner(AgentMiddleware):  # type: ignore[type-arg]
    """A middleware after ours: its traced span sees the request ours hands on."""

    def __init__(self) -> None:
        self.requests: list[ModelRequest[Any]] = []

    def wrap_model_call(self, request: ModelRequest[Any], handler: Any) -> Any:
        self.requests.append(request)
        return handler(request)


def test_variables_never_reach_traces_repr_or_dumps(fake: FakePathors):
    inner, tracer, langsmith = _Inner(), RunCollector(), _Recorder()
    llm = fake.model()
    agent = create_agent(
        llm,
        [],
        checkpointer=InMemorySaver(),
        middleware=[
            PathorsSessionMiddleware(variables={"ssn": SECRET}, session_from_thread=True),
            inner,
        ],
    )
    config: RunnableConfig = {**thread("x"), "callbacks": [tracer]}
    with tracing_context(enabled=True, client=langsmith, project_name="unit"):
        agent.invoke({"messages": [HumanMessage("Hi")]}, config)
    assert created(fake) == [(thread_session_id("x", True), {"ssn": SECRET})]  # they did travel
    (request,) = inner.requests
    assert request.model is not llm  # the call's own copy...
    assert isinstance(request.model, ChatPathors)
    assert request.model._client is llm._client  # ...sharing the connection pools
    assert SECRET not in repr(request)
    assert SECRET not in dumps(request.model)
    assert SECRET not in request.model.model_dump_json()
    span_names = {s.get("name") for s in langsmith.sent}
    assert "_Inner.wrap_model_call" in span_names  # the span that would have leaked
    assert SECRET not in repr(langsmith.sent)
    assert tracer.runs
    for run in tracer.runs:
        assert SECRET not in run.model_dump_json()
