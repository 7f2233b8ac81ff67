"""The documented response shapes, and the SSE framing streamed chunks travel in.

Non-streaming answers are ``chat.completion`` bodies; streaming answers are
``chat.completion.chunk`` events followed by ``data: [DONE]``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ._pathways import PathwayReply, ToolCallReply

__all__ = [
    "DONE_EVENT",
    "Completion",
    "apply_stop",
    "completion_body",
    "sse_comment",
    "sse_data",
    "split_arguments",
    "split_words",
    "stream_chunks",
]

DONE_EVENT = b"data: [DONE]\n\n"
_WORD = re.compile(r"\s*\S+\s*")
_WORD_START = re.compile(r"\S+")
UNKNOWN_USAGE = {"prompt_tokens": -1, "completion_tokens": -1, "total_tokens": -1}


@dataclass(frozen=True)
class Completion:
    """The identity every body or chunk of one response shares.

    Example:
        >>> Completion("s1", "pathway-default").id.startswith("chatcmpl-")
        True

    """

    session_id: str
    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))


def tool_call_wire(call: ToolCallReply) -> dict[str, Any]:
    """One ``message.tool_calls`` entry."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def completion_body(reply: PathwayReply, completion: Completion) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` body, exactly as documented.

    Example:
        >>> body = completion_body(PathwayReply(content="Hi"), Completion("s1", "m"))
        >>> body["choices"][0]["message"], body["session_id"]
        ({'role': 'assistant', 'content': 'Hi'}, 's1')

    """
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [tool_call_wire(call) for call in reply.tool_calls]
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": dict(UNKNOWN_USAGE),
        "session_id": completion.session_id,
    }


def split_words(text: str, max_deltas: int | None = None) -> list[str]:
    """Split text into streaming deltas: each word with the whitespace that follows it.

    With ``max_deltas``, a text of more words puts several consecutive words in each
    delta (the same number in each, the last one shorter), so a long reply never
    becomes millions of events.

    Example:
        >>> split_words("Hi there, you")
        ['Hi ', 'there, ', 'you']
        >>> split_words("one two three four five", max_deltas=2)
        ['one two three ', 'four five']

    """
    # A text of n characters has at most (n + 1) // 2 words: count only when it matters.
    if max_deltas is not None and (len(text) + 1) // 2 > max_deltas:
        words = sum(1 for _ in _WORD_START.finditer(text))
        if words > max_deltas:
            per = -(-words // max_deltas)
            return re.findall(rf"(?:\s*\S+\s*){{1,{per}}}", text)
    return _WORD.findall(text) or ([text] if text else [])


def split_arguments(arguments: str, pieces: int = 3) -> list[str]:
    """Split a tool call's JSON arguments into a few non-empty fragments.

    Example:
        >>> split_arguments('{"a": 1}')
        ['{"a', '": ', '1}']

    """
    if not arguments:
        return []
    size = max(1, -(-len(arguments) // pieces))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _chunk(completion: Completion, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "session_id": completion.session_id,
    }


def stream_chunks(
    reply: PathwayReply, completion: Completion, max_deltas: int | None = None
) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of a streamed reply, in order (``[DONE]`` excluded).

    The first chunk opens the message (``role`` and empty ``content``); content deltas
    follow (``reply.chunks`` as given, else one per word, or a few words each when there
    are more than ``max_deltas`` words: see :func:`split_words`); then each tool call as
    an opening delta (``index``, ``id``, ``type``, ``name``, empty ``arguments``) and
    argument fragments; the last chunk has an empty delta and the ``finish_reason``.

    Example:
        >>> chunks = stream_chunks(PathwayReply(content="Hi you"), Completion("s1", "m"))
        >>> [c["choices"][0]["delta"] for c in chunks]
        [{'role': 'assistant', 'content': ''}, {'content': 'Hi '}, {'content': 'you'}, {}]

    """
    chunks = [_chunk(completion, {"role": "assistant", "content": ""}, None)]
    deltas = reply.chunks if reply.chunks is not None else split_words(reply.content, max_deltas)
    chunks += [_chunk(completion, {"content": piece}, None) for piece in deltas if piece]
    for index, call in enumerate(reply.tool_calls):
        opening = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(_chunk(completion, {"tool_calls": [opening]}, None))
        for piece in split_arguments(call.arguments_json()):
            fragment = {"index": index, "function": {"arguments": piece}}
            chunks.append(_chunk(completion, {"tool_calls": [fragment]}, None))
    chunks.append(_chunk(completion, {}, reply.finish_reason))
    return chunks


def apply_stop(reply: PathwayReply, stop: list[str]) -> PathwayReply:
    """Cut the reply text before the first stop sequence (forced chunks are cut too).

    Example:
        >>> apply_stop(PathwayReply(content="one. two. three"), [". t"]).content
        'one'

    """
    cuts = [reply.content.find(seq) for seq in stop if seq and seq in reply.content]
    if not cuts:
        return reply
    end = min(cuts)
    chunks = None
    if reply.chunks is not None:
        chunks, used = [], 0
        for piece in reply.chunks:
            if used >= end:
                break
            chunks.append(piece[: end - used])
            used += len(piece)
    return PathwayReply(
        content=reply.content[:end], tool_calls=reply.tool_calls, chunks=chunks, model=reply.model
    )


def sse_data(payload: dict[str, Any]) -> bytes:
    """Frame a JSON payload as one SSE event.

    Example:
        >>> sse_data({"a": 1}).decode().strip()
        'data: {"a": 1}'

    """
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def sse_comment(text: str) -> bytes:
    """An SSE comment line (ignored by clients; keeps a connection alive).

    Example:
        >>> sse_comment("keep-alive").decode().strip()
        ': keep-alive'

    """
    return f": {text}\n\n".encode()
