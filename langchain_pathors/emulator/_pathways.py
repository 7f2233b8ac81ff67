"""Pathways: who answers a chat request inside the emulator.

A pathway is any object with ``async def respond(request: PathwayRequest) -> PathwayReply``.
Three kinds ship with the emulator:

* ``EchoPathway`` (the default): deterministic, calls tools by name, echoes text;
* ``ChatModelPathway``: any LangChain chat model, e.g. a scripted fake;
* ``CallablePathway``: a plain function, sync or async.

The server, not the pathway, applies stop sequences, streaming splits and faults.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from ._echo_rules import (
    choose_forced_call_after_results,
    choose_tool_calls,
    format_reply,
    greeting,
    message_text,
    summarise_tool_results,
)
from ._lc_convert import wire_to_langchain
from ._state import SessionRecord

__all__ = [
    "CallablePathway",
    "ChatModelPathway",
    "EchoPathway",
    "Pathway",
    "PathwayReply",
    "PathwayRequest",
    "ToolCallReply",
    "as_pathway",
]


@dataclass(frozen=True)
class PathwayRequest:
    """What a pathway sees of a validated chat request.

    Attributes:
        messages: The wire messages, as received.
        tools: The wire tool definitions (``{"type": "function", "function": {...}}``).
        tool_choice: ``None``, ``"auto"``, ``"none"``, ``"required"`` or a
            ``{"type": "function", "function": {"name": ...}}`` dict.
        session: A snapshot of the session, with this turn already counted.
        stream: Whether the client asked for a stream.
        response_format: OpenAI's ``response_format`` as sent (``None`` when absent):
            ``{"type": "text" | "json_object"}`` or ``{"type": "json_schema",
            "json_schema": {"schema": {...}, ...}}``.

    Examples:
        >>> req = PathwayRequest(messages=[{"role": "user", "content": "Hi"}])
        >>> req.last_user_text
        'Hi'

    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    session: SessionRecord = field(default_factory=lambda: SessionRecord("session-example"))
    stream: bool = False
    response_format: dict[str, Any] | None = None

    @property
    def last_user_text(self) -> str:
        """The text of the last ``user`` message (``""`` when there is none)."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return message_text(msg)
        return ""


@dataclass
class ToolCallReply:
    """One tool call in a pathway's reply.

    Attributes:
        name: The function name.
        arguments: The arguments, as a dict or as a raw JSON string (sent unchanged).
        id: The call id; ``call_<hex>`` is generated when absent.

    Examples:
        >>> ToolCallReply("get_weather", {"location": "Paris"}).arguments_json()
        '{"location": "Paris"}'

    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = f"call_{uuid.uuid4().hex[:24]}"

    def arguments_json(self) -> str:
        """The arguments as the JSON string the wire carries.

        Examples:
            A string is sent unchanged, so a test can send malformed arguments:

            >>> ToolCallReply("get_weather", '{"location": ').arguments_json()
            '{"location": '

        """
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class PathwayReply:
    """A pathway's answer.

    Attributes:
        content: The reply text (``""`` when there are only tool calls).
        tool_calls: Tool calls, sent in this order (several = parallel calls).
        chunks: Forces the streaming split; when given, ``content`` defaults to their
            concatenation and must equal it otherwise.
        model: The ``model`` field of the response (the emulator's default otherwise).

    Examples:
        >>> PathwayReply(tool_calls=[ToolCallReply("f")]).finish_reason
        'tool_calls'

    """

    content: str = ""
    tool_calls: list[ToolCallReply] = field(default_factory=list)
    chunks: list[str] | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None:
            joined = "".join(self.chunks)
            if not self.content:
                self.content = joined
            elif joined != self.content:
                raise ValueError("PathwayReply.chunks must concatenate to content")

    @property
    def finish_reason(self) -> str:
        """``"tool_calls"`` when the reply calls tools, else ``"stop"``."""
        return "tool_calls" if self.tool_calls else "stop"


@runtime_checkable
class Pathway(Protocol):
    """Anything that answers chat requests.

    Examples:
        >>> class Shout:
        ...     async def respond(self, request: PathwayRequest) -> PathwayReply:
        ...         return PathwayReply(content=request.last_user_text.upper())
        >>> isinstance(Shout(), Pathway)
        True

    """

    async def respond(self, request: PathwayRequest) -> PathwayReply:
        """Answer one chat request.

        Examples:
            >>> req = PathwayRequest(messages=[{"role": "user", "content": "hi"}])
            >>> asyncio.run(Shout().respond(req)).content  # doctest: +SKIP
            'HI'

        """
        ...


