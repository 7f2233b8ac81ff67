"""The rules of the echo pathway, as plain functions over wire dicts.

Kept apart from the pathway classes so each rule can be read (and tested) on its own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._schema_args import TextValues, build_arguments

__all__ = [
    "choose_forced_call_after_results",
    "choose_tool_calls",
    "format_reply",
    "greeting",
    "message_text",
    "summarise_tool_results",
]

_ERROR_TEXT = re.compile(r"^\s*error\b\s*:?\s*", re.IGNORECASE)


def message_text(message: dict[str, Any]) -> str:
    """The text of a wire message: a string, or the text blocks of a list, joined.

    Example:
        >>> message_text({"role": "user", "content": [{"type": "text", "text": "Hi"}]})
        'Hi'

    """
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block if isinstance(block, str) else str(block.get("text", ""))
            for block in content
            if isinstance(block, str) or (isinstance(block, dict) and "text" in block)
        )
    return ""


def greeting(variables: dict[str, Any]) -> str:
    """The first-turn greeting listing session variables (``""`` when there are none).

    Example:
        >>> greeting({"userName": "John Doe", "userRole": "admin"})
        'Hello! Session variables: userName=John Doe, userRole=admin. '

    """
    if not variables:
        return ""
    pairs = ", ".join(f"{key}={_fmt(value)}" for key, value in variables.items())
    return f"Hello! Session variables: {pairs}. "


def summarise_tool_results(messages: list[dict[str, Any]]) -> str:
    """Summarise the trailing ``tool`` messages of a conversation.

    A tool's name comes from the message's ``name`` or, failing that, from the assistant
    tool call with the same id. A result fails when it has ``status: "error"``,
    ``is_error: true`` or text starting with ``Error``.

    Example:
        >>> summarise_tool_results([{"role": "tool", "name": "get_weather",
        ...                          "tool_call_id": "c1", "content": "72°F, sunny"}])
        'Tool results: get_weather: 72°F, sunny.'

    """
    start = len(messages)
    while start and messages[start - 1].get("role") == "tool":
        start -= 1
    trailing = messages[start:]
    names: dict[str, str] = {}  # tool_call_id -> function name, from assistant turns
    for msg in messages:
        for call in assistant_tool_calls(msg):
            names[str(call.get("id"))] = str(call["function"].get("name", "tool"))
    parts = []
    for msg in trailing:
        name = msg.get("name") or names.get(str(msg.get("tool_call_id")), "tool")
        text = message_text(msg).strip()
        failed = msg.get("status") == "error" or msg.get("is_error") is True
        if _ERROR_TEXT.match(text):
            failed, text = True, _ERROR_TEXT.sub("", text, count=1)
        text = (text or "(empty)").rstrip(".")
        parts.append(f"{name} failed: {text}" if failed else f"{name}: {text}")
    return f"Tool results: {'; '.join(parts)}."


def choose_tool_calls(
    tools: list[dict[str, Any]], tool_choice: str | dict[str, Any] | None, text: str
) -> list[tuple[str, dict[str, Any]]]:
    """Which tools to call for a user message, with schema-valid arguments.

    Args:
        tools: Wire tool definitions (already validated).
        tool_choice: The request's ``tool_choice``.
        text: The last user message's text.

    Returns:
        ``(name, arguments)`` pairs, in the order the tools are mentioned.

    Example:
        >>> tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        ...     "type": "object", "properties": {"city": {"type": "string"}},
        ...     "required": ["city"]}}}
        >>> choose_tool_calls([tool], "auto", "Get weather in 'Oslo'")
        [('get_weather', {'city': 'Oslo'})]

    """
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    if not by_name or tool_choice == "none":
        return []
    mentions = _Mentions(text)
    found = [(at, name) for name in by_name if (at := mentions.first(name)) is not None]
    chosen = [name for _, name in sorted(found)]
    if isinstance(tool_choice, dict):
        chosen = [tool_choice["function"]["name"]]
    elif tool_choice == "required" and not chosen:
        chosen = [next(iter(by_name))]
    if not chosen:
        return []
    rest = TextValues(re.sub(r"\s+", " ", mentions.without([n for _, n in found])))
    return [(name, build_arguments(by_name[name].get("parameters"), rest)) for name in chosen]


def choose_forced_call_after_results(
    tools: list[dict[str, Any]],
    tool_choice: str | dict[str, Any] | None,
    messages: list[dict[str, Any]],
    summary: str,
) -> list[tuple[str, dict[str, Any]]]:
    """The call a forcing ``tool_choice`` demands when the last message is a tool result.

    A named function is called again; ``"required"`` calls the first bound tool not yet
    called since the last user message (tools that message mentions first, in mention
    order, then the bound order), or the first bound tool when every one has been called.
    The arguments are built from ``summary`` (the tool results), so a forced final tool,
    as structured output and agents use, carries what the tools returned. Any other
    ``tool_choice`` gives no call.

    Example:
        >>> tool = {"type": "function", "function": {"name": "Answer", "parameters": {
        ...     "type": "object", "properties": {"total": {"type": "number"}},
        ...     "required": ["total"]}}}
        >>> choose_forced_call_after_results([tool], "required", [], "Tool results: add: 5.")
        [('Answer', {'total': 5.0})]

    """
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    if not by_name:
        return []
    if isinstance(tool_choice, dict):
        name = tool_choice["function"]["name"]
    elif tool_choice == "required":
        called: set[str] = set()
        last_user = ""
        for msg in messages:
            if msg.get("role") == "user":
                called, last_user = set(), message_text(msg)
            for call in assistant_tool_calls(msg):
                called.add(str(call["function"].get("name")))
        mentions = _Mentions(last_user)
        mentioned = sorted((at, n) for n in by_name if (at := mentions.first(n)) is not None)
        order = [n for _, n in mentioned] + list(by_name)
        name = next((n for n in order if n not in called), next(iter(by_name)))
    else:
        return []
    return [(name, build_arguments(by_name[name].get("parameters"), summary))]


def assistant_tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of an assistant message (the validator checked their shape).

    Only assistant messages carry tool calls; a ``tool_calls`` field on another role is
    ignored, like any other unknown field.

    Example:
        >>> assistant_tool_calls({"role": "user", "tool_calls": 5})
        []

    """
    if message.get("role") != "assistant":
        return []
    calls = message.get("tool_calls")
    return calls if isinstance(calls, list) else []


