"""Type checks for the JSON Schema keywords the emulator reads (tool parameters, response schemas).

A schema whose keywords have the wrong type (``"required": 5``, ``"properties": []``, an
empty ``allOf``) is not a JSON Schema (the 2020-12 meta-schema refuses it), so the
request is refused with a ``400`` naming the keyword, as OpenAI does with an invalid
schema. Only the keywords that shape generated values are checked; the rest (``title``,
``format``, ``additionalProperties``...) are accepted as they are.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["InvalidSchema", "check_schema"]

TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
_SCHEMA_MAPS = ("properties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_BOUNDS = ("minimum", "maximum")
_LARGEST = sys.float_info.max


class InvalidSchema(ValueError):
    """A schema keyword has the wrong type; the message names it."""


def check_schema(schema: Any, where: str) -> None:
    """Raise :class:`InvalidSchema` at the first keyword of the wrong type in ``schema``.

    Example:
        >>> try:
        ...     check_schema({"type": "object", "required": 5}, "parameters")
        ... except InvalidSchema as exc:
        ...     print(exc)
        parameters.required must be an array of strings

    """
    stack: list[tuple[Any, str]] = [(schema, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, bool):  # true / false are schemas too
            continue
        if not isinstance(node, dict):
            raise InvalidSchema(f"{path} must be a schema (an object or a boolean)")
        _check_keywords(node, path)
        for key in _SCHEMA_MAPS:
            if key in node:
                stack.extend((sub, f"{path}.{key}.{name}") for name, sub in node[key].items())
        for key in _SCHEMA_LISTS:
            if key in node:
                stack.extend((sub, f"{path}.{key}[{i}]") for i, sub in enumerate(node[key]))
        items = node.get("items")
        if isinstance(items, list):  # the tuple form of older drafts
            stack.extend((sub, f"{path}.items[{i}]") for i, sub in enumerate(items))
        elif "items" in node:
            stack.append((items, f"{path}.items"))


def _check_keywords(node: dict[str, Any], path: str) -> None:
    kind = node.get("type")
    if kind is not None and not (
        kind in TYPES
        or (
            isinstance(kind, list) and kind and all(isinstance(k, str) and k in TYPES for k in kind)
        )
    ):
        raise InvalidSchema(f"{path}.type must be one of {', '.join(TYPES)} or an array of them")
    for key in _SCHEMA_MAPS:
        if key in node and not isinstance(node[key], dict):
            raise InvalidSchema(f"{path}.{key} must be an object")
    for key in _SCHEMA_LISTS:
        if key in node and not (isinstance(node[key], list) and node[key]):
            raise InvalidSchema(f"{path}.{key} must be a non-empty array")
    required = node.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(name, str) for name in required)
    ):
        raise InvalidSchema(f"{path}.required must be an array of strings")
    if "enum" in node and not isinstance(node["enum"], list):
        raise InvalidSchema(f"{path}.enum must be an array")
    if "$ref" in node and not isinstance(node["$ref"], str):
        raise InvalidSchema(f"{path}.$ref must be a string")
    for key in _BOUNDS:
        bound = node.get(key)
        if key in node and not (
            isinstance(bound, (int, float))
            and not isinstance(bound, bool)
            and -_LARGEST <= bound <= _LARGEST
        ):
            raise InvalidSchema(f"{path}.{key} must be a finite number")
