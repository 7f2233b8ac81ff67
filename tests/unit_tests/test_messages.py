"""LangChain messages to the Pathors wire format and back, streamed chunks included."""

from __future__ import annotations

import json
import re
from functools import reduce
from operator import add
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_pathors import PathorsResponseError
from langchain_pathors._messages import (
    ChunkConverter,
    message_from_response,
    message_to_wire,
    messages_to_wire,
)

UNKNOWN_USAGE = {"prompt_tokens": -1, "completion_tokens": -1, "total_tokens": -1}
WEATHER_CALL = {
    "id": "call_123",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"location": "San Francisco"}'},
}


# --------------------------------------------------------------------------- outgoing
@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (SystemMessage("Be brief."), {"role": "system", "content": "Be brief."}),
        (HumanMessage("Hello!"), {"role": "user", "content": "Hello!"}),
        (AIMessage("Hi there"), {"role": "assistant", "content": "Hi there"}),
        (ChatMessage(role="developer", content="x"), {"role": "developer", "content": "x"}),
        (
            HumanMessage("Hi", name="alice"),
            {"role": "user", "content": "Hi", "name": "alice"},
        ),
        (
            AIMessage("Hi", name="pathway"),
            {"role": "assistant", "content": "Hi", "name": "pathway"},
        ),
    ],
    ids=["system", "human", "ai", "chat", "human-name", "ai-name"],
)
def test_message_to_wire(message: BaseMessage, wire: dict[str, Any]) -> None:
    assert message_to_wire(message) == wire


def test_ai_message_with_content_and_tool_calls() -> None:
    message = AIMessage(
        content="Let me check.",
        tool_calls=[
            {"name": "get_weather", "args": {"location": "Zürich"}, "id": "call_1"},
            {"name": "get_time", "args": {}, "id": "call_2"},
        ],
        invalid_tool_calls=[
            {"name": "broken", "args": '{"x": ', "id": "call_3", "error": "bad JSON"}
        ],
    )
    wire = message_to_wire(message)
    assert wire["role"] == "assistant"
    assert wire["content"] == "Let me check."
    calls = wire["tool_calls"]
    assert [c["id"] for c in calls] == ["call_1", "call_2", "call_3"]
    assert all(c["type"] == "function" for c in calls)
    assert all(isinstance(c["function"]["arguments"], str) for c in calls)
    assert json.loads(calls[0]["function"]["arguments"]) == {"location": "Zürich"}
    assert json.loads(calls[1]["function"]["arguments"]) == {}
    # An invalid call is passed through as the model wrote it.
    assert calls[2]["function"] == {"name": "broken", "arguments": '{"x": '}


def test_ai_message_without_tool_calls_has_no_tool_calls_key() -> None:
    assert "tool_calls" not in message_to_wire(AIMessage("plain"))


def test_tool_message() -> None:
    message = ToolMessage("72°F, sunny", tool_call_id="call_123", name="get_weather")
    assert message_to_wire(message) == {
        "role": "tool",
        "content": "72°F, sunny",
        "tool_call_id": "call_123",
        "name": "get_weather",
    }


@pytest.mark.parametrize(
    ("content", "sent"),
    [
        ("city not found", "Error: city not found"),
        ("Error: city not found", "Error: city not found"),  # not prefixed twice
    ],
)
def test_error_tool_message_keeps_its_status(content: str, sent: str) -> None:
    message = ToolMessage(content, tool_call_id="call_1", status="error")
    assert message_to_wire(message)["content"] == sent


def test_successful_tool_message_is_not_prefixed() -> None:
    message = ToolMessage("city not found", tool_call_id="call_1", status="success")
    assert message_to_wire(message)["content"] == "city not found"


def test_list_content_of_text_blocks_is_flattened() -> None:
    message = HumanMessage(
        content=[{"type": "text", "text": "Hello, "}, "big ", {"type": "text", "text": "world"}]
    )
    assert message_to_wire(message)["content"] == "Hello, big world"


