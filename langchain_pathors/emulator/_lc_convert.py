"""Turn Pathors wire messages (OpenAI-style dicts) into LangChain messages.

Used by :class:`~langchain_pathors.emulator.ChatModelPathway`, which lets any LangChain
chat model play the pathway behind the emulator.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call

__all__ = ["wire_to_langchain"]


def wire_to_langchain(messages: list[dict[str, Any]]) -> list[BaseMessage]:
    """Convert validated wire messages to LangChain messages.

    ``developer`` counts as ``system``; assistant ``tool_calls`` carry their arguments as
    JSON strings on the wire and as dicts in LangChain (unparsable ones become
    ``invalid_tool_calls``); a tool message keeps ``tool_call_id``, ``name`` and an
    ``"error"`` status when the client sent one.

    Example:
        >>> wire_to_langchain([{"role": "user", "content": "Hi"}])[0].content
        'Hi'

    """
    return [_convert(msg) for msg in messages]


def _convert(msg: dict[str, Any]) -> BaseMessage:
    role = msg["role"]
    content = msg.get("content")
    if content is None:
        content = ""
    if role in ("system", "developer"):
        return SystemMessage(content=content)
    if role == "user":
        return HumanMessage(content=content)
    if role == "tool":
        status = "error" if msg.get("status") == "error" or msg.get("is_error") else "success"
        return ToolMessage(
            content=content,
            tool_call_id=str(msg.get("tool_call_id", "")),
            name=msg.get("name"),
            status=status,
        )
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in msg.get("tool_calls") or []:
        function = call.get("function", {})
        raw = function.get("arguments", "")
        try:
            args = json.loads(raw) if raw else {}
        except (TypeError, ValueError):
            args = None
        if isinstance(args, dict):
            calls.append(tool_call(name=function.get("name", ""), args=args, id=call.get("id")))
        else:
            invalid.append(
                invalid_tool_call(
                    name=function.get("name"), args=str(raw), id=call.get("id"), error=None
                )
            )
    return AIMessage(content=content, tool_calls=calls, invalid_tool_calls=invalid)
