"""What a run's config says about the session, read at LangChain's entry points.

`BaseChatModel.invoke` hands `_generate` the callbacks, tags and metadata of the config
but not its `configurable`, so `config={"configurable": {"session_id": ...}}` (and
LangGraph's `thread_id`) would be lost. These overrides turn them into call options
before LangChain runs the call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config

__all__ = ["ConfigSessionOptions", "call_options_from_config"]


def call_options_from_config(
    config: RunnableConfig | None, kwargs: dict[str, Any], *, thread: bool
) -> dict[str, Any]:
    """Add the session options a run's config carries to a call's kwargs (kwargs win).

    `configurable.session_id` is a per-call session; `configurable.thread_id` (set by
    LangGraph for a whole run, or by the caller) is taken only when `thread` is on. Inside
    a LangGraph node the run's config reaches the model through LangChain's context var.
    """
    parent = var_child_runnable_config.get() or {}
    configurable = {
        **(parent.get("configurable") or {}),
        **((config or {}).get("configurable") or {}),
    }
    options: dict[str, Any] = {}
    if "session_id" not in kwargs and configurable.get("session_id") is not None:
        options["session_id"] = configurable["session_id"]
    if thread and "thread_id" not in kwargs and configurable.get("thread_id") is not None:
        options["thread_id"] = str(configurable["thread_id"])
    return {**kwargs, **options} if options else kwargs


# A plain mixin at run time: a second pydantic model class in the hierarchy would cost
# about 3 ms of `import langchain_pathors`. Type checkers see the chat model it extends.
if TYPE_CHECKING:
    _ChatModel = BaseChatModel
else:
    _ChatModel = object


class ConfigSessionOptions(_ChatModel):
    """Entry points that read `configurable.session_id` / `thread_id` (mix into a chat model)."""

    def _reads_thread(self) -> bool:
        """Whether `configurable.thread_id` picks the session (subclasses say)."""
        return False

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """See `BaseChatModel.invoke`; `configurable.session_id` is a per-call session."""
        kwargs = call_options_from_config(config, kwargs, thread=self._reads_thread())
        return super().invoke(input, config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """See `BaseChatModel.ainvoke`; `configurable.session_id` is a per-call session."""
        kwargs = call_options_from_config(config, kwargs, thread=self._reads_thread())
        return await super().ainvoke(input, config, stop=stop, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """See `BaseChatModel.stream`; `configurable.session_id` is a per-call session."""
        kwargs = call_options_from_config(config, kwargs, thread=self._reads_thread())
        return super().stream(input, config, stop=stop, **kwargs)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """See `BaseChatModel.astream`; `configurable.session_id` is a per-call session."""
        kwargs = call_options_from_config(config, kwargs, thread=self._reads_thread())
        async for chunk in super().astream(input, config, stop=stop, **kwargs):
            yield chunk
