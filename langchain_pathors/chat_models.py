"""ChatPathors: the LangChain chat model for Pathors pathways.

This class wires the parts together and holds no logic of its own: wire format in
`_messages`, HTTP and retries in `_client`, which session a call belongs to in
`_session_resolver`, turns (order, forks, creation) in `_session_turns`, tools in `_tools`,
structured output in `_structured_output`, tracing hygiene in `_tracing`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx
from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput, ModelProfile
from langchain_core.language_models.chat_models import BaseChatModel
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

from langchain_pathors import _call
from langchain_pathors._binding import bind_hiding_variables
from langchain_pathors._client import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TOTAL_TIMEOUT,
    PathorsClient,
)
from langchain_pathors._pickling import RebuiltAcrossCopies
from langchain_pathors._profile import pathors_profile
from langchain_pathors._redaction import redacts_errors
from langchain_pathors._request import PreparedCall, body_params, client_config, prepare_call
from langchain_pathors._run_config import ConfigSessionOptions
from langchain_pathors._session_params import check_init_arguments, refuse_cache
from langchain_pathors._session_registry import SessionRegistry
from langchain_pathors._session_resolver import Endpoint, SessionRules
from langchain_pathors._session_turns import PROCESS_SESSIONS, SessionTurns
from langchain_pathors._sessions import PathorsSession, validate_project_id, validate_session_id
from langchain_pathors._settings import check_settings, validate_without_inputs, warn_if_cleartext
from langchain_pathors._tracing import ls_params, redact_params

if TYPE_CHECKING:  # imported when first used: they load langchain_core.tools and parsers
    from langchain_core.language_models.chat_models import _ChatModelBinding

    from langchain_pathors._structured_output import StructuredOutputMethod
    from langchain_pathors._tools import ToolLike

__all__ = ["ChatPathors"]

DEFAULT_BASE_URL = "https://app.pathors.com"
DEFAULT_MODEL_LABEL = "pathway-default"
DEFAULT_TIMEOUT_SECONDS = 60.0


class ChatPathors(RebuiltAcrossCopies, ConfigSessionOptions, BaseChatModel):
    """Chat model for a Pathors project's pathway, over its OpenAI-compatible API.

    Setup:
        `pip install langchain-pathors` and set `PATHORS_API_KEY` and `PATHORS_PROJECT_ID`
        (and `PATHORS_BASE_URL` for a self-hosted or emulated server).

    Example:
        ```python
        from langchain_core.messages import HumanMessage
        from langchain_pathors import ChatPathors

        llm = ChatPathors()  # reads the three environment variables
        llm.invoke("Hello!").content

        # The session follows the conversation: the reply carries it, the next turn
        # continues it (see docs/sessions.md for how a call's session is chosen).
        history = [HumanMessage("Hi")]
        reply = llm.invoke(history)
        history += [reply, HumanMessage("Tell me more")]
        for chunk in llm.stream(history):
            print(chunk.content, end="")
        ```

    One instance is safe to share between threads, tasks and users: which session a
    call uses comes from that call, the model, its history or its thread, never from
    another call. Caching is always off (`cache=False`): every call is a turn that moves
    a server-side session, so an answer from a cache would skip the turn or carry one
    conversation's session into another.
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

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
    """Variables a session is created with, once: the model's `session_id`'s, or else
    each new conversation's fresh session's."""
    session_from_history: bool = True
    """Continue the session of the input's last reply from this project (and base URL)."""
    session_from_thread: bool | Callable[[str], str] = Field(default=False, exclude=True)
    """Session from LangGraph's thread id: True (`lc-thread-<sha256>`) or a function."""
    on_session_fork: Literal["raise", "new_session", "allow"] = "raise"
    """What a turn continuing a session from a reply that is not its latest does."""
    session_concurrency: Literal["serialize", "reject", "allow"] = "serialize"
    """Turns on one session in this process: in arrival order, refused, or unordered."""
    session_registry: SessionRegistry | None = Field(default=None, repr=False, exclude=True)
    """Where turns wait and sessions are known: this process (None) or shared, e.g. Redis."""
    cache: BaseCache | bool | None = Field(default=False, exclude=True)
    """Always False: a session turn is never answered from a cache (see the class doc)."""
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
    total_timeout: float | None = Field(default=DEFAULT_TOTAL_TIMEOUT, gt=0)
    """Longest one attempt of a non-streamed call may take, from sending to the last byte
    (and a stream's wait for its response headers), in seconds; `None` for no limit."""
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, gt=0)
    """Largest answer accepted, in bytes after decompression; bounds a whole stream too."""
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, gt=0)
    """Largest single stream event (or line) accepted, in bytes."""
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
    _endpoint: Endpoint = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _no_silent_arguments(cls, values: Any) -> Any:
        return check_init_arguments(cls, values) if isinstance(values, dict) else values

    def __init__(self, **data: Any) -> None:
        # A bad key raises PathorsAuthenticationError; any other bad setting a
        # ValidationError that holds no input values (they include the key).
        validate_without_inputs(super().__init__, data)
        warn_if_cleartext(self.base_url)

    @field_validator("session_id")
    @classmethod
    def _check_session_id(cls, value: str | None) -> str | None:
        return None if value is None else validate_session_id(value)

    @field_validator("cache")
    @classmethod
    def _no_cache(cls, value: object) -> bool:
        return refuse_cache(value)

    @field_serializer("timeout")
    def _serialize_timeout(self, value: float | httpx.Timeout | None) -> Any:
        return value.as_dict() if isinstance(value, httpx.Timeout) else value

    def _build_runtime(self) -> None:  # after validation, and again for pickles and copies
        validate_project_id(self.project_id)
        check_settings(self)
        self._client = PathorsClient(
            client_config(self),
            http_client=self.http_client,
            http_async_client=self.http_async_client,
        )
        self._endpoint = Endpoint.of(self.base_url, self.project_id or "")

    @property
    def _turns(self) -> SessionTurns:
        # Built per call from the fields; the state is the process's, or session_registry's.
        return SessionTurns(
            self._endpoint,
            on_fork=self.on_session_fork,
            concurrency=self.session_concurrency,
            state=self.session_registry or PROCESS_SESSIONS,
        )

    def _resolve_model_profile(self) -> ModelProfile | None:
        return pathors_profile()

    def _reads_thread(self) -> bool:
        return self.session_from_thread is not False

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
        """`dumps`/`loads` round-trip a ChatPathors (secrets and variables excluded)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Load with `loads(text, valid_namespaces=["langchain_pathors"], ...)`.

        Pass `allowed_objects=[ChatPathors]` and `secrets_from_env=True` too: the key is
        serialized as a reference to `PATHORS_API_KEY`, never as its value.
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
        model = kwargs.get("model") or self.model_name or DEFAULT_MODEL_LABEL
        return ls_params(params, model_name=model, stop=stop or self.stop)

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
            endpoint=self._endpoint,
            rules=SessionRules(
                self.session_id,
                self.session_variables,
                self.session_from_history,
                self.session_from_thread,
            ),
            stream=stream,
        )

    # ------------------------------------------------------------ generation
    @redacts_errors
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        return _call.generate(self._client, self._turns, call, run_manager)

    @redacts_errors
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, stream=False)
        return await _call.agenerate(self._client, self._turns, call, run_manager)

    @redacts_errors
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        yield from _call.stream(self._client, self._turns, call, run_manager)

    @redacts_errors
    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, stream=True)
        async for chunk in _call.astream(self._client, self._turns, call, run_manager):
            yield chunk

    # ------------------------------------------------------------ sessions
    @redacts_errors
    def create_session(
        self, session_id: str | None = None, variables: Mapping[str, Any] | None = None
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
        return _call.create_session(self._client, self._turns, session_id, variables)

    @redacts_errors
    async def acreate_session(
        self, session_id: str | None = None, variables: Mapping[str, Any] | None = None
    ) -> PathorsSession:
        """Async twin of `create_session`.

        Example:
            ```python
            session = await llm.acreate_session("user-42", {"plan": "pro"})
            ```
        """
        return await _call.acreate_session(self._client, self._turns, session_id, variables)

    def bind(self, **kwargs: Any) -> _ChatModelBinding:
        """Fix call arguments; `session_variables` become `SessionVariables` (never shown)."""
        return bind_hiding_variables(self, kwargs)

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
        return self.bind(tools=formatted, **kwargs)

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
