"""`with_structured_output`: a schema in, a runnable that returns parsed objects out.

The default method is tool calling (a forced call of one tool whose parameters are the
schema), which the Pathors API documents. "json_schema" and "json_mode" send OpenAI's
`response_format` and parse the reply text: the Pathors docs are silent on
`response_format`, so these work only where the pathway honours it (the emulator does).
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput

__all__ = ["StructuredOutputMethod", "build_structured_output"]

StructuredOutputMethod = Literal["function_calling", "json_schema", "json_mode"]


def build_structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: StructuredOutputMethod = "function_calling",
    include_raw: bool = False,
    strict: bool | None = None,
) -> Runnable[LanguageModelInput, Any]:
    """Bind `model` so that it answers in `schema`, and attach the matching parser."""
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    parser: Runnable[Any, Any]
    if method == "function_calling":
        tool = convert_to_openai_tool(schema, strict=strict)
        name = tool["function"]["name"]
        llm = model.bind_tools(
            [schema],
            tool_choice=name,
            strict=strict,
            ls_structured_output_format={
                "kwargs": {"method": method, "strict": strict},
                "schema": tool,
            },
        )
        parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    elif method in ("json_schema", "json_mode"):
        if method == "json_schema":
            json_schema = convert_to_json_schema(schema, strict=strict)
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": json_schema.get("title", "response"),
                    "schema": json_schema,
                    **({"strict": strict} if strict is not None else {}),
                },
            }
        else:
            response_format = {"type": "json_object"}
        llm = model.bind(
            response_format=response_format,
            ls_structured_output_format={
                "kwargs": {"method": method, "strict": strict},
                "schema": convert_to_json_schema(schema),
            },
        )
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    else:
        msg = f"method must be 'function_calling', 'json_schema' or 'json_mode', got {method!r}"
        raise ValueError(msg)

    if not include_raw:
        return llm | parser
    # The raw message always comes back; a parsing failure is reported, not raised.
    parser_assign = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
    parser_with_fallback = parser_assign.with_fallbacks(
        [parser_none], exception_key="parsing_error"
    )
    return RunnableMap(raw=llm) | parser_with_fallback
