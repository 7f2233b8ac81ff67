"""What is measured: each contender is a zero-argument callable doing one unit of work.

Invoke contenders make one call and return; stream contenders consume one whole stream
and return how many content chunks they saw; async contenders make one call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import httpx

from benchmarks._emulator import API_KEY, PROJECT_ID

PROMPT = "Hi"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def _pool_limits() -> httpx.Limits:
    """ChatPathors' own pool limits, so raw httpx (the ideal) is measured on equal terms."""
    try:
        from langchain_pathors._client import DEFAULT_LIMITS
    except ImportError:  # the name moved: the value it had when this was written
        return httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    return DEFAULT_LIMITS


LIMITS = _pool_limits()

Invoke = Callable[[], object]
Stream = Callable[[], int]
AInvoke = Callable[[], Awaitable[object]]


def _body(text: str, *, stream: bool = False) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "stream": stream}


def chat_pathors(base_url: str) -> Any:
    from langchain_pathors import ChatPathors

    return ChatPathors(base_url=base_url, project_id=PROJECT_ID, api_key=API_KEY)


def chat_openai(api_root: str) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=api_root, api_key=API_KEY, model="pathway-default", max_retries=0)  # type: ignore[call-arg]


def _leave_open() -> None:
    """ChatOpenAI's default HTTP clients are process-wide (cached): not ours to close."""


