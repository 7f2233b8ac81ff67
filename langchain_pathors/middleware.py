"""`PathorsSessionMiddleware`: Pathors sessions for agents built with `create_agent`.

Without it, an agent with a checkpointer already keeps one Pathors session per thread:
each model call continues the session of the thread's last Pathors reply (see the
sessions guide). The middleware adds what a model cannot know on its own:

* **variables**: the session of each new thread is created once with your variables,
  a dict or a function of the agent's runtime context (`context_schema`);
* **thread binding** (`session_from_thread=True`): a new thread's session id is derived
  from the thread id (as `ChatPathors(session_from_thread=...)` does, for this agent
  only), so the thread's session is known before its first reply.

It decides nothing itself: each model call gets a per-call copy of the model carrying
these settings (`session_variables`, `session_from_thread`), and the model's one rule
picks the session, creates it once and checks forks. A thread's later calls continue the
session of its last reply.

It needs `langchain` (1.x), which `langchain-pathors` does not depend on: this module
imports without it, and creating the middleware then raises an `ImportError` that says
what to install.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from langchain_pathors._session_resolver import Endpoint

if TYPE_CHECKING:
    from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse

    from langchain_pathors.chat_models import ChatPathors

    _Base = AgentMiddleware[Any, Any, Any]
else:
    try:
        from langchain.agents.middleware import AgentMiddleware as _Base
    except ImportError:  # fail when used, not when imported

        class _Base:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                raise ImportError(
                    "PathorsSessionMiddleware is middleware for langchain's create_agent: "
                    "pip install 'langchain>=1.0'"
                )


__all__ = ["PathorsSessionMiddleware"]

Variables = Mapping[str, Any] | Callable[[Any], Mapping[str, Any] | None]
ThreadBinding = bool | Callable[[str], str]


class PathorsSessionMiddleware(_Base):
    """Pathors sessions for `create_agent`: variables per thread, optionally one id per thread.

    Add it to an agent whose model is a `ChatPathors`; model calls on other models (a
    fallback, say) pass through unchanged.

    Args:
        variables: The variables the session of each new thread is created with: a
            dict, or a function of the run's runtime context (the agent's
            `context_schema`; `None` when the run got no `context=`) returning a dict.
            A function is called while the thread has no Pathors reply yet, and on runs
            given a `context=`, so later runs of the thread may leave it out. The
            variables also seed the new session of a fork with
            `on_session_fork="new_session"`. `None` or `{}`: no variables.
        session_from_thread: `True` gives a new thread the session
            `lc-thread-<first 32 hex digits of the SHA-256 of the thread id>`; a
            function maps a thread id to a session id (the derivation of `ChatPathors`'
            `session_from_thread`, set for this agent only). A run without a
            `thread_id` then raises `ValueError`. `False` (the default): a new thread's
            first model call opens a fresh session (`"new"` with variables, else
            `"server"`).

    Example:
        ```python
        from dataclasses import dataclass

        from langchain.agents import create_agent
        from langgraph.checkpoint.memory import InMemorySaver

        from langchain_pathors import ChatPathors
        from langchain_pathors.middleware import PathorsSessionMiddleware


        @dataclass
        class User:
            name: str


        agent = create_agent(
            ChatPathors(),
            tools,
            checkpointer=InMemorySaver(),
            context_schema=User,
            middleware=[PathorsSessionMiddleware(variables=lambda user: {"userName": user.name})],
        )
        config = {"configurable": {"thread_id": "t-1"}}
        agent.invoke({"messages": [("user", "Hi")]}, config, context=User("Ada"))
        agent.invoke({"messages": [("user", "And now?")]}, config)  # same session
        ```

    The variables travel on the model copy's `session_variables` field, which `repr`,
    `dumps` and traces leave out (as model settings, they would show in the traced spans
    of other middleware). Traces show the session id and its source.

    An explicit session wins: with the model's own `session_id`, a `session_id` in the
    request's model settings, or the run's `configurable.session_id`, the call is left
    alone.
    """

    def __init__(
        self,
        *,
        variables: Variables | None = None,
        session_from_thread: ThreadBinding = False,
    ) -> None:
        super().__init__()
        if variables is not None and not (callable(variables) or isinstance(variables, Mapping)):
            msg = "variables must be a dict or a function of the runtime context"
            raise TypeError(msg)
        if not isinstance(session_from_thread, bool) and not callable(session_from_thread):
            msg = "session_from_thread must be True, False or a function of the thread id"
            raise TypeError(msg)
        # A copy: the caller's dict may change later; this agent's threads keep these.
        self._variables = dict(variables) if isinstance(variables, Mapping) else variables
        self._thread_binding = session_from_thread

    def __repr__(self) -> str:
        # Never the variables themselves: a dict of them may hold user data.
        kind = "function" if callable(self._variables) else type(self._variables).__name__
        binding = self._thread_binding
        return f"PathorsSessionMiddleware(variables=<{kind}>, session_from_thread={binding!r})"

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        """Run the model call with this thread's session settings (sync agents)."""
        return handler(self._with_settings(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        """Run the model call with this thread's session settings (async agents)."""
        return await handler(self._with_settings(request))

    def _with_settings(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """The request, its model carrying this middleware's session settings.

        The model's own rule then picks the session (a reply in the thread's history
        first, then the thread, then a new session with the variables), creates it once
        and checks forks: this middleware only supplies the settings. An explicit session
        (the model's `session_id`, one in the request's settings or the run's
        `configurable.session_id`) is left alone.
        """
        from langchain_pathors.chat_models import ChatPathors

        model = request.model
        if not isinstance(model, ChatPathors):
            return request
        if self._thread_binding is not False and _thread_id(request) is None:
            msg = (
                "PathorsSessionMiddleware(session_from_thread=...) needs a thread: run the "
                "agent with a checkpointer and config={'configurable': {'thread_id': ...}}"
            )
            raise ValueError(msg)
        if (
            model.session_id is not None
            or "session_id" in request.model_settings
            or _configurable().get("session_id") is not None
        ):
            return request
        update: dict[str, Any] = {}
        if self._thread_binding is not False:
            update["session_from_thread"] = self._thread_binding
        variables = self._variables_for(request, model)
        if variables:
            update["session_variables"] = dict(variables)
        if not update:
            return request
        # A shallow copy for this call: it shares the model's HTTP clients. The variables
        # ride on `session_variables`, a field kept out of repr, dumps and traces; as a
        # model setting they would show in the traced spans of other middleware.
        return request.override(model=model.model_copy(update=update))

    def _variables_for(
        self, request: ModelRequest[Any], model: ChatPathors
    ) -> Mapping[str, Any] | None:
        if self._variables is None or isinstance(self._variables, Mapping):
            return self._variables
        context = getattr(getattr(request, "runtime", None), "context", None)
        if context is None and _has_reply(request.messages, model):
            return None  # the thread's session exists; later runs need no context=
        variables = self._variables(context)
        if variables is not None and not isinstance(variables, Mapping):
            msg = f"the variables function must return a dict, got {type(variables).__name__}"
            raise TypeError(msg)
        return variables


def _configurable() -> Mapping[str, Any]:
    """The running graph's `configurable` (empty outside a run)."""
    try:
        from langgraph.config import get_config

        return get_config().get("configurable") or {}
    except (ImportError, RuntimeError):
        return {}


def _thread_id(request: ModelRequest[Any]) -> str | None:
    runtime = getattr(request, "runtime", None)
    thread_id = getattr(getattr(runtime, "execution_info", None), "thread_id", None)
    if thread_id is None:  # older langgraph: read the run's config
        thread_id = _configurable().get("thread_id")
    return None if thread_id is None else str(thread_id)


def _has_reply(messages: Sequence[BaseMessage], model: ChatPathors) -> bool:
    """Whether the conversation holds a reply of the model's project (so has a session)."""
    endpoint = Endpoint.of(model.base_url, model.project_id or "")
    return any(endpoint.produced(message) for message in messages)