@pytest.mark.parametrize(
    ("block", "kind"),
    [
        ({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}, "image_url"),
        ({"type": "image", "url": "https://example.com/cat.png"}, "image"),
        ({"type": "file", "file_id": "f-1"}, "file"),
    ],
)
def test_non_text_block_in_human_message_raises_naming_the_block(
    block: dict[str, Any], kind: str
) -> None:
    message = HumanMessage(content=[{"type": "text", "text": "What is this?"}, block])
    with pytest.raises(ValueError, match=f"HumanMessage has a '{kind}' content block"):
        message_to_wire(message)


def test_non_text_blocks_in_ai_message_are_skipped() -> None:
    message = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "secret thoughts"},
            {"type": "text", "text": "Sunny."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}},
        ]
    )
    assert message_to_wire(message)["content"] == "Sunny."


@pytest.mark.parametrize(
    "message",
    [FunctionMessage(content="x", name="f"), RemoveMessage(id="m-1")],
    ids=["FunctionMessage", "RemoveMessage"],
)
def test_unknown_message_type_raises_type_error(message: BaseMessage) -> None:
    with pytest.raises(TypeError, match=f"cannot take a {type(message).__name__}") as info:
        message_to_wire(message)
    assert "System, Human, AI, Tool or Chat" in str(info.value)


def test_messages_to_wire_keeps_order() -> None:
    wire = messages_to_wire([SystemMessage("s"), HumanMessage("h"), AIMessage("a")])
    assert [m["role"] for m in wire] == ["system", "user", "assistant"]


