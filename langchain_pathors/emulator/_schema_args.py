"""Build tool-call arguments that fit a JSON schema from the words of a user message.

One general rule, used by :class:`~langchain_pathors.emulator.EchoPathway`:

* integers and numbers take, in order, the numbers found in the message (``0`` / ``0.0``
  once they run out), clamped to ``minimum`` / ``maximum``;
* strings take, in order, the quoted phrases of the message (``'...'``, ``"..."`` or
  curly quotes), repeating the last one once they run out; with no quoted phrase at all,
  the message text itself, or the property name when that text is empty;
* booleans are ``false``; ``enum`` / ``const`` give their (first) value;
* arrays hold one item built from ``items``; objects are filled recursively;
* ``$ref`` (``#/$defs/...`` or ``#/definitions/...``), ``anyOf`` / ``oneOf`` (first
  non-null branch), ``allOf`` (merged) and type lists (first non-null type) are resolved;
* only ``required`` properties are filled; when a schema has no ``required`` list at all,
  every property without a ``default`` is filled.

The work is bounded (see :func:`build_arguments`): nesting past 8 levels is left empty,
and so is everything past a budget of schema nodes and of characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["TextValues", "build_arguments", "extract_numbers", "extract_quoted"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
# An opening single quote must not follow a letter, so "What's" is not a quote.
_QUOTED = re.compile(
    r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019"
)
_MAX_DEPTH = 8


def extract_numbers(text: str) -> list[float]:
    """The numbers in ``text``, in order.

    Example:
        >>> extract_numbers("add 2 and -3.5")
        [2.0, -3.5]

    """
    return [float(m.group(0)) for m in _NUMBER.finditer(text)]


def extract_quoted(text: str) -> list[str]:
    """The quoted phrases in ``text``, in order (apostrophes inside words are not quotes).

    Example:
        >>> extract_quoted("What's the weather in 'San Francisco'?")
        ['San Francisco']

    """
    return [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]


class TextValues:
    """The numbers and quoted phrases of a text, found as they are needed.

    One instance can serve several :func:`build_arguments` calls (each starts from the
    first value again), so a request that calls many tools scans its text once, and
    only as far as the values used reach.

    Example:
        >>> values = TextValues("add 2 and 'three'")
        >>> values.number(0), values.number(1), values.phrase(0)
        (2.0, None, 'three')

    """

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self._numbers = _Found(float(m.group(0)) for m in _NUMBER.finditer(text))
        self._phrases = _Found(
            next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)
        )

    def number(self, index: int) -> float | None:
        """The number at ``index`` in the text, or ``None`` past the last one."""
        value: float | None = self._numbers.get(index)
        return value

    def phrase(self, index: int) -> str | None:
        """The quoted phrase at ``index`` in the text, or ``None`` past the last one."""
        value: str | None = self._phrases.get(index)
        return value


class _Found:
    # A lazily extended list over an iterator: values are searched for once, on demand.
    def __init__(self, values: Iterator[Any]) -> None:
        self._values: Iterator[Any] = values
        self._seen: list[Any] = []

    def get(self, index: int) -> Any:
        while len(self._seen) <= index:
            value = next(self._values, _NONE)
            if value is _NONE:
                return None
            self._seen.append(value)
        return self._seen[index]


_NONE = object()


def build_arguments(
    schema: dict[str, Any] | None,
    text: str | TextValues,
    *,
    max_nodes: int = 10_000,
    max_chars: int = 1024 * 1024,
) -> dict[str, Any]:
    """Arguments for a tool whose ``parameters`` schema is ``schema``, drawn from ``text``.

    Args:
        schema: The tool's JSON schema (an object schema; ``None`` means no parameters).
        text: The user's words, with the tool-name mention already removed (or their
            :class:`TextValues`, to share one scan between several calls).
        max_nodes: Most schema nodes filled (``$ref`` and ``allOf`` expansions count by
            their size); past it values are left empty (``{}``, ``[]``, ``""``, ``0``),
            so a schema that refers to itself, or expands to millions of values, stays
            cheap.
        max_chars: Most characters of text in the result; past it strings are ``""``.

    Returns:
        A dict that validates against the schema's types (within the two budgets).

    Example:
        >>> build_arguments(
        ...     {"type": "object", "properties": {"city": {"type": "string"},
        ...      "days": {"type": "integer"}}, "required": ["city", "days"]},
        ...     "forecast for 'Paris' over 3 days",
        ... )
        {'city': 'Paris', 'days': 3}

    """
    if not schema:
        return {}
    values = text if isinstance(text, TextValues) else TextValues(text)
    filler = _Filler(schema, values, max_nodes, max_chars)
    value = filler.fill(schema, "arguments", 0)
    return value if isinstance(value, dict) else {}


_COMPOSITION = ("allOf", "anyOf", "oneOf", "$ref")
_EMPTY: dict[str, Any] = {
    "object": {},
    "array": [],
    "integer": 0,
    "number": 0.0,
    "boolean": False,
    "null": None,
}


class _Filler:
    def __init__(
        self, root: dict[str, Any], values: TextValues, max_nodes: int, max_chars: int
    ) -> None:
        self._root = root
        self._values = values
        # Values are consumed in property order across the whole schema.
        self._next_number = self._next_phrase = 0
        self._last_phrase: str | None = None
        self._nodes_left = max_nodes
        self._chars_left = max_chars

    def fill(self, schema: Any, name: str, depth: int) -> Any:
        self._nodes_left -= 1
        schema = self._resolve(schema, depth)
        if self._nodes_left <= 0:
            return _EMPTY.get(_schema_type(schema), "")
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        kind = _schema_type(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            if depth >= _MAX_DEPTH:
                return []
            return [self.fill(schema.get("items", {}), name, depth + 1)]
        if kind == "integer":
            return int(self._number(schema))
        if kind == "number":
            return float(self._number(schema))
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._string(name)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        if depth >= _MAX_DEPTH or not isinstance(props, dict):
            return {}
        required = schema.get("required")
        if isinstance(required, list):
            wanted = {n for n in required if isinstance(n, str)}
            names = [n for n in props if n in wanted]
        else:
            names = [n for n, p in props.items() if not (isinstance(p, dict) and "default" in p)]
        return {n: self.fill(props[n], n, depth + 1) for n in names}

    def _number(self, schema: dict[str, Any]) -> float:
        found = self._values.number(self._next_number)
        self._next_number += 1
        value = 0.0 if found is None else found
        low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return value

    def _string(self, name: str) -> str:
        found = self._values.phrase(self._next_phrase)
        self._next_phrase += 1
        self._last_phrase = found if found is not None else self._last_phrase
        value = self._last_phrase or self._values.text or name
        if len(value) > self._chars_left:
            return ""
        self._chars_left -= len(value)
        return value

    def _resolve(self, schema: Any, depth: int) -> dict[str, Any]:
        """Follow ``$ref`` and pick one branch of ``anyOf``/``oneOf``/``allOf``."""
        for _ in range(_MAX_DEPTH):
            if not isinstance(schema, dict) or depth > _MAX_DEPTH or self._nodes_left <= 0:
                return schema if isinstance(schema, dict) else {}
            self._nodes_left -= len(schema)  # each step copies the schema: pay for it
            if isinstance(schema.get("$ref"), str):
                schema = {**self._lookup(schema["$ref"]), **_without(schema, "$ref")}
            elif isinstance(schema.get("allOf"), list):
                schema = self._merge_all_of(schema, depth)
            else:
                branches = schema.get("anyOf") or schema.get("oneOf")
                if not isinstance(branches, list):
                    return schema
                options = [b for b in branches if not (isinstance(b, dict) and _is_null(b))]
                rest = _without(_without(schema, "anyOf"), "oneOf")
                first = (options or branches)[0] if branches else {}
                schema = {**first, **rest} if isinstance(first, dict) else rest
        return schema if isinstance(schema, dict) else {}

    def _merge_all_of(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        merged = _without(schema, "allOf")
        for part in schema["allOf"]:
            part = self._resolve(part, depth + 1)
            props, required = part.get("properties"), part.get("required")
            merged["properties"] = {
                **(merged.get("properties") or {}),
                **(props if isinstance(props, dict) else {}),
            }
            merged["required"] = [
                *(merged.get("required") or []),
                *(required if isinstance(required, list) else []),
            ]
            # A part still unresolved at the depth limit must not bring back its
            # composition keywords, or a self-referring schema would expand again.
            merged.update(
                {k: v for k, v in part.items() if k not in merged and k not in _COMPOSITION}
            )
            self._nodes_left -= len(merged["properties"]) + len(merged["required"])
        return merged

    def _lookup(self, ref: str) -> dict[str, Any]:
        node: Any = self._root
        if not ref.startswith("#"):
            return {}
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}


def _bound(value: Any) -> float | None:
    # A bound that is not a finite double is ignored (the validator refuses it anyway).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        bound = float(value)
    except OverflowError:
        return None
    return bound if math.isfinite(bound) else None


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["null"]
        kind = kinds[0]
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _is_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null"


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}
