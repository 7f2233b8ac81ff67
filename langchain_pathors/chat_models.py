"""ChatPathors: the LangChain chat model for Pathors pathways.

This class wires the parts together and holds no logic of its own: wire format in
`_messages`, HTTP and retries in `_client`, sessions in `_sessions`, tools in `_tools`,
structured output in `_structured_output`, tracing hygiene in `_tracing`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from langchain_pathors._client import ClientConfig, PathorsClient
from langchain_pathors._messages import (
    ChunkConverter,
    chat_result,
    generation_chunk,
    message_from_response,
)
from langchain_pathors._request import PreparedCall, body_params, http_timeout, prepare_call
from langchain_pathors._retry import RetryPolicy
from langchain_pathors._sessions import (
    PathorsSession,
    SessionRegistry,
    new_session_id,
    validate_project_id,
    validate_session_id,
)
from langchain_pathors._tracing import redact_params, retry_hook

if TYPE_CHECKING:  # imported when first used: they load langchain_core.tools and parsers
    from langchain_pathors._structured_output import StructuredOutputMethod
    from langchain_pathors._tools import ToolLike

__all__ = ["ChatPathors"]

DEFAULT_BASE_URL = "https://app.pathors.com"
DEFAULT_MODEL_LABEL = "pathway-default"
DEFAULT_TIMEOUT_SECONDS = 60.0
# Headers the package sets itself; letting default_headers set them would skip validation.
_RESERVED_HEADERS = frozenset({"authorization", "x-session-id"})


class ChatPathors(BaseChatModel):
    """Chat model for a Pathors project's pathway, over its OpenAI-compatible API.

    Setup:
        `pip install langchain-pathors` and set `PATHORS_API_KEY` and `PATHORS_PROJECT_ID`
        (and `PATHORS_BASE_URL` for a self-hosted or emulated server).

    Example:
        ```python
        from langchain_pathors import ChatPathors

        llm = ChatPathors()  # reads the three environment variables
        llm.invoke("Hello!").content

        # A session keeps the pathway's state; variables are set when it is created.
        llm.invoke("Hi", session_id="user-123", session_variables={"userName": "John"})
        for chunk in llm.stream("Tell me more", session_id="user-123"):
            print(chunk.content, end="")
        ```

    One instance is safe to share between threads, tasks and users: which session a
    call uses always comes from that call (or the model's own `session_id`).
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    project_id: str | None = Field(default_factory=from_env("PATHORS_PROJECT_ID", default=None))
    """The Pathors project (env `PATHORS_PROJECT_ID`)."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("PATHORS_API_KEY", default=None)
    )
    """The project's integration API key (env `PATHORS_API_KEY`)."""
    base_url: str = Field(default_factory=from_env("PATHORS_BASE_URL", default=DEFAULT_BASE_URL))
    """Server root, without the `/api/...` path (env `PATHORS_BASE_URL`)."""
    session_id: str | None = None
    """Session for every call, sent as the `X-Session-ID` header; per-call `session_id` wins."""
    session_variables: dict[str, Any] | None = Field(default=None, repr=False, exclude=True)
    """Variables the model's `session_id` is created with, once, before its first call."""
    model_name: str | None = Field(default=None, alias="model")
    """Sent as `model` only when set; Pathors answers with its pathway."""
    temperature: float | None = None
    """Sent only when set (the Pathors docs do not list it; OpenAI-compatible servers take it)."""
    max_tokens: int | None = None
    """Sent only when set."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences, sent as `stop`."""
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT_SECONDS
    """Request timeout: seconds (connecting gets at most 10 s of it) or an `httpx.Timeout`."""
    stream_idle_timeout: float | None = 120.0
    """Longest wait for stream data while the server sends only keep-alives, in seconds."""
    max_retries: int = Field(default=2, ge=0)
    """Retries (not attempts) for requests that are safe to re-send."""
    max_retry_after: float = 60.0
    """Longest server-requested `Retry-After` honoured; a longer one fails at once."""
    default_headers: dict[str, str] | None = Field(default=None, repr=False, exclude=True)
    """Extra headers for every request (never serialized or traced)."""
    http_client: httpx.Client | None = Field(default=None, repr=False, exclude=True)
    """Your own `httpx.Client`; requests still carry their own auth header."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, repr=False, exclude=True)
    """Your own `httpx.AsyncClient`; requests still carry their own auth header."""
    streaming: bool = False
    """Stream under `invoke` too (callbacks then get tokens as they arrive)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra fields for the request body."""

    _client: PathorsClient = PrivateAttr()
    _sessions: SessionRegistry = PrivateAttr(default_factory=SessionRegistry)

    @field_validator("session_id")
    @classmethod
    def _check_session_id(cls, value: str | None) -> str | None:
        return None if value is None else validate_session_id(value)

    @field_serializer("timeout")
    def _serialize_timeout(self, value: float | httpx.Timeout | None) -> Any:
        return value.as_dict() if isinstance(value, httpx.Timeout) else value

    @model_validator(mode="after")
    def _build_client(self) -> Self:
        validate_project_id(self.project_id)
        reserved = _RESERVED_HEADERS & {h.lower() for h in self.default_headers or {}}
        if reserved:
            msg = (
                f"default_headers may not set {', '.join(sorted(reserved))}: "
                "use api_key= and session_id= instead"
            )
            raise ValueError(msg)
        if self.session_variables is not None and self.session_id is None:
            msg = "session_variables need a session_id (or call create_session(variables=...))"
            raise ValueError(msg)
        config = ClientConfig(
            base_url=self.base_url,
            project_id=self.project_id or "",
            api_key=self.api_key,
            timeout=http_timeout(self.timeout),
            stream_idle_timeout=self.stream_idle_timeout,
            default_headers=dict(self.default_headers or {}),
            retry=RetryPolicy(max_retries=self.max_retries, max_retry_after=self.max_retry_after),
        )
        self._client = PathorsClient(
            config, http_client=self.http_client, http_async_client=self.http_async_client
        )
        return self

    # ------------------------------------------------------------ LangChain plumbing
    @property
    def _llm_type(self) -> str:
        return "pathors-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The key is serialized as a reference to `PATHORS_API_KEY`, never as its value."""
        return {"api_key": "PATHORS_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """`dumps`/`loads` round-trip a ChatPathors (secrets and variables excluded).

        Example:
            ```python
            ChatPathors.is_lc_serializable()  # True: see get_lc_namespace for loading
            ```
        """
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Load with `loads(..., valid_namespaces=["langchain_pathors"])`.

        Example:
            ```python
            from langchain_core.load import dumps, loads

            text = dumps(llm)  # the key is a reference to PATHORS_API_KEY, not its value
            again = loads(
                text,
                valid_namespaces=["langchain_pathors"],
                allowed_objects=[ChatPathors],
                secrets_from_env=True,
            )
            ```
        """
        return ["langchain_pathors", "chat_models"]

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "base_url": self.base_url,
            "model_name": self.model_name,
            "session_id": self.session_id,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        outputs = [o for o in llm_outputs if o]
        return {
            "model_name": next((o["model_name"] for o in outputs if o.get("model_name")), None),
            "session_ids": [o.get("session_id") for o in outputs],
        }

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return redact_params(super()._get_invocation_params(stop=stop, **kwargs))

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = body_params(self._body_defaults(), kwargs)
        ls_params = LangSmithParams(
            ls_provider="pathors",
            ls_model_name=kwargs.get("model") or self.model_name or DEFAULT_MODEL_LABEL,
            ls_model_type="chat",
        )
        if isinstance(params.get("temperature"), (int, float)):
            ls_params["ls_temperature"] = params["temperature"]
        if isinstance(params.get("max_tokens"), int):
            ls_params["ls_max_tokens"] = params["max_tokens"]
        if stop or self.stop:
            ls_params["ls_stop"] = stop or self.stop
        return ls_params

    # ------------------------------------------------------------ request building
    def _body_defaults(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **self.model_kwargs,
        }

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> PreparedCall:
        return prepare_call(
            messages,
            stop=stop or self.stop,
            kwargs=kwargs,
            defaults=self._body_defaults(),
            model_session_id=self.session_id,
            model_variables=self.session_variables,
            stream=stream,
        )

    def _ensure_session(self, call: PreparedCall) -> None:
        if call.session_id is not None and call.variables is not None:
            session_id, variables = call.session_id, call.variables
            self._sessions.ensure(
                session_id, variables, lambda: self._client.create_session(session_id, variables)
            )

    async def _aensure_session(self, call: PreparedCall) -> None:
        if call.session_id is not None and call.variables is not None:
            session_id, variables = call.session_id, call.variables
            await self._sessions.aensure(
                session_id, variables, lambda: self._client.acreate_session(session_id, variables)
            )

    # ------------------------------------------------------------ generation
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        self._ensure_session(call)
        reply = self._client.chat(
            call.body, session_id=call.session_id, on_retry=retry_hook(run_manager)
        )
        return chat_result(message_from_response(reply.body, reply.session_id))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        await self._aensure_session(call)
        reply = await self._client.achat(
            call.body, session_id=call.session_id, on_retry=retry_hook(run_manager)
        )
        return chat_result(message_from_response(reply.body, reply.session_id))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        self._ensure_session(call)
        converter: ChunkConverter | None = None
        for item in self._client.stream_chat(
            call.body, session_id=call.session_id, on_retry=retry_hook(run_manager)
        ):
            converter = converter or ChunkConverter(item.session_id)
            chunk = generation_chunk(converter, item.data)
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        await self._aensure_session(call)
        converter: ChunkConverter | None = None
        async for item in self._client.astream_chat(
            call.body, session_id=call.session_id, on_retry=retry_hook(run_manager)
        ):
            converter = converter or ChunkConverter(item.session_id)
            chunk = generation_chunk(converter, item.data)
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    # ------------------------------------------------------------ sessions
    def create_session(
        self, session_id: str | None = None, variables: dict[str, Any] | None = None
    ) -> PathorsSession:
        """Create a server-side session with variables the pathway can use.

        Args:
            session_id: Your id for the conversation; a fresh unguessable one when None.
            variables: Initial session variables (e.g. `{"userName": "John"}`).

        Returns:
            The created session; pass `session.session_id` to later calls.

        Example:
            ```python
            session = llm.create_session(variables={"userName": "John"})
            llm.invoke("Hi!", session_id=session.session_id)
            ```
        """
        sid = validate_session_id(session_id) if session_id is not None else new_session_id()
        body = self._client.create_session(sid, variables)
        return self._remember_session(sid, variables, body)

    async def acreate_session(
        self, session_id: str | None = None, variables: dict[str, Any] | None = None
    ) -> PathorsSession:
        """Async twin of `create_session`.

        Example:
            ```python
            session = await llm.acreate_session("user-42", {"plan": "pro"})
            ```
        """
        sid = validate_session_id(session_id) if session_id is not None else new_session_id()
        body = await self._client.acreate_session(sid, variables)
        return self._remember_session(sid, variables, body)

    def _remember_session(
        self, session_id: str, variables: dict[str, Any] | None, body: dict[str, Any]
    ) -> PathorsSession:
        if variables is not None:
            self._sessions.ensure(session_id, variables, lambda: None)
        returned = body.get("sessionId")
        pathway = body.get("pathwayId")
        return PathorsSession(
            session_id=returned if isinstance(returned, str) and returned else session_id,
            pathway_id=pathway if isinstance(pathway, str) else None,
        )

    # ------------------------------------------------------------ tools
    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (BaseTools, functions, pydantic models or OpenAI dicts).

        Args:
            tools: The tools the pathway may call.
            tool_choice: A tool's name (force it), "auto", "none", "any"/"required"/True
                (force some tool), or an OpenAI-style dict.
            strict: Ask for strict schema adherence (sent in each tool's definition).
            parallel_tool_calls: Sent when set (the Pathors docs are silent on it).
            **kwargs: Further request-body fields.

        Example:
            ```python
            llm.bind_tools([get_weather], tool_choice="get_weather").invoke("Paris?")
            ```
        """
        from langchain_pathors._tools import format_tools, map_tool_choice

        formatted = format_tools(tools, strict=strict)
        choice = map_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredOutputMethod = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Return a runnable whose output is parsed into `schema` (via tool calling).

        Args:
            schema: A pydantic model (the output is an instance of it), a TypedDict, a
                JSON schema dict or an OpenAI tool dict (the output is a dict).
            include_raw: Return `{"raw": AIMessage, "parsed": ..., "parsing_error": ...}`
                instead of raising when the reply cannot be parsed.
            method: `"function_calling"` (default: a forced call of one tool whose
                parameters are the schema, which the Pathors API documents),
                `"json_schema"` or `"json_mode"` (OpenAI's `response_format`, which works
                only where the pathway honours it).
            strict: Ask for strict schema adherence.
            **kwargs: Not accepted (a clear error rather than a silent no-op).

        Example:
            ```python
            class Joke(BaseModel):
                setup: str
                punchline: str

            llm.with_structured_output(Joke).invoke("Tell me a joke about cats")
            ```
        """
        from langchain_pathors._structured_output import build_structured_output

        if kwargs:
            msg = f"unexpected arguments: {', '.join(kwargs)}"
            raise ValueError(msg)
        return build_structured_output(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Stop using the shared connection pool; it closes when no live model uses it.

        Injected clients are left open. The model stays usable: a later call reopens.

        Example:
            ```python
            with ChatPathors() as llm:  # closed on leaving the block
                llm.invoke("Hi")
            ```
        """
        self._client.close()

    async def aclose(self) -> None:
        """Close the running event loop's connection pool for this model's server.

        Example:
            ```python
            async with ChatPathors() as llm:  # closed on leaving the block
                await llm.ainvoke("Hi")
            ```
        """
        await self._client.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