# --------------------------------------------------------------------------- responses
def completion(
    content: str | None = "Hi! How can I help you today?",
    *,
    tool_calls: list[Any] | None = None,
    finish_reason: str = "stop",
    **extra: Any,
) -> dict[str, Any]:
    """A chat.completion body in the documented shape; `extra` overrides top-level keys."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1677858242,
        "model": "pathway-default",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": UNKNOWN_USAGE,
        "session_id": "session-body",
    }
    body.update(extra)
    return body


def test_response_content_and_metadata() -> None:
    message = message_from_response(completion(), "session-header")
    assert message.content == "Hi! How can I help you today?"
    assert message.id == "chatcmpl-abc123"
    assert message.tool_calls == []
    metadata = message.response_metadata
    assert metadata["session_id"] == "session-header"  # the header wins over the body
    assert metadata["finish_reason"] == "stop"
    assert metadata["model_name"] == "pathway-default"
    assert metadata["id"] == "chatcmpl-abc123"
    assert metadata["model_provider"] == "pathors"


def test_response_session_id_from_body_when_no_header() -> None:
    message = message_from_response(completion(), None)
    assert message.response_metadata["session_id"] == "session-body"


def test_response_null_content_is_empty_string() -> None:
    assert message_from_response(completion(None), None).content == ""


def test_response_tool_calls_parsed() -> None:
    body = completion("", tool_calls=[WEATHER_CALL], finish_reason="tool_calls")
    message = message_from_response(body, None)
    assert message.tool_calls == [
        {
            "name": "get_weather",
            "args": {"location": "San Francisco"},
            "id": "call_123",
            "type": "tool_call",
        }
    ]
    assert message.invalid_tool_calls == []
    assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("arguments", "args"),
    [
        ("", {}),
        (None, {}),
        ('{"text": "two\nlines"}', {"text": "two\nlines"}),  # a raw newline, as LLMs write
        ({"already": "parsed"}, {"already": "parsed"}),
    ],
    ids=["empty", "null", "raw-newline", "object"],
)
def test_response_tool_call_argument_forms(arguments: Any, args: dict[str, Any]) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = message_from_response(completion("", tool_calls=[call]), None)
    assert message.tool_calls == [{"name": "f", "args": args, "id": "call_1", "type": "tool_call"}]


MALFORMED_CALLS = {
    "invalid-json": {"id": "c1", "function": {"name": "f", "arguments": '{"location": '}},
    "json-array": {"id": "c1", "function": {"name": "f", "arguments": "[1, 2]"}},
    "json-string": {"id": "c1", "function": {"name": "f", "arguments": '"SF"'}},
    "number-arguments": {"id": "c1", "function": {"name": "f", "arguments": 42}},
    "no-name": {"id": "c1", "function": {"arguments": "{}"}},
    "function-not-object": {"id": "c1", "type": "function", "function": "f"},
    "no-function": {"id": "c1", "type": "function"},
    "not-an-object": "get_weather(SF)",
}


@pytest.mark.parametrize("raw", MALFORMED_CALLS.values(), ids=MALFORMED_CALLS.keys())
def test_malformed_tool_call_becomes_invalid_tool_call(raw: Any) -> None:
    body = completion("", tool_calls=[raw, WEATHER_CALL], finish_reason="tool_calls")
    message = message_from_response(body, None)  # never raises
    assert [c["id"] for c in message.tool_calls] == ["call_123"]  # the good one is kept
    assert len(message.invalid_tool_calls) == 1
    invalid = message.invalid_tool_calls[0]
    assert invalid["error"]
    if isinstance(raw, dict):
        assert invalid["id"] == "c1"


def test_invalid_json_arguments_keep_the_raw_text() -> None:
    raw = {"id": "c1", "function": {"name": "get_weather", "arguments": '{"location": '}}
    invalid = message_from_response(completion("", tool_calls=[raw]), None).invalid_tool_calls
    assert invalid[0]["name"] == "get_weather"
    assert invalid[0]["args"] == '{"location": '
    assert "JSON" in (invalid[0]["error"] or "")


def test_numeric_tool_call_id_becomes_a_string() -> None:
    raw = {"id": 7, "function": {"name": "f", "arguments": "{}"}}
    message = message_from_response(completion("", tool_calls=[raw]), None)
    assert message.tool_calls[0]["id"] == "7"


@pytest.mark.parametrize(
    "usage",
    [
        UNKNOWN_USAGE,
        {"prompt_tokens": 3, "completion_tokens": -1, "total_tokens": -1},
        {"prompt_tokens": 3},
        {"prompt_tokens": "3", "completion_tokens": "4", "total_tokens": "7"},
        {"prompt_tokens": True, "completion_tokens": 1, "total_tokens": 2},
        None,
    ],
    ids=["all-minus-one", "some-minus-one", "partial", "strings", "bool", "null"],
)
def test_unknown_usage_gives_no_usage_metadata_but_keeps_raw(usage: Any) -> None:
    message = message_from_response(completion(usage=usage), None)
    assert message.usage_metadata is None
    assert message.response_metadata["token_usage"] == usage


def test_missing_usage() -> None:
    body = completion()
    del body["usage"]
    message = message_from_response(body, None)
    assert message.usage_metadata is None
    assert "token_usage" not in message.response_metadata


def test_real_usage_mapped() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    message = message_from_response(completion(usage=usage), None)
    assert message.usage_metadata == {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}


@pytest.mark.parametrize(
    "choices",
    [None, [], "nope", [None], ["text"], [{"message": "not a dict"}], [{"message": None}]],
    ids=["missing", "empty", "string", "null-choice", "str-choice", "str-message", "null-msg"],
)
def test_missing_or_malformed_choices_raise(choices: Any) -> None:
    body = completion()
    if choices is None:
        del body["choices"]
    else:
        body["choices"] = choices
    with pytest.raises(PathorsResponseError, match="choices") as info:
        message_from_response(body, None)
    assert info.value.session_id == "session-body"


# --------------------------------------------------------------------------- streaming
def chunk(
    delta: dict[str, Any],
    finish_reason: str | None = None,
    *,
    usage: dict[str, Any] | None = None,
    session_id: str | None = "session-body",
) -> dict[str, Any]:
    """A chat.completion.chunk body; like the server's, every chunk repeats the metadata."""
    body: dict[str, Any] = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1677858242,
        "model": "pathway-default",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if session_id is not None:
        body["session_id"] = session_id
    if usage is not None:
        body["usage"] = usage
    return body


def tool_delta(**fields: Any) -> dict[str, Any]:
    """A delta with one tool-call fragment: id/index/type at the top, name/arguments inside."""
    function = {k: fields.pop(k) for k in ("name", "arguments") if k in fields}
    return {"tool_calls": [{**fields, "function": function}]}


def convert_all(
    chunks: list[dict[str, Any]], header_session_id: str | None = "session-header"
) -> list[AIMessageChunk]:
    converter = ChunkConverter(header_session_id)
    return [converter.convert(c) for c in chunks]