# ------------------------------------------------------------------------ invoke
def raw_httpx_invoke(api_root: str) -> tuple[Invoke, Callable[[], None]]:
    client = httpx.Client(limits=LIMITS)
    url = f"{api_root}/chat/completions"

    def call() -> object:
        response = client.post(url, json=_body(PROMPT), headers=HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return call, client.close


def langchain_floor_invoke() -> tuple[Invoke, Callable[[], None]]:
    from langchain_core.language_models import GenericFakeChatModel

    model = GenericFakeChatModel(messages=itertools.cycle([f"You said: {PROMPT}"]))
    return (lambda: model.invoke(PROMPT)), (lambda: None)


def chat_pathors_invoke(base_url: str) -> tuple[Invoke, Callable[[], None]]:
    model = chat_pathors(base_url)
    return (lambda: model.invoke(PROMPT)), model.close


def chat_openai_invoke(api_root: str) -> tuple[Invoke, Callable[[], None]]:
    model = chat_openai(api_root)
    return (lambda: model.invoke(PROMPT)), _leave_open


# ------------------------------------------------------------------------ stream
def raw_httpx_stream(api_root: str, chunks: int) -> tuple[Stream, Callable[[], None]]:
    """httpx plus the least SSE parsing that works: `data: ` lines, JSON, `[DONE]`."""
    client = httpx.Client(limits=LIMITS)
    url = f"{api_root}/chat/completions"
    body = _body(f"stream {chunks}", stream=True)

    def call() -> int:
        seen = 0
        with client.stream("POST", url, json=body, headers=HEADERS) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                delta = json.loads(data)["choices"][0]["delta"]
                if delta.get("content"):
                    seen += 1
        return seen

    return call, client.close


def langchain_floor_stream(chunks: int) -> tuple[Stream, Callable[[], None]]:
    """`GenericFakeChatModel.stream` over the same N words: LangChain's own per-chunk cost."""
    from langchain_core.language_models import GenericFakeChatModel

    text = "".join(f"w{i} " for i in range(chunks))
    model = GenericFakeChatModel(messages=itertools.cycle([text]))

    def call() -> int:
        return sum(1 for c in model.stream("x") if c.content and str(c.content).strip())

    return call, lambda: None


def _lc_stream(model: Any, chunks: int) -> Stream:
    prompt = f"stream {chunks}"

    def call() -> int:
        return sum(1 for c in model.stream(prompt) if c.content)

    return call


def chat_pathors_stream(base_url: str, chunks: int) -> tuple[Stream, Callable[[], None]]:
    model = chat_pathors(base_url)
    return _lc_stream(model, chunks), model.close


def chat_openai_stream(api_root: str, chunks: int) -> tuple[Stream, Callable[[], None]]:
    model = chat_openai(api_root)
    return _lc_stream(model, chunks), _leave_open


# ------------------------------------------------------------------------ async
def raw_httpx_ainvoke(api_root: str) -> tuple[AInvoke, Callable[[], Awaitable[None]]]:
    client = httpx.AsyncClient(limits=LIMITS, timeout=60)
    url = f"{api_root}/chat/completions"

    async def call() -> object:
        response = await client.post(url, json=_body(PROMPT), headers=HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return call, client.aclose


def chat_pathors_ainvoke(base_url: str) -> tuple[AInvoke, Callable[[], Awaitable[None]]]:
    model = chat_pathors(base_url)
    return (lambda: model.ainvoke(PROMPT)), model.aclose


def chat_openai_ainvoke(api_root: str) -> tuple[AInvoke, Callable[[], Awaitable[None]]]:
    model = chat_openai(api_root)

    async def close_in_loop() -> None:
        # Its async pool is process-wide (cached by langchain_openai) and bound to this
        # loop: closed here, as an app would at shutdown, it does not warn about 100
        # unclosed transports at exit. No later phase uses ChatOpenAI asynchronously.
        await model.root_async_client.close()

    return (lambda: model.ainvoke(PROMPT)), close_in_loop


# ------------------------------------------------------------------------ long histories
def history(size: int) -> list[Any]:
    """A conversation of `size` messages: a system prompt, then user/assistant turns.

    The last message is the user's `Hi`, so every contender gets the short echo answer.
    """
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    messages: list[Any] = [SystemMessage("You are a helpful assistant for a travel agency.")]
    turn = 0
    while len(messages) < size - 1:
        messages.append(HumanMessage(f"Question {turn}: what about the trains to city {turn}?"))
        messages.append(AIMessage(f"Answer {turn}: there are three trains a day to city {turn}."))
        turn += 1
    messages = messages[: size - 1]
    messages.append(HumanMessage(PROMPT))
    return messages


def _wire(messages: list[Any]) -> list[dict[str, str]]:
    """The history as OpenAI wire dicts, built once: the floor does not convert."""
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": str(m.content)} for m in messages]


def raw_httpx_history(api_root: str, messages: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    client = httpx.Client(limits=LIMITS)
    url = f"{api_root}/chat/completions"
    body = {"messages": _wire(messages), "stream": False}

    def call() -> object:
        response = client.post(url, json=body, headers=HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return call, client.close


def langchain_floor_history(messages: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    from langchain_core.language_models import GenericFakeChatModel

    model = GenericFakeChatModel(messages=itertools.cycle([f"You said: {PROMPT}"]))
    return (lambda: model.invoke(messages)), (lambda: None)


def chat_pathors_history(base_url: str, messages: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    model = chat_pathors(base_url)
    return (lambda: model.invoke(messages)), model.close


def chat_openai_history(api_root: str, messages: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    model = chat_openai(api_root)
    return (lambda: model.invoke(messages)), _leave_open


# ------------------------------------------------------------------------ tools
def make_tools(count: int) -> list[Any]:
    """`count` distinct tools as `@tool` builds them (what agents bind)."""
    from langchain_core.tools import StructuredTool
    from pydantic import BaseModel, Field, create_model

    tools = []
    for i in range(count):
        args: Any = create_model(
            f"Lookup{i}Args",
            __base__=BaseModel,
            city=(str, Field(description="The city")),
            days=(int, Field(default=1, description="How many days ahead")),
            units=(str, Field(default="metric", description="metric or imperial")),
        )
        tools.append(
            StructuredTool.from_function(
                func=lambda city, days=1, units="metric": city,
                name=f"lookup_{i}",
                description=f"Look up forecast number {i} for a city.",
                args_schema=args,
            )
        )
    return tools


def raw_httpx_tools(api_root: str, tools: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    """The floor sends the same tool schemas, converted once, outside the clock."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    client = httpx.Client(limits=LIMITS)
    url = f"{api_root}/chat/completions"
    body = {**_body(PROMPT), "tools": [convert_to_openai_tool(t) for t in tools]}

    def call() -> object:
        response = client.post(url, json=body, headers=HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return call, client.close


def chat_pathors_tools(base_url: str, tools: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    model = chat_pathors(base_url)
    return (lambda: model.bind_tools(tools).invoke(PROMPT)), model.close


def chat_openai_tools(api_root: str, tools: list[Any]) -> tuple[Invoke, Callable[[], None]]:
    model = chat_openai(api_root)
    return (lambda: model.bind_tools(tools).invoke(PROMPT)), _leave_open


# ------------------------------------------------------------------------ asyncio.run per call
class _RawRequest(NamedTuple):
    url: str
    context: ssl.SSLContext


async def _raw_post(request: _RawRequest) -> object:
    """A client for this loop only (as `async with` closes it), one POST, the reply text."""
    async with httpx.AsyncClient(verify=request.context, limits=LIMITS) as client:
        response = await client.post(request.url, json=_body(PROMPT), headers=HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]


def raw_httpx_asyncio_run(api_root: str) -> tuple[Invoke, Callable[[], None]]:
    """Raw httpx: a loop and a client per request (with an SSL context made once)."""
    request = _RawRequest(f"{api_root}/chat/completions", httpx.create_ssl_context())
    return (lambda: asyncio.run(_raw_post(request))), (lambda: None)


def floor_asyncio_run(api_root: str) -> tuple[Invoke, Callable[[], None]]:
    """The floor in one new loop per call: raw httpx's request, then LangChain's own `ainvoke`.

    `GenericFakeChatModel` has no `_agenerate`, so LangChain would run its `_generate` in
    the loop's default executor: a thread started and joined per loop, which no native
    async model pays. The floor's model answers natively in the loop instead.
    """
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatResult

    class NativeAsyncFake(GenericFakeChatModel):
        async def _agenerate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            return self._generate(messages, stop=stop, **kwargs)

    model = NativeAsyncFake(messages=itertools.cycle([f"You said: {PROMPT}"]))
    request = _RawRequest(f"{api_root}/chat/completions", httpx.create_ssl_context())

    async def one() -> object:
        await _raw_post(request)
        return await model.ainvoke(PROMPT)

    return (lambda: asyncio.run(one())), (lambda: None)


def chat_pathors_asyncio_run(base_url: str) -> tuple[Invoke, Callable[[], None]]:
    model = chat_pathors(base_url)
    return (lambda: asyncio.run(model.ainvoke(PROMPT))), model.close


def chat_openai_asyncio_run(api_root: str) -> tuple[Invoke, Callable[[], None]]:
    model = chat_openai(api_root)
    return (lambda: asyncio.run(model.ainvoke(PROMPT))), _leave_open
