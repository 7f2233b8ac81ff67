"""LangChain messages to Pathors wire dicts, and Pathors responses back to AIMessages.

Pathors speaks OpenAI's chat-completions format with text content. Assumptions where its
docs are silent: list content is flattened to its text; an error `ToolMessage` keeps
its status by prefixing its content with "Error: " (the wire has no status field); usage
figures of -1 mean "unknown" and give `usage_metadata=None`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_pathors.errors import PathorsResponseError

__all__ = [
    "PROVIDER",
    "ChunkConverter",
    "chat_result",
    "generation_chunk",
    "message_from_response",
    "messages_to_wire",
    "usage_from_wire",
    "wire_problem",
]

PROVIDER = "pathors"


# --------------------------------------------------------------------------- outgoing
# Long histories are converted on every call, so this path avoids per-message overhead:
# one dict lookup on the exact class picks the converter (subclasses fall back to the
# isinstance chain), and plain string content is used as it is.
def _text(message: BaseMessage) -> str:
    """The message's text: a string as it is, list content flattened to its text blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(message, AIMessage):
            continue  # tool_use / reasoning blocks: tool_calls carry what Pathors needs
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            msg = (
                f"Pathors accepts text only; {type(message).__name__} has a {kind!r} content block"
            )
            raise ValueError(msg)
    return "".join(parts)


def _tool_call_to_wire(call: ToolCall | InvalidToolCall, *, invalid: bool) -> dict[str, Any]:
    args = call.get("args")
    arguments = (args or "") if invalid else json.dumps(args or {}, ensure_ascii=False)
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": call.get("name"), "arguments": arguments},
    }


def _system(message: Any) -> dict[str, Any]:
    content = message.content
    return {"role": "system", "content": content if content.__class__ is str else _text(message)}


def _human(message: Any) -> dict[str, Any]:
    content = message.content
    return {"role": "user", "content": content if content.__class__ is str else _text(message)}


def _ai(message: Any) -> dict[str, Any]:
    content = message.content
    wire: dict[str, Any] = {
        "role": "assistant",
        "content": content if content.__class__ is str else _text(message),
    }
    if message.tool_calls or message.invalid_tool_calls:
        calls = [_tool_call_to_wire(c, invalid=False) for c in message.tool_calls]
        calls += [_tool_call_to_wire(c, invalid=True) for c in message.invalid_tool_calls]
        wire["tool_calls"] = calls
    return wire


def _tool(message: Any) -> dict[str, Any]:
    content = _text(message)
    if message.status == "error" and not content.lower().startswith("error"):
        content = f"Error: {content}"
    return {"role": "tool", "content": content, "tool_call_id": message.tool_call_id}


def _chat(message: Any) -> dict[str, Any]:
    return {"role": message.role, "content": _text(message)}


# Most specific first: AIMessageChunk is an AIMessage, and so on.
_CONVERTERS: tuple[tuple[type[BaseMessage], Callable[[Any], dict[str, Any]]], ...] = (
    (SystemMessage, _system),
    (HumanMessage, _human),
    (AIMessage, _ai),
    (ToolMessage, _tool),
    (ChatMessage, _chat),
)
_BY_CLASS: dict[type, Callable[[Any], dict[str, Any]]] = dict(_CONVERTERS)


def _converter_for(cls: type) -> Callable[[Any], dict[str, Any]]:
    """The converter for a class (a subclass takes its base's), remembered per class."""
    for base, convert in _CONVERTERS:
        if issubclass(cls, base):
            _BY_CLASS[cls] = convert
            return convert
    msg = f"Pathors cannot take a {cls.__name__}; use System, Human, AI, Tool or Chat messages"
    raise TypeError(msg)


