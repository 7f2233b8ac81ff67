"""Tool and response schemas with keywords of the wrong type are a 400 naming the keyword."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator._schema_check import InvalidSchema, check_schema

from .conftest import AUTH, CHAT, user

OK_SCHEMAS: list[Any] = [
    {},
    True,
    {"type": ["string", "null"], "enum": []},
    {"type": "object", "properties": {"a": False}, "required": []},
    {"items": [{"type": "string"}, {"type": "integer"}]},  # the tuple form of older drafts
    {"$defs": {"A": {"type": "string"}}, "allOf": [{"$ref": "#/$defs/A"}], "minimum": 10**300},
]


@pytest.mark.parametrize("schema", OK_SCHEMAS)
def test_valid_schemas_pass(schema: Any):
    check_schema(schema, "parameters")


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"required": 5}, "parameters.required must be an array of strings"),
        ({"required": [1]}, "parameters.required must be an array of strings"),
        ({"properties": []}, "parameters.properties must be an object"),
        ({"properties": {"a": 5}}, "parameters.properties.a must be a schema"),
        ({"allOf": []}, "parameters.allOf must be a non-empty array"),
        ({"allOf": [3]}, r"parameters.allOf\[0\] must be a schema"),
        ({"anyOf": {"a": {}}}, "parameters.anyOf must be a non-empty array"),
        ({"minimum": 10**400}, "parameters.minimum must be a finite number"),
        ({"maximum": "9"}, "parameters.maximum must be a finite number"),
        ({"maximum": True}, "parameters.maximum must be a finite number"),
        ({"type": "str"}, "parameters.type must be one of"),
        ({"type": []}, "parameters.type must be one of"),
        ({"enum": "ab"}, "parameters.enum must be an array"),
        ({"$ref": 1}, r"parameters.\$ref must be a string"),
        ({"$defs": {"A": {"items": {"required": {}}}}}, r"\$defs.A.items.required"),
    ],
)
def test_wrongly_typed_keywords_are_named(schema: dict[str, Any], message: str):
    with pytest.raises(InvalidSchema, match=message):
        check_schema(schema, "parameters")


def tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "get_weather", "parameters": parameters}}


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "object", "required": 5},
        {"type": "object", "properties": []},
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 10**400}}},
        {"type": "object", "allOf": [None]},
    ],
)
def test_a_bad_tool_schema_is_a_400_not_a_500(client: TestClient, parameters: dict[str, Any]):
    body = {"messages": [user("use get_weather")], "tools": [tool(parameters)]}
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 400
    assert r.json()["error"].startswith("tools[0].function.parameters")


def test_a_bad_response_schema_is_a_400(client: TestClient):
    fmt = {"type": "json_schema", "json_schema": {"schema": {"properties": []}}}
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("x")], "response_format": fmt})
    assert r.json() == {"error": "response_format.json_schema.schema.properties must be an object"}


def test_a_self_referring_schema_gets_bounded_arguments(client: TestClient):
    parameters = {
        "$defs": {"Node": {"allOf": [{"$ref": "#/$defs/Node"}], "properties": {}}},
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}, "city": {"type": "string"}},
        "required": ["root", "city"],
    }
    body = {"messages": [user("use get_weather in 'Oslo'")], "tools": [tool(parameters)]}
    r = client.post(CHAT, headers=AUTH, json=body)
    assert r.status_code == 200
    call = r.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == '{"root": {}, "city": "Oslo"}'