def merged(
    chunks: list[dict[str, Any]], header_session_id: str | None = "session-header"
) -> AIMessageChunk:
    """What a caller gets by summing the streamed chunks with +."""
    return reduce(add, convert_all(chunks, header_session_id))


TEXT_STREAM = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo, "}),
    chunk({"content": "world"}),
    chunk({}, "stop"),
]


def test_content_chunks_merge_with_metadata_once() -> None:
    total = merged(TEXT_STREAM)
    assert total.content == "Hello, world"
    assert total.id == "chatcmpl-abc123"
    metadata = total.response_metadata
    assert metadata["session_id"] == "session-header"
    assert metadata["model_name"] == "pathway-default"
    assert metadata["finish_reason"] == "stop"
    assert metadata["model_provider"] == "pathors"
    assert metadata["id"] == "chatcmpl-abc123"


def test_first_chunk_carries_the_session_id() -> None:
    first = convert_all(TEXT_STREAM)[0]
    assert first.response_metadata["session_id"] == "session-header"
    assert convert_all(TEXT_STREAM, None)[0].response_metadata["session_id"] == "session-body"


def test_session_id_surfaces_when_only_a_later_chunk_has_it() -> None:
    chunks = [
        chunk({"role": "assistant"}, session_id=None),
        chunk({"content": "Hi"}, session_id="session-late"),
        chunk({}, "stop", session_id="session-late"),
    ]
    assert merged(chunks, None).response_metadata["session_id"] == "session-late"


def test_repeated_finish_reason_is_not_concatenated() -> None:
    chunks = [chunk({"content": "Hi"}), chunk({}, "stop"), chunk({}, "stop", usage=UNKNOWN_USAGE)]
    total = merged(chunks)
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.chunk_position == "last"


def test_minus_one_usage_in_chunks_never_gives_negative_usage() -> None:
    chunks = [
        chunk({"content": "a"}, usage=UNKNOWN_USAGE),
        chunk({"content": "b"}, usage=UNKNOWN_USAGE),
        chunk({}, "stop", usage=UNKNOWN_USAGE),
    ]
    total = merged(chunks)
    assert total.usage_metadata is None  # ChatOpenAI would say -3 here
    assert total.response_metadata["token_usage"] == UNKNOWN_USAGE


def test_real_usage_in_last_chunk() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    total = merged([chunk({"content": "ok"}), chunk({}, "stop", usage=usage)])
    assert total.usage_metadata == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}


WEATHER_TOOL_CALL = {
    "name": "get_weather",
    "args": {"location": "San Francisco"},
    "id": "call_123",
    "type": "tool_call",
}


@pytest.mark.parametrize("with_index", [True, False], ids=["index-0", "no-index"])
def test_streamed_tool_call_merges_into_one(with_index: bool) -> None:
    index = {"index": 0} if with_index else {}
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk(tool_delta(**index, id="call_123", type="function", name="get_weather")),
        chunk(tool_delta(**index, arguments='{"loca')),
        chunk(tool_delta(**index, arguments='tion": "San ')),
        chunk(tool_delta(**index, arguments='Francisco"}')),
        chunk({}, "tool_calls"),
    ]
    total = merged(chunks)
    assert total.tool_calls == [WEATHER_TOOL_CALL]
    assert total.invalid_tool_calls == []
    assert total.response_metadata["finish_reason"] == "tool_calls"


def test_two_parallel_calls_without_index_merge_to_two() -> None:
    chunks = [
        chunk(tool_delta(id="call_1", name="get_weather", arguments="")),
        chunk(tool_delta(arguments='{"location": ')),
        chunk(tool_delta(arguments='"Paris"}')),
        chunk(tool_delta(id="call_2", name="get_time", arguments='{"tz"')),
        chunk(tool_delta(arguments=': "CET"}')),
        chunk({}, "tool_calls"),
    ]
    assert merged(chunks).tool_calls == [
        {"name": "get_weather", "args": {"location": "Paris"}, "id": "call_1", "type": "tool_call"},
        {"name": "get_time", "args": {"tz": "CET"}, "id": "call_2", "type": "tool_call"},
    ]