def message_to_wire(message: BaseMessage) -> dict[str, Any]:
    """Convert one LangChain message to a Pathors wire dict."""
    cls = message.__class__
    convert = _BY_CLASS.get(cls) or _converter_for(cls)
    wire = convert(message)
    if message.name:
        wire["name"] = message.name
    return wire


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a conversation to the `messages` array of a request body."""
    by_class = _BY_CLASS
    out: list[dict[str, Any]] = []
    append = out.append
    for message in messages:
        cls = message.__class__
        wire = (by_class.get(cls) or _converter_for(cls))(message)
        if message.name:
            wire["name"] = message.name
        append(wire)
    return out


# --------------------------------------------------------------------------- incoming
def usage_from_wire(usage: object) -> UsageMetadata | None:
    """Real token counts as `UsageMetadata`; None when absent or unknown (Pathors sends -1)."""
    if not isinstance(usage, dict):
        return None
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return None
    prompt, completion, total = counts
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=total)  # type: ignore[typeddict-item]


def _metadata(body: dict[str, Any], session_id: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "model_provider": PROVIDER,
        "model_name": body.get("model"),
        "id": body.get("id"),
        "session_id": session_id or body.get("session_id"),
    }
    if "created" in body:
        metadata["created"] = body["created"]
    return metadata


def _first_choice(body: dict[str, Any], key: str) -> dict[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        msg = "Pathors answered without choices"
        raise PathorsResponseError(msg, session_id=body.get("session_id"))
    choice = choices[0]
    if not isinstance(choice.get(key, {}), dict):
        msg = f"Pathors answered with a malformed choices[0].{key}"
        raise PathorsResponseError(msg, session_id=body.get("session_id"))
    return choice


_STRING_FIELDS = ("id", "object", "model", "session_id")


def _not_text(container: dict[str, Any], key: str) -> bool:
    value = container.get(key)
    return value is not None and not isinstance(value, str)


def wire_problem(body: dict[str, Any], *, stream: bool) -> str | None:
    """What makes a chat.completion (or chunk) body unusable, or None when it is fine.

    Only the types that the conversion to LangChain messages relies on are checked
    (documented strings are strings, objects are objects); anything else is left alone.
    A body that fails here would otherwise end in pydantic's ValidationError or an
    AttributeError instead of a PathorsError.
    """
    for key in _STRING_FIELDS:  # inlined `_not_text`: this runs for every streamed chunk
        value = body.get(key)
        if value is not None and value.__class__ is not str and not isinstance(value, str):
            return f"{key!r} is not a string"
    choices = body.get("choices")
    if not stream:
        # Missing or malformed choices are reported by the message conversion itself.
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if isinstance(message, dict) and _not_text(message, "content"):
            return "'choices[0].message.content' is not a string"
        return None
    if choices is None:
        return None
    if not isinstance(choices, list):
        return "'choices' is not a list"
    for number, choice in enumerate(choices):
        if not isinstance(choice, dict):
            return f"'choices[{number}]' is not an object"
        if _not_text(choice, "finish_reason"):
            return f"'choices[{number}].finish_reason' is not a string"
        delta = choice.get("delta")
        if delta is None:
            continue
        if not isinstance(delta, dict):
            return f"'choices[{number}].delta' is not an object"
        if _not_text(delta, "content"):
            return f"'choices[{number}].delta.content' is not a string"
        if delta.get("tool_calls") is not None and not isinstance(delta["tool_calls"], list):
            return f"'choices[{number}].delta.tool_calls' is not a list"
    return None


def _as_text(value: object) -> str | None:
    """A wire value as the string an (invalid) tool call holds; None stays None."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _parse_tool_call(raw: object) -> ToolCall | InvalidToolCall:
    """One `tool_calls` entry as a ToolCall, or an InvalidToolCall saying what is wrong.

    Never raises: whatever the server sent is kept, so an agent can report it.
    """
    if not isinstance(raw, dict):
        return invalid_tool_call(args=_as_text(raw), error="tool call is not a JSON object")
    raw_id = raw.get("id")
    call_id = None if raw_id is None else str(raw_id)
    function = raw.get("function")
    if not isinstance(function, dict):
        return invalid_tool_call(
            id=call_id, args=_as_text(function), error="tool call has no function object"
        )
    name = function.get("name")
    arguments = function.get("arguments")
    if not isinstance(name, str) or not name:
        return invalid_tool_call(
            name=_as_text(name),
            args=_as_text(arguments),
            id=call_id,
            error="tool call has no function name",
        )
    if isinstance(arguments, dict):
        return tool_call(name=name, args=arguments, id=call_id)  # already parsed
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return tool_call(name=name, args={}, id=call_id)  # a tool without parameters
    if not isinstance(arguments, str):
        return invalid_tool_call(
            name=name, args=_as_text(arguments), id=call_id, error="arguments are not a string"
        )
    try:
        args = json.loads(arguments, strict=False)  # raw newlines in strings, as LLMs write
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        return invalid_tool_call(
            name=name, args=arguments, id=call_id, error=f"arguments are not valid JSON: {exc}"
        )
    if not isinstance(args, dict):
        return invalid_tool_call(
            name=name, args=arguments, id=call_id, error="arguments are not a JSON object"
        )
    return tool_call(name=name, args=args, id=call_id)


def message_from_response(body: dict[str, Any], header_session_id: str | None) -> AIMessage:
    """Build the AIMessage of a chat.completion body (the first choice).

    Malformed tool calls (bad JSON, arguments that are not an object, missing parts)
    become `invalid_tool_calls`; they never raise and are never dropped.
    """
    choice = _first_choice(body, "message")
    message = choice.get("message") or {}
    tool_calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    raw_calls = message.get("tool_calls") or []
    for raw in raw_calls if isinstance(raw_calls, list) else [raw_calls]:
        parsed = _parse_tool_call(raw)
        if parsed["type"] == "tool_call":
            tool_calls.append(parsed)
        else:
            invalid.append(parsed)
    metadata = _metadata(body, header_session_id)
    metadata["finish_reason"] = choice.get("finish_reason")
    if "usage" in body:
        metadata["token_usage"] = body["usage"]
    return AIMessage(
        content=message.get("content") or "",
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_from_wire(body.get("usage")),
        response_metadata=metadata,
        id=body.get("id"),
    )


