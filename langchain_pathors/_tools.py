"""Tool definitions and `tool_choice`, in the OpenAI format the Pathors API documents."""

from __future__ import annotations

import copy
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from types import FunctionType
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

try:
    import orjson
except ImportError:  # PyPy, or a trimmed install
    orjson = None  # type: ignore[assignment]

__all__ = ["ToolLike", "format_tools", "map_tool_choice"]

ToolLike = dict[str, Any] | type[BaseModel] | Callable[..., Any] | BaseTool

_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def format_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    """Convert BaseTools, functions, pydantic models and dicts to `{"type": "function", ...}`.

    Conversions are remembered (see `_ToolCache`): agents re-bind the same tools before
    every model call, and converting 50 tools costs about 4 ms of CPU each time.
    """
    return [_CACHE.convert(tool, strict) for tool in tools]


class _ToolCache:
    """Remembers tool conversions, keyed so that a changed tool is converted again.

    Objects (tools, functions, classes) are keyed by identity, held weakly and checked
    against a fingerprint of what the conversion reads (a tool's name, description and
    argument schema; a function's name, docstring, code and defaults); dicts (JSON
    schemas) by their content, since a dict can change in place. Each call gets its own
    copy of the outer dicts; the parameter schemas inside are shared and must not be
    mutated.
    """

    MAX_ENTRIES = 2048

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[tuple[int, bool | None], tuple[Any, Hashable, dict[str, Any]]] = {}
        self._by_content: OrderedDict[tuple[bytes, bool | None], dict[str, Any]] = OrderedDict()

    def convert(self, tool: ToolLike, strict: bool | None) -> dict[str, Any]:
        if isinstance(tool, dict):
            if tool.get("type") == "function" and "function" in tool and strict is None:
                return convert_to_openai_tool(tool)  # already OpenAI's: returned as it is
            return self._by_dict(tool, strict)
        fingerprint = _fingerprint(tool)
        if fingerprint is None:
            return convert_to_openai_tool(tool, strict=strict)
        key = (id(tool), strict)
        entry = self._by_id.get(key)
        if entry is not None and entry[0]() is tool and entry[1] == fingerprint:
            return _fresh(entry[2])
        formatted = convert_to_openai_tool(tool, strict=strict)
        by_id = self._by_id

        def forget(_: object) -> None:
            by_id.pop(key, None)

        try:
            ref = weakref.ref(tool, forget)
        except TypeError:  # not weakly referenceable: not remembered
            return formatted
        with self._lock:
            if len(self._by_id) >= self.MAX_ENTRIES:
                self._by_id.clear()
            self._by_id[key] = (ref, fingerprint, formatted)
        return _fresh(formatted)

    def _by_dict(self, tool: dict[str, Any], strict: bool | None) -> dict[str, Any]:
        try:
            content = _content_key(tool)
        except (TypeError, ValueError):  # not plain JSON (a class inside, say)
            return convert_to_openai_tool(tool, strict=strict)
        key = (content, strict)
        with self._lock:
            formatted = self._by_content.get(key)
            if formatted is not None:
                self._by_content.move_to_end(key)
                return _fresh(formatted)
        formatted = convert_to_openai_tool(copy.deepcopy(tool), strict=strict)
        with self._lock:
            self._by_content[key] = formatted
            if len(self._by_content) > self.MAX_ENTRIES:
                self._by_content.popitem(last=False)
        return _fresh(formatted)


def _fresh(formatted: dict[str, Any]) -> dict[str, Any]:
    """A copy of the outer dicts, so a caller's edit of one binding reaches no other."""
    fresh = dict(formatted)
    function = fresh.get("function")
    if isinstance(function, dict):
        fresh["function"] = dict(function)
    return fresh


def _content_key(value: dict[str, Any]) -> bytes:
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return json.dumps(value, sort_keys=True).encode()


def _fingerprint(tool: object) -> Hashable | None:
    """What the conversion of `tool` reads, or None when it cannot be told (no caching)."""
    if isinstance(tool, BaseTool):
        schema = tool.args_schema
        if isinstance(schema, dict):
            try:
                schema_key: Hashable = _content_key(schema)
            except (TypeError, ValueError):
                return None
        else:
            schema_key = (id(schema), id(getattr(schema, "__pydantic_core_schema__", None)))
        custom = (tool.metadata or {}).get("type")
        return (type(tool), tool.name, tool.description, schema_key, custom)
    if isinstance(tool, type):
        # A pydantic model or TypedDict class; a rebuilt model gets a new core schema.
        return (tool.__doc__, id(getattr(tool, "__pydantic_core_schema__", None)))
    if isinstance(tool, FunctionType):
        return (tool.__name__, tool.__doc__, tool.__code__, tool.__defaults__)
    return None


_CACHE = _ToolCache()


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