class EchoPathway:
    """The default pathway: deterministic, general, no model.

    Rules, in order:

    1. If the last message is a tool result, summarise the trailing tool messages:
       ``"Tool results: get_weather: 72°F, sunny."``; a result with ``status: "error"``
       (or ``is_error``, or text starting with ``Error``) reads ``"<name> failed: ..."``.
       When ``tool_choice`` forces a call, the reply is a call instead, as OpenAI's
       ``tool_choice`` demands: the named function, or for ``"required"`` the first
       bound tool not yet called since the last user message (mentioned tools first),
       with arguments built from the summary (see ``choose_forced_call_after_results``
       in ``langchain_pathors.emulator._echo_rules``).
    2. Otherwise call tools when ``tool_choice`` forces it (``"required"``: the tools the
       last user message mentions, else the first bound tool; a named function: that one)
       or when ``tool_choice`` is not ``"none"`` and the last user message mentions bound
       tools by name (case-insensitive; ``_``, ``-`` and spaces alike). Several mentions
       give several calls, in mention order. Arguments come from the tool's schema and the
       message (see ``build_arguments`` in ``langchain_pathors.emulator._schema_args``),
       with the tool-name mentions removed from the text first.
    3. Otherwise answer ``"You said: <last user text>"``, preceded on a session's first
       turn, when it has variables, by ``"Hello! Session variables: k=v, k2=v2. "``.

    A text reply (rules 1 and 3) then follows OpenAI's ``response_format``, when given:

    * ``{"type": "json_schema", "json_schema": {"schema": S}}``: the content is a JSON
      object built from ``S`` by the same rule as tool-call arguments, drawn from the last
      user message (rule 3) or from the tool-results summary (rule 1);
    * ``{"type": "json_object"}``: the content is ``{"reply": <the text reply>}`` as JSON;
    * ``{"type": "text"}`` or none: the text reply as it is.

    Tool calls (rule 2) come first: a reply that calls tools has empty content.

    The rules run in a worker thread, so a request with a long text or many tools does
    not hold up the server's other requests.

    Examples:
        >>> reply = asyncio.run(EchoPathway().respond(
        ...     PathwayRequest(messages=[{"role": "user", "content": "Hi"}])))
        >>> reply.content
        'You said: Hi'

    """

    async def respond(self, request: PathwayRequest) -> PathwayReply:
        """Answer by the rules above.

        Examples:
            >>> tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
            ...     "type": "object", "properties": {"location": {"type": "string"}},
            ...     "required": ["location"]}}}
            >>> req = PathwayRequest(
            ...     messages=[{"role": "user", "content": "Use get_weather for 'Paris'"}],
            ...     tools=[tool])
            >>> reply = asyncio.run(EchoPathway().respond(req))
            >>> reply.tool_calls[0].name, reply.tool_calls[0].arguments
            ('get_weather', {'location': 'Paris'})

        """
        return await anyio.to_thread.run_sync(self.answer, request)

    def answer(self, request: PathwayRequest) -> PathwayReply:
        """Apply the rules (synchronously; :meth:`respond` runs this in a worker thread).

        Examples:
            >>> EchoPathway().answer(PathwayRequest(messages=[{"role": "user", "content": "Hi"}]))
            PathwayReply(content='You said: Hi', tool_calls=[], chunks=None, model=None)

        """
        fmt = request.response_format
        if request.messages and request.messages[-1].get("role") == "tool":
            summary = summarise_tool_results(request.messages)
            forced = choose_forced_call_after_results(
                request.tools, request.tool_choice, request.messages, summary
            )
            if forced:
                return PathwayReply(tool_calls=[ToolCallReply(n, args) for n, args in forced])
            return PathwayReply(content=format_reply(summary, fmt, summary))
        text = request.last_user_text
        calls = choose_tool_calls(request.tools, request.tool_choice, text)
        if calls:
            return PathwayReply(tool_calls=[ToolCallReply(n, args) for n, args in calls])
        hello = greeting(request.session.variables) if request.session.turns == 1 else ""
        return PathwayReply(content=format_reply(f"{hello}You said: {text}", fmt, text))