class ChunkConverter:
    """Converts the chunks of one stream to AIMessageChunks that merge correctly.

    Tool-call deltas are keyed by `index`. When a server omits it, the index is inferred:
    a new id or name opens a new slot, a bare argument fragment continues the last one.
    Ids are never invented (an invented id stops chunks from merging). Metadata that
    LangChain would concatenate on merge (session id, model name, finish reason) is put on
    one chunk only: the first one that has it.
    """

    def __init__(
        self,
        header_session_id: str | None,
        stamp: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._header_session_id = header_session_id
        self._stamp = stamp  # marks the first chunk as this turn's reply (session, project)
        self._first = True
        self._index_of_id: dict[str, int] = {}
        self._last_index: int | None = None
        self._next_index = 0
        self._finish_sent = False
        self._names: dict[int, str] = {}
        self._missing: set[str] = set()

    def _index_for(self, delta: dict[str, Any]) -> int:
        index = delta.get("index")
        call_id = delta.get("id")
        function = delta.get("function")
        if isinstance(index, int) and not isinstance(index, bool):
            chosen = index
        elif isinstance(call_id, str) and call_id in self._index_of_id:
            chosen = self._index_of_id[call_id]
        elif call_id or (function if isinstance(function, dict) else {}).get("name"):
            chosen = self._next_index
        else:
            chosen = self._last_index if self._last_index is not None else 0
        if isinstance(call_id, str):
            self._index_of_id.setdefault(call_id, chosen)
        self._last_index = chosen
        self._next_index = max(self._next_index, chosen + 1)
        return chosen

    def _tool_call_chunk(self, delta: dict[str, Any]) -> ToolCallChunk:
        index = self._index_for(delta)
        function = delta.get("function")
        if not isinstance(function, dict):
            function = {}
        name = _as_text(function.get("name"))
        if name:
            # A server that repeats the name on every fragment would otherwise merge to
            # "get_weatherget_weather": send each slot's name once (pieces still add up).
            sent = self._names.get(index, "")
            if sent == name:
                name = None
            else:
                self._names[index] = sent + name
        call_id = delta.get("id")
        return ToolCallChunk(
            name=name,
            args=_as_text(function.get("arguments")),
            id=None if call_id is None else str(call_id),
            index=index,
            type="tool_call_chunk",
        )

    def convert(self, chunk: dict[str, Any]) -> AIMessageChunk:
        """One wire chunk to an AIMessageChunk."""
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else {}
        if not isinstance(choice, dict):
            choice = {}
        delta = choice.get("delta") or {}
        metadata: dict[str, Any] = {"model_provider": PROVIDER}
        if self._first:
            metadata.update(_metadata(chunk, self._header_session_id))
            if self._stamp is not None:
                self._stamp(metadata)
            self._missing = {key for key, value in metadata.items() if value is None}
            self._first = False
        elif self._missing:
            # A value the first chunk lacked (say, no X-Session-ID header and no session_id
            # in that chunk's body) goes on the first later chunk that has it.
            for key, value in _metadata(chunk, self._header_session_id).items():
                if key in self._missing and value is not None:
                    metadata[key] = value
                    self._missing.discard(key)
        finish_reason = choice.get("finish_reason")
        if finish_reason and not self._finish_sent:
            # Once only: a server that repeats it would otherwise merge to "stopstop".
            metadata["finish_reason"] = finish_reason
            self._finish_sent = True
        usage = chunk.get("usage")
        if usage is not None:
            metadata["token_usage"] = usage
        content = delta.get("content") or ""
        if not isinstance(content, str):
            content = str(content)
        # Fields at their defaults are left out: pydantic then skips their validation
        # (this runs once per streamed chunk). The message is the same either way.
        fields: dict[str, Any] = {}
        raw_calls = delta.get("tool_calls")
        if raw_calls:
            fields["tool_call_chunks"] = [
                self._tool_call_chunk(d) for d in raw_calls if isinstance(d, dict)
            ]
        if usage is not None:
            fields["usage_metadata"] = usage_from_wire(usage)
        if finish_reason:
            fields["chunk_position"] = "last"
        return AIMessageChunk(
            content=content, response_metadata=metadata, id=chunk.get("id"), **fields
        )


def chat_result(message: AIMessage) -> ChatResult:
    """Wrap a response message as the ChatResult LangChain expects from `_generate`."""
    metadata = message.response_metadata
    return ChatResult(
        generations=[
            ChatGeneration(
                message=message, generation_info={"finish_reason": metadata.get("finish_reason")}
            )
        ],
        llm_output={
            "model_name": metadata.get("model_name"),
            "session_id": metadata.get("session_id"),
        },
    )


def generation_chunk(converter: ChunkConverter, data: dict[str, Any]) -> ChatGenerationChunk:
    """One wire chunk as the ChatGenerationChunk LangChain expects from `_stream`."""
    message = converter.convert(data)
    finish = message.response_metadata.get("finish_reason")
    return ChatGenerationChunk(
        message=message, generation_info={"finish_reason": finish} if finish else None
    )