# The only characters a case-insensitive regex matches to an ASCII letter besides the
# ASCII letters themselves; mapped first, so lower() then gives the same matches.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


class _Mentions:
    """Where tool names are mentioned in a text.

    "get_weather" also matches "Get Weather" and "get-weather", as a whole word
    (case-insensitive; ``_``, ``-`` and white space alike). The text is folded to lower
    case once and each name is searched as a literal first, which is a hundred times
    faster than a case-insensitive pattern on long texts; positions stay those of the
    original text, because folding keeps every character in its place.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = text.translate(_ASCII_FOLD).lower()

    @staticmethod
    def _words(name: str) -> list[str]:
        return [re.escape(p) for p in re.split(r"[_\-\s]+", name.lower()) if p]

    def first(self, name: str) -> int | None:
        words = self._words(name)  # a name of only "_" and "-" has no word to mention
        match = re.search(_pattern([words]), self.folded) if words else None
        return match.start() if match else None

    def without(self, names: list[str]) -> str:
        """The text with every mention of ``names`` replaced by a space.

        One pass over the text for all names; where two names are mentioned at the same
        place, the first name listed wins (as removing them one name after another does).
        """
        words = [w for w in map(self._words, names) if w]
        if not words:
            return self.text
        pieces, at = [], 0
        for match in re.finditer(_pattern(words), self.folded):
            pieces += [self.text[at : match.start()], " "]
            at = match.end()
        return "".join([*pieces, self.text[at:]])


def _pattern(names: list[list[str]]) -> str:
    """One regex for the mentions of several names, given as their words, as a trie.

    Names sharing words share their pattern (the regex compiler does not factor
    alternatives itself), so each place a first word appears is tried once, not once
    per name. Each first word is a literal followed by its look-behind, so the search
    skips ahead to it. Alternatives keep the order of ``names``: at one place, the first
    name listed wins.
    """
    heads: dict[str, list[list[str]]] = {}
    for words in names:
        heads.setdefault(words[0], []).append(words[1:])
    return "|".join(f"{w}(?<![a-z0-9]{w}){_rest(rests)}" for w, rests in heads.items())


def _rest(rests: list[list[str]]) -> str:
    options: dict[str, list[list[str]]] = {}  # "" = the name ends here
    for words in rests:
        options.setdefault(words[0] if words else "", []).append(words[1:] if words else [])
    nexts = [f"{word}{_rest(more)}" for word, more in options.items() if word]
    go_on = rf"[_\-\s]+(?:{'|'.join(nexts)})"  # one separator, then the next words
    if "" not in options:
        return go_on
    if not nexts:
        return "(?![a-z0-9])"
    ends_first = next(iter(options)) == ""
    return f"(?:(?![a-z0-9])|{go_on})" if ends_first else f"(?:{go_on}|(?![a-z0-9]))"


def _fmt(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def format_reply(text: str, response_format: dict[str, Any] | None, source: str) -> str:
    """Shape a text reply as the request's ``response_format`` asks.

    Args:
        text: The plain reply (echo or tool-results summary).
        response_format: The request's validated ``response_format`` (or ``None``).
        source: The words a ``json_schema`` reply is built from, by the same rule as
            tool-call arguments (:func:`~._schema_args.build_arguments`).

    Returns:
        ``text`` for no format or ``"text"``; ``{"reply": text}`` as JSON for
        ``"json_object"``; a JSON object that fits the schema for ``"json_schema"``.

    Example:
        >>> format_reply("You said: Hi", {"type": "json_object"}, "Hi")
        '{"reply": "You said: Hi"}'
        >>> schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
        >>> format_reply("", {"type": "json_schema", "json_schema": {"schema": schema}}, "3")
        '{"n": 3}'

    """
    kind = response_format.get("type") if response_format else None
    if kind == "json_object":
        return json.dumps({"reply": text}, ensure_ascii=False)
    if kind == "json_schema" and response_format is not None:
        schema = response_format["json_schema"]["schema"]
        return json.dumps(build_arguments(schema, source), ensure_ascii=False)
    return text
