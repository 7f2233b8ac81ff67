"""Tool definitions and tool_choice in the wire format."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_pathors import _tools
from langchain_pathors._tools import ToolLike, format_tools, map_tool_choice


@tool
def get_weather(location: str) -> str:
    """Get current weather information."""
    return f"sunny in {location}"


def get_time(tz: str) -> str:
    """Get the current time.

    Args:
        tz: An IANA time zone.
    """
    return f"noon in {tz}"


class Booking(BaseModel):
    """Book a table."""

    guests: int = Field(description="How many people")


SEARCH_DICT = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}

TOOLS = format_tools([get_weather, get_time])
BOUND = r"bound tools: get_weather, get_time"


# --------------------------------------------------------------------------- format_tools
@pytest.mark.parametrize(
    ("source", "name", "argument"),
    [
        (get_weather, "get_weather", "location"),
        (get_time, "get_time", "tz"),
        (Booking, "Booking", "guests"),
        (SEARCH_DICT, "search", "query"),
    ],
    ids=["BaseTool", "function", "pydantic", "dict"],
)
def test_format_tools(source: Any, name: str, argument: str) -> None:
    (formatted,) = format_tools([source])
    assert formatted["type"] == "function"
    function = formatted["function"]
    assert function["name"] == name
    assert function["description"]
    assert function["parameters"]["type"] == "object"
    assert argument in function["parameters"]["properties"]
    assert argument in function["parameters"].get("required", [])


def test_format_tools_keeps_order_and_dict_as_given() -> None:
    formatted = format_tools([Booking, SEARCH_DICT, get_weather])
    assert [t["function"]["name"] for t in formatted] == ["Booking", "search", "get_weather"]
    assert formatted[1] == SEARCH_DICT


def test_format_tools_strict() -> None:
    (formatted,) = format_tools([get_weather], strict=True)
    assert formatted["function"]["strict"] is True


# --------------------------------------------------------------------------- map_tool_choice
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("get_weather", FORCE_WEATHER),
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        (False, None),
        (None, None),
        (FORCE_WEATHER, FORCE_WEATHER),
        ({"function": {"name": "get_weather"}}, FORCE_WEATHER),
        ({"type": "function", "name": "get_weather"}, FORCE_WEATHER),
    ],
    ids=[
        "name",
        "auto",
        "none",
        "any",
        "required",
        "True",
        "False",
        "None",
        "dict",
        "dict-no-type",
        "dict-flat-name",
    ],
)
def test_map_tool_choice(choice: Any, wire: Any) -> None:
    assert map_tool_choice(choice, TOOLS) == wire


def test_tool_name_forces_that_tool_even_with_several_bound() -> None:
    assert map_tool_choice("get_time", TOOLS) == {
        "type": "function",
        "function": {"name": "get_time"},
    }


@pytest.mark.parametrize("choice", ["nonsense", "get_wether", "AUTO", ""])
def test_unknown_string_rejected(choice: str) -> None:
    with pytest.raises(ValueError, match=BOUND) as info:
        map_tool_choice(choice, TOOLS)
    assert repr(choice) in str(info.value)
    assert "'auto', 'none', 'any', 'required'" in str(info.value)


def test_dict_naming_an_unbound_tool_rejected() -> None:
    choice = {"type": "function", "function": {"name": "launch_rockets"}}
    with pytest.raises(ValueError, match="'launch_rockets', which is not a bound tool") as info:
        map_tool_choice(choice, TOOLS)
    assert "bound tools: get_weather, get_time" in str(info.value)


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "function", "function": "get_weather"},
        {"type": "function", "function": None},
        {"type": "function", "function": {}},
        {"type": "auto"},
        {},
    ],
    ids=["function-str", "function-none", "no-name", "other-type", "empty"],
)
def test_malformed_dict_rejected(choice: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must be \{'type': 'function'") as info:
        map_tool_choice(choice, TOOLS)
    assert "bound tools: get_weather, get_time" in str(info.value)


@pytest.mark.parametrize("choice", [3, 1.5, ["get_weather"], ("auto",)])
def test_wrong_type_rejected(choice: Any) -> None:
    with pytest.raises(TypeError, match=type(choice).__name__) as info:
        map_tool_choice(choice, TOOLS)
    assert "bound tools: get_weather, get_time" in str(info.value)


def test_no_tools_bound_is_said_plainly() -> None:
    with pytest.raises(ValueError, match="no tools are bound"):
        map_tool_choice("get_weather", [])
    assert map_tool_choice("auto", []) == "auto"


# --------------------------------------------------------------------------- conversion cache
@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ids of the tools that reached LangChain's converter (the cache's misses)."""
    seen: list[Any] = []
    real = _tools.convert_to_openai_tool

    def spy(tool: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(id(tool))  # not the tool: a collected tool must be collectable
        return real(tool, *args, **kwargs)

    monkeypatch.setattr(_tools, "convert_to_openai_tool", spy)
    monkeypatch.setattr(_tools, "_CACHE", _tools._ToolCache())
    return seen


def _json_schema(description: str) -> dict[str, Any]:
    return {
        "title": "lookup",
        "description": description,
        "type": "object",
        "properties": {"key": {"type": "string"}},
        "required": ["key"],
    }


def test_rebinding_the_same_tools_converts_them_once(conversions: list[Any]) -> None:
    tools: list[Any] = [get_weather, get_time, Booking, _json_schema("Look up")]
    first = format_tools(tools)
    again = [format_tools(tools) for _ in range(5)]
    assert all(result == first for result in again)
    assert len(conversions) == len(tools)
    assert first == [_tools.convert_to_openai_tool(t) for t in tools]  # what uncached gives


def test_strict_is_part_of_the_key(conversions: list[Any]) -> None:
    (plain,) = format_tools([get_weather])
    (strict,) = format_tools([get_weather], strict=True)
    assert "strict" not in plain["function"]
    assert strict["function"]["strict"] is True


def test_a_dict_changed_in_place_is_converted_again(conversions: list[Any]) -> None:
    schema = _json_schema("Look up")
    assert format_tools([schema])[0]["function"]["description"] == "Look up"
    schema["description"] = "Look it up, carefully"
    schema["properties"]["key"]["description"] = "the key"
    (formatted,) = format_tools([schema])
    assert formatted["function"]["description"] == "Look it up, carefully"
    assert formatted["function"]["parameters"]["properties"]["key"]["description"] == "the key"


def test_the_cached_schema_does_not_follow_later_edits_of_the_dict(
    conversions: list[Any],
) -> None:
    schema = _json_schema("Look up")
    format_tools([schema])
    schema["properties"]["key"]["type"] = "integer"  # after conversion
    fresh = _json_schema("Look up")
    (formatted,) = format_tools([fresh])  # same content as the first: a cache hit
    assert formatted["function"]["parameters"]["properties"]["key"]["type"] == "string"


def test_a_tool_changed_in_place_is_converted_again(conversions: list[Any]) -> None:
    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return key

    assert format_tools([lookup])[0]["function"]["description"] == "Look a key up."
    lookup.description = "Look a key up in the archive."
    assert format_tools([lookup])[0]["function"]["description"] == "Look a key up in the archive."
    lookup.name = "archive_lookup"
    assert format_tools([lookup])[0]["function"]["name"] == "archive_lookup"
    assert len(conversions) == 3


def test_a_function_whose_docstring_changes_is_converted_again(conversions: list[Any]) -> None:
    def find(query: str) -> str:
        """Find things."""
        return query

    assert format_tools([find])[0]["function"]["description"] == "Find things."
    find.__doc__ = "Find things, fast."
    assert format_tools([find])[0]["function"]["description"] == "Find things, fast."


def test_each_binding_gets_its_own_outer_dicts(conversions: list[Any]) -> None:
    (first,) = format_tools([get_weather])
    first["function"]["name"] = "edited by the caller"
    first["type"] = "edited"
    (second,) = format_tools([get_weather])
    assert second["function"]["name"] == "get_weather"
    assert second["type"] == "function"


def test_a_collected_tool_leaves_the_cache(conversions: list[Any]) -> None:
    def make() -> Any:
        @tool
        def temporary(x: int) -> int:
            """A tool that does not outlive this test."""
            return x

        return temporary

    before = len(_tools._CACHE._by_id)
    temp = make()
    format_tools([temp])
    assert len(_tools._CACHE._by_id) == before + 1
    del temp
    gc.collect()
    assert len(_tools._CACHE._by_id) == before


def test_an_agent_loop_rebinding_tools_sends_the_same_tools_every_turn(
    conversions: list[Any],
) -> None:
    """What `create_agent` does: bind the same tools again before every model call."""
    from langchain_pathors import ChatPathors

    llm = ChatPathors(project_id="p", api_key="k")
    tools: list[ToolLike] = [get_weather, get_time, Booking]
    bound = [llm.bind_tools(tools, tool_choice="get_time") for _ in range(4)]
    kwargs = [b.kwargs for b in bound]  # type: ignore[attr-defined]
    assert all(k == kwargs[0] for k in kwargs)
    assert [t["function"]["name"] for t in kwargs[0]["tools"]] == [
        "get_weather",
        "get_time",
        "Booking",
    ]
    assert kwargs[0]["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert len(conversions) == len(tools)