def test_interleaved_calls_without_index_follow_their_ids() -> None:
    chunks = [
        chunk(tool_delta(id="a", name="f", arguments='{"x": ')),
        chunk(tool_delta(id="b", name="g", arguments='{"y": ')),
        chunk(tool_delta(id="a", arguments="1}")),
        chunk(tool_delta(id="b", arguments="2}")),
        chunk({}, "tool_calls"),
    ]
    assert [(c["id"], c["name"], c["args"]) for c in merged(chunks).tool_calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {"y": 2}),
    ]


def test_parallel_calls_with_index_in_one_chunk() -> None:
    both = {
        "tool_calls": [
            {"index": 0, "id": "c0", "function": {"name": "f", "arguments": '{"a": 1}'}},
            {"index": 1, "id": "c1", "function": {"name": "g", "arguments": '{"b": 2}'}},
        ]
    }
    total = merged([chunk(both), chunk({}, "tool_calls")])
    assert [(c["id"], c["args"]) for c in total.tool_calls] == [("c0", {"a": 1}), ("c1", {"b": 2})]


def test_ids_are_never_invented() -> None:
    chunks = [
        chunk(tool_delta(name="get_weather", arguments='{"location": ')),
        chunk(tool_delta(arguments='"SF"}')),
        chunk({}, "tool_calls"),
    ]
    converted = convert_all(chunks)
    assert [tc["id"] for c in converted for tc in c.tool_call_chunks] == [None, None]
    total = reduce(add, converted)
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"location": "SF"}, "id": None, "type": "tool_call"}
    ]


def test_name_repeated_on_every_fragment_is_not_concatenated() -> None:
    chunks = [
        chunk(tool_delta(index=0, id="call_1", name="get_weather", arguments="")),
        chunk(tool_delta(index=0, id="call_1", name="get_weather", arguments='{"location": ')),
        chunk(tool_delta(index=0, id="call_1", name="get_weather", arguments='"SF"}')),
        chunk({}, "tool_calls"),
    ]
    assert merged(chunks).tool_calls == [
        {"name": "get_weather", "args": {"location": "SF"}, "id": "call_1", "type": "tool_call"}
    ]


def test_name_streamed_in_pieces_still_adds_up() -> None:
    chunks = [
        chunk(tool_delta(index=0, id="call_1", name="get_", arguments="")),
        chunk(tool_delta(index=0, name="weather", arguments="{}")),
        chunk({}, "tool_calls"),
    ]
    assert merged(chunks).tool_calls[0]["name"] == "get_weather"


@pytest.mark.parametrize(
    "fragment",
    [
        {"index": 0, "id": "c", "function": "get_weather"},
        {"index": 0, "id": "c", "function": {"name": "f", "arguments": {"a": 1}}},
        {"index": 0, "id": 7, "function": {"name": "f", "arguments": "{}"}},
    ],
    ids=["function-not-object", "arguments-object", "numeric-id"],
)
def test_odd_tool_call_deltas_do_not_break_the_stream(fragment: dict[str, Any]) -> None:
    converted = ChunkConverter(None).convert(chunk({"tool_calls": [fragment]}))
    (tool_chunk,) = converted.tool_call_chunks
    assert tool_chunk["id"] == str(fragment["id"])
    assert tool_chunk["args"] is None or isinstance(tool_chunk["args"], str)


def test_chunk_without_choices_is_an_empty_chunk() -> None:
    converted = ChunkConverter(None).convert({"id": "x", "choices": [], "usage": UNKNOWN_USAGE})
    assert converted.content == ""
    assert converted.tool_call_chunks == []
    assert converted.usage_metadata is None


# --------------------------------------------------------------------------- byte-identical
# The conversion as it was before it was made faster (commit b90f433), kept verbatim as
# the reference: the fast path must give the very same bytes for every kind of message.
def _reference_text(message: BaseMessage) -> str:
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
            continue
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            msg = (
                f"Pathors accepts text only; {type(message).__name__} has a {kind!r} content block"
            )
            raise ValueError(msg)
    return "".join(parts)


