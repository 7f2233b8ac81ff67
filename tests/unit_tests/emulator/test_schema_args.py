"""The schema-driven argument builder behind the echo pathway's tool calls."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel

from langchain_pathors.emulator._schema_args import build_arguments, extract_numbers, extract_quoted

jsonschema = pytest.importorskip("jsonschema")


class Address(BaseModel):
    street: str
    zip: int


class Order(BaseModel):
    customer: str
    quantity: int
    unit: Literal["kg", "lb"]
    ship_to: Address
    bill_to: Address | None
    items: list[Address]
    gift: bool = False


def test_pydantic_schema_with_refs_and_optionals():
    schema = Order.model_json_schema()
    args = build_arguments(schema, "order 'Bob' 3 to 'Elm St' 12345")
    jsonschema.validate(args, schema)
    Order.model_validate(args)
    assert args["customer"] == "Bob"
    assert args["quantity"] == 3
    assert args["unit"] == "kg"
    assert args["ship_to"] == {"street": "Elm St", "zip": 12345}
    assert "gift" not in args  # optional with a default: left to the tool


def test_all_of_const_type_lists_and_bounds():
    schema = {
        "type": "object",
        "properties": {
            "kind": {"const": "fixed"},
            "maybe": {"type": ["null", "integer"], "maximum": 5},
            "merged": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "number"}}, "required": ["b"]},
                ]
            },
        },
        "required": ["kind", "maybe", "merged"],
    }
    args = build_arguments(schema, "values 9 and 2.5")
    jsonschema.validate(args, schema)
    assert args == {"kind": "fixed", "maybe": 5, "merged": {"a": "values 9 and 2.5", "b": 2.5}}


def test_without_required_fills_properties_lacking_defaults():
    schema = {"properties": {"q": {"type": "string"}, "limit": {"type": "integer", "default": 10}}}
    assert build_arguments(schema, "cats") == {"q": "cats"}


def test_recursive_schema_terminates():
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/Node"}},
                "required": ["child"],
            }
        },
        "$ref": "#/$defs/Node",
    }
    args = build_arguments(schema, "x")
    depth = 0
    while args:
        args, depth = args["child"], depth + 1
    assert 0 < depth <= 10


def test_empty_or_missing_schema():
    assert build_arguments(None, "x") == {}
    assert build_arguments({}, "x") == {}


def test_extractors():
    assert extract_numbers("v2 costs 3.50, not -1 (x9)") == [3.5, -1.0]
    assert extract_quoted("it's \"a\" and 'b c' and \u201cd\u201d") == ["a", "b c", "d"]
