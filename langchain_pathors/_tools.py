"""Tool definitions and `tool_choice`, in the OpenAI format the Pathors API documents."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

__all__ = ["ToolLike", "format_tools", "map_tool_choice"]

ToolLike = dict[str, Any] | type[BaseModel] | Callable[..., Any] | BaseTool

_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def format_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    """Convert BaseTools, functions, pydantic models and dicts to `{"type": "function", ...}`."""
    return [convert_to_openai_tool(tool, strict=strict) for tool in tools]


def map_tool_choice(
    tool_choice: str | bool | dict[str, Any] | None, tools: Sequence[dict[str, Any]]
) -> str | dict[str, Any] | None:
    """Map LangChain's `tool_choice` spellings to the wire format, as ChatOpenAI does.

    A tool's name forces that tool; "any" and True force some tool ("required"); "auto",
    "none" and "required" pass through; None and False send nothing. Anything else is
    rejected here, with the bound tool names in the message, rather than by the server.
    """
    names = [tool["function"]["name"] for tool in tools if tool.get("type") == "function"]
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice is True:
        return "required"
    if isinstance(tool_choice, str):
        if tool_choice in names:
            return {"type": "function", "function": {"name": tool_choice}}
        if tool_choice in _KEYWORDS:
            return _KEYWORDS[tool_choice]
        msg = (
            f"tool_choice={tool_choice!r} is neither a bound tool nor one of 'auto', 'none', "
            f"'any', 'required' ({_bound(names)})"
        )
        raise ValueError(msg)
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        name = name or tool_choice.get("name")
        if tool_choice.get("type", "function") != "function" or not isinstance(name, str):
            msg = (
                "tool_choice dict must be {'type': 'function', 'function': {'name': ...}}, "
                f"got {tool_choice!r} ({_bound(names)})"
            )
            raise ValueError(msg)
        if name not in names:
            msg = f"tool_choice names {name!r}, which is not a bound tool ({_bound(names)})"
            raise ValueError(msg)
        return {"type": "function", "function": {"name": name}}
    msg = (
        "tool_choice must be a tool name, keyword, bool or dict, "
        f"got {type(tool_choice).__name__} ({_bound(names)})"
    )
    raise TypeError(msg)


def _bound(names: Sequence[str]) -> str:
    """The bound tool names, for error messages."""
    return f"bound tools: {', '.join(names)}" if names else "no tools are bound"