def _reference_call(call: Any, *, invalid: bool) -> dict[str, Any]:
    args = call.get("args")
    arguments = (args or "") if invalid else json.dumps(args or {}, ensure_ascii=False)
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": call.get("name"), "arguments": arguments},
    }


def _reference_to_wire(message: BaseMessage) -> dict[str, Any]:
    wire: dict[str, Any]
    if isinstance(message, SystemMessage):
        wire = {"role": "system", "content": _reference_text(message)}
    elif isinstance(message, HumanMessage):
        wire = {"role": "user", "content": _reference_text(message)}
    elif isinstance(message, AIMessage):
        wire = {"role": "assistant", "content": _reference_text(message)}
        calls = [_reference_call(c, invalid=False) for c in message.tool_calls]
        calls += [_reference_call(c, invalid=True) for c in message.invalid_tool_calls]
        if calls:
            wire["tool_calls"] = calls
    elif isinstance(message, ToolMessage):
        content = _reference_text(message)
        if message.status == "error" and not content.lower().startswith("error"):
            content = f"Error: {content}"
        wire = {"role": "tool", "content": content, "tool_call_id": message.tool_call_id}
    elif isinstance(message, ChatMessage):
        wire = {"role": message.role, "content": _reference_text(message)}
    else:
        msg = (
            f"Pathors cannot take a {type(message).__name__}; use System, Human, AI, "
            "Tool or Chat messages"
        )
        raise TypeError(msg)
    if message.name:
        wire["name"] = message.name
    return wire


class MyHuman(HumanMessage):
    """A user's own message subclass: converted as its base class."""


class CustomStr(str):
    """String content of a str subclass."""


def _corpus() -> list[BaseMessage]:
    return [
        SystemMessage("Be brief."),
        SystemMessage([{"type": "text", "text": "a"}, "b"]),
        HumanMessage('Hello, Zürich ✓ \n\t"quoted" \\ \u2028'),
        HumanMessage("Hi", name="alice"),
        HumanMessage([{"type": "text", "text": "x"}, {"type": "text"}, "y"]),
        HumanMessage(CustomStr("str subclass")),
        MyHuman(content="a subclass", name="bob"),
        AIMessage(""),
        AIMessage("Hi there", name="pathway"),
        AIMessage(
            [{"type": "text", "text": "Let me check."}, {"type": "tool_use", "id": "t"}],
            tool_calls=[
                {"name": "get_weather", "args": {"location": "Zürich"}, "id": "call_1"},
                {"name": "get_time", "args": {}, "id": "call_2"},
            ],
            invalid_tool_calls=[
                {"name": "broken", "args": '{"x": ', "id": "call_3", "error": "bad JSON"},
                {"name": None, "args": None, "id": None, "error": None},
            ],
        ),
        AIMessageChunk(content="chunk", tool_call_chunks=[]),
        ToolMessage("72F", tool_call_id="call_1"),
        ToolMessage("boom", tool_call_id="call_2", status="error"),
        ToolMessage("Error: already said", tool_call_id="call_3", status="error"),
        ToolMessage([{"type": "text", "text": "list"}], tool_call_id="c", name="tool"),
        ChatMessage(role="developer", content="x"),
        ChatMessage(role="user", content="named", name="carol"),
    ]


def test_fast_conversion_gives_the_same_bytes_as_the_reference() -> None:
    messages = _corpus() * 3
    fast = messages_to_wire(messages)
    reference = [_reference_to_wire(m) for m in messages]
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)
    assert [message_to_wire(m) for m in messages] == reference
    # Dict key order is part of the bytes on the wire.
    assert [list(w) for w in fast] == [list(w) for w in reference]


@pytest.mark.parametrize(
    "message",
    [
        FunctionMessage(name="f", content="x"),
        RemoveMessage(id="m1"),
        HumanMessage([{"type": "image_url", "image_url": {"url": "http://x"}}]),
    ],
    ids=["function", "remove", "image-block"],
)
def test_fast_conversion_refuses_what_the_reference_refuses(message: BaseMessage) -> None:
    with pytest.raises((TypeError, ValueError)) as reference:
        _reference_to_wire(message)
    with pytest.raises(reference.type, match=re.escape(str(reference.value))):
        messages_to_wire([HumanMessage("ok"), message])
