"""Validation of request bodies, with the 400 messages the emulator sends.

Each check names the offending field (and index), so a client bug is easy to find.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ._limits import EmulatorLimits
from ._schema_check import InvalidSchema, check_schema

__all__ = [
    "ChatInput",
    "RequestError",
    "SessionInput",
    "is_valid_session_id",
    "parse_chat",
    "parse_session",
]

MAX_SESSION_ID_LENGTH = 256
ROLES = ("system", "user", "assistant", "tool", "developer")
TOOL_CHOICES = ("auto", "none", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RequestError(ValueError):
    """A request the emulator answers with ``400 {"error": message}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ChatInput:
    """The validated fields of a chat request the emulator uses.

    Example:
        >>> parse_chat({"messages": [{"role": "user", "content": "Hi"}]}).stream
        False

    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any] | None
    stream: bool
    stop: list[str]
    session_id: str | None
    response_format: dict[str, Any] | None = None


@dataclass(frozen=True)
class SessionInput:
    """The validated body of a create-session request.

    Example:
        >>> parse_session({"session_id": "s1"}).variables
        {}

    """

    session_id: str
    variables: dict[str, Any]


def is_valid_session_id(value: Any) -> bool:
    """1 to 256 characters that can travel back in the ``X-Session-ID`` header.

    So: no control characters, no white space at either end (HTTP trims it), and ASCII
    only (a header value is bytes, and clients disagree on how to decode others).

    Example:
        >>> is_valid_session_id("user-1"), is_valid_session_id("a" + chr(10) + "b")
        (True, False)
        >>> is_valid_session_id(" user-1"), is_valid_session_id("\u65e5\u672c")
        (False, False)

    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SESSION_ID_LENGTH
        and not _CONTROL.search(value)
        and value == value.strip(" \t")
        and value.isascii()
    )


def parse_session(body: Any, limits: EmulatorLimits | None = None) -> SessionInput:
    """Validate a create-session body (``variables`` at most ``max_variables_bytes``).

    Raises:
        RequestError: With the documented messages.

    """
    if not isinstance(body, dict):
        raise RequestError("Invalid request body")
    session_id = body.get("session_id")
    if session_id is None or session_id == "":
        raise RequestError("session_id is required")
    if not is_valid_session_id(session_id):
        raise RequestError("Missing or invalid session_id")
    variables = body.get("variables")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise RequestError("variables must be an object")
    cap = (limits or EmulatorLimits()).max_variables_bytes
    if len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode()) > cap:
        raise RequestError(f"variables must be at most {cap} bytes as JSON")
    return SessionInput(session_id, variables)


def parse_chat(body: Any, limits: EmulatorLimits | None = None) -> ChatInput:
    """Validate a chat-completions body (unknown OpenAI fields are accepted and ignored).

    ``limits`` bounds the number of tools and of stop sequences.

    Raises:
        RequestError: Naming the first invalid field.

    """
    if not isinstance(body, dict):
        raise RequestError("Invalid request body")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty array")
    for index, message in enumerate(messages):
        _check_message(index, message)
    limits = limits or EmulatorLimits()
    tools = _parse_tools(body.get("tools"), limits.max_tools)
    tool_choice = _parse_tool_choice(body.get("tool_choice"), tools)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise RequestError("stream must be a boolean")
    session_id = body.get("session_id")
    if session_id is not None and not is_valid_session_id(session_id):
        raise RequestError("Missing or invalid session_id")
    return ChatInput(
        messages,
        tools,
        tool_choice,
        bool(stream),
        _parse_stop(body.get("stop"), limits.max_stop),
        session_id,
        _parse_response_format(body.get("response_format")),
    )


def _check_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise RequestError(f"{where} must be an object")
    role = message.get("role")
    if role not in ROLES:
        raise RequestError(f"{where}.role must be one of system, user, assistant, tool")
    content = message.get("content")
    if content is None and role != "assistant":
        raise RequestError(f"{where}.content is required")
    if content is not None and not isinstance(content, (str, list)):
        raise RequestError(f"{where}.content must be a string or an array")
    if isinstance(content, list) and not all(isinstance(b, (dict, str)) for b in content):
        raise RequestError(f"{where}.content parts must be objects")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise RequestError(f"{where}.tool_call_id is required for tool messages")
    calls = message.get("tool_calls")
    if role == "assistant" and calls is not None:
        if not isinstance(calls, list):
            raise RequestError(f"{where}.tool_calls must be an array")
        for j, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not (
                isinstance(function, dict)
                and isinstance(call.get("id"), str)
                and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments", ""), str)
            ):
                raise RequestError(f"{where}.tool_calls[{j}] is invalid")


def _parse_tools(tools: Any, max_tools: int) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise RequestError("tools must be an array")
    if len(tools) > max_tools:
        raise RequestError(f"tools must have at most {max_tools} entries")
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise RequestError(f"{where}.type must be 'function'")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise RequestError(f"{where}.function must be an object")
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise RequestError(f"{where}.function.name must match ^[A-Za-z0-9_-]{{1,64}}$")
        if name in seen:
            raise RequestError(f"{where}.function.name duplicates {name!r}")
        seen.add(name)
        if not isinstance(function.get("description", ""), str):
            raise RequestError(f"{where}.function.description must be a string")
        if not isinstance(function.get("parameters", {}), dict):
            raise RequestError(f"{where}.function.parameters must be an object")
        _check_schema(function.get("parameters", {}), f"{where}.function.parameters")
    return tools


def _check_schema(schema: Any, where: str) -> None:
    try:
        check_schema(schema, where)
    except InvalidSchema as exc:
        raise RequestError(str(exc)) from None


def _parse_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> str | dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        if choice == "required" and not tools:
            raise RequestError("tool_choice 'required' needs tools")
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(function, dict)
        and isinstance(function.get("name"), str)
    ):
        names = {t["function"]["name"] for t in tools}
        if function["name"] not in names:
            raise RequestError(f"tool_choice names unknown tool {function['name']!r}")
        return choice
    raise RequestError("tool_choice must be 'auto', 'none', 'required' or a function choice")


def _parse_stop(stop: Any, max_stop: int) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise RequestError("stop must be a string or an array of strings")
    if len(stop) > max_stop:
        raise RequestError(f"stop must have at most {max_stop} sequences")
    return stop


def _parse_response_format(value: Any) -> dict[str, Any] | None:
    """OpenAI's ``response_format``: ``text``, ``json_object`` or ``json_schema``.

    ``json_schema`` needs ``json_schema.schema`` to be an object; ``name`` and ``strict``
    are optional here (OpenAI requires ``name``; the Pathors docs are silent).
    """
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in RESPONSE_FORMATS:
        raise RequestError("response_format.type must be 'text', 'json_object' or 'json_schema'")
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise RequestError("response_format.json_schema.schema must be an object")
        _check_schema(spec["schema"], "response_format.json_schema.schema")
    return dict(value)
