"""Tool definitions and tool_choice in the wire format."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_pathors._tools import format_tools, map_tool_choice


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