class ChatModelPathway:
    """Wraps any LangChain chat model (e.g. ``GenericFakeChatModel`` for scripted replies).

    Tools are bound with ``model.bind_tools(tools, tool_choice=...)``; a model that does
    not support tools (``NotImplementedError``) is used unbound. The model is always
    called with ``ainvoke``: the server needs the whole reply before the first event
    anyway, and some models' streams drop tool calls (``GenericFakeChatModel`` streams
    only its text), so a streaming request is split into word deltas like any reply.

    Examples:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> model = GenericFakeChatModel(messages=iter(["Hello there"]))
        >>> req = PathwayRequest(messages=[{"role": "user", "content": "Hi"}])
        >>> asyncio.run(ChatModelPathway(model).respond(req)).content
        'Hello there'

    """

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def _runnable(self, request: PathwayRequest) -> Runnable[Any, Any]:
        if not request.tools:
            return self.model
        choice = request.tool_choice
        kwargs: dict[str, Any] = {}
        if isinstance(choice, dict):
            kwargs["tool_choice"] = choice["function"]["name"]
        elif choice is not None:
            kwargs["tool_choice"] = choice
        try:
            return self.model.bind_tools(request.tools, **kwargs)
        except NotImplementedError:
            return self.model

    async def respond(self, request: PathwayRequest) -> PathwayReply:
        """Run the model and map its ``AIMessage`` back to a reply.

        Examples:
            >>> from langchain_core.language_models import GenericFakeChatModel
            >>> from langchain_core.messages import AIMessage
            >>> call = {"name": "get_weather", "args": {"location": "Paris"}, "id": "call_1"}
            >>> model = GenericFakeChatModel(messages=iter([AIMessage("", tool_calls=[call])]))
            >>> req = PathwayRequest(messages=[{"role": "user", "content": "Hi"}], stream=True)
            >>> reply = asyncio.run(ChatModelPathway(model).respond(req))
            >>> reply.tool_calls[0].name, reply.tool_calls[0].arguments
            ('get_weather', {'location': 'Paris'})

        """
        runnable = self._runnable(request)
        message = await runnable.ainvoke(wire_to_langchain(request.messages))
        calls = [
            ToolCallReply(call["name"], call["args"], call.get("id"))
            for call in getattr(message, "tool_calls", None) or []
        ]
        return PathwayReply(content=message.text, tool_calls=calls)


ReplyLike = PathwayReply | str
PathwayFunction = Callable[[PathwayRequest], ReplyLike | Awaitable[ReplyLike]]


class CallablePathway:
    """Wraps a function ``fn(request) -> PathwayReply | str`` (sync or async).

    A returned string is the reply's content. A sync function runs in a worker thread,
    so a slow one does not hold up other requests.

    Examples:
        >>> pathway = CallablePathway(lambda req: f"{len(req.messages)} message(s)")
        >>> asyncio.run(pathway.respond(PathwayRequest(messages=[{"role": "user"}]))).content
        '1 message(s)'

    """

    def __init__(self, fn: PathwayFunction) -> None:
        self.fn = fn
        call = getattr(fn, "__call__", None)  # noqa: B004 - async callable objects count too
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)

    async def respond(self, request: PathwayRequest) -> PathwayReply:
        """Call the function and normalise its result.

        Examples:
            >>> pathway = CallablePathway(lambda req: PathwayReply(content="ok"))
            >>> asyncio.run(pathway.respond(PathwayRequest(messages=[]))).content
            'ok'

        """
        if self._is_async:
            result: Any = self.fn(request)
        else:
            result = await asyncio.to_thread(self.fn, request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            return PathwayReply(content=result)
        if isinstance(result, PathwayReply):
            return result
        raise TypeError(f"pathway function returned {type(result).__name__}, not PathwayReply/str")


def as_pathway(obj: Any) -> Pathway:
    """Accept a pathway, a LangChain chat model, a function or ``None`` (echo).

    Examples:
        >>> type(as_pathway(None)).__name__
        'EchoPathway'

    """
    if obj is None:
        return EchoPathway()
    if isinstance(obj, Pathway):
        return obj
    if isinstance(obj, BaseChatModel):
        return ChatModelPathway(obj)
    if callable(obj):
        return CallablePathway(obj)
    raise TypeError(f"not a pathway, chat model or function: {type(obj).__name__}")
