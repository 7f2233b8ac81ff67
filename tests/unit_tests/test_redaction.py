"""Redaction: what it blanks out (and what not), the cause chain, every kind of method."""

from __future__ import annotations

import asyncio
import pickle
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from langchain_pathors import PathorsOutcomeUnknownError, PathorsServerError
from langchain_pathors._redaction import (
    MAX_VARIABLE_VALUES,
    Redactor,
    redacts_errors,
    scrub_error,
    variable_values,
)
from tests.leaks import authorized_requests, error_texts

KEY = "sk-redaction-canary-1234"


def test_secrets_go_wherever_they_are_words_only_where_they_stand_alone() -> None:
    redact = Redactor(secrets=[KEY], words=["Ann", "+1 555", "42"])
    assert redact(f"x{KEY}y") == "x***y"
    assert redact("Ann, Annual, ANN, Joann") == "***, Annual, ANN, Joann"
    assert redact("call tel:+1 555 now") == "call tel:*** now"
    assert redact("HTTP 429, age 42.") == "HTTP 429, age ***."
    assert redact("nothing here") == "nothing here"
    assert Redactor()("untouched") == "untouched"
    assert not Redactor()


def test_overlapping_secrets_are_blanked_out_whole() -> None:
    assert Redactor(words=["Ann", "Ann Lee"])("Ann Lee") == "***"


def test_variable_values_cover_nested_numbers_and_json_escapes() -> None:
    values = variable_values(
        {"name": "Zoë", "card": {"last4": 4242, "tags": ["vip", ("gold",)]}},
        {"flag": True, "none": None, "x": "a"},
        None,
    )
    assert set(values) == {"Zoë", "Zo\\u00eb", "4242", "vip", "gold"}


def test_variable_values_stop_at_a_bound() -> None:
    huge = {f"v{i}": f"value-{i}" for i in range(MAX_VARIABLE_VALUES * 3)}
    assert len(variable_values(huge)) == MAX_VARIABLE_VALUES

    def nested(depth: int) -> dict[str, Any]:
        deep: dict[str, Any] = {"v": "bottom-value"}
        for _ in range(depth):
            deep = {"v": deep}
        return deep

    # Walked without recursion: no RecursionError however deep; the bound counts levels.
    assert variable_values(nested(MAX_VARIABLE_VALUES - 2)) == ["bottom-value"]
    assert variable_values(nested(5000)) == []


def test_scrub_error_cleans_the_whole_chain_and_detaches_requests() -> None:
    request = httpx.Request(
        "POST", "https://x.test/chat", headers={"Authorization": f"Bearer {KEY}"}
    )
    transport = httpx.ReadTimeout(f"failed with Bearer {KEY}", request=request)
    server = PathorsServerError(f"echo {KEY}", status_code=500)
    server.__cause__ = transport
    outer = PathorsOutcomeUnknownError(f"unknown; {KEY}", session_id="s")
    outer.__cause__ = server
    if sys.version_info >= (3, 11):  # add_note() is new in 3.11 (3.10 has no notes)
        outer.add_note(f"note {KEY}")
    assert authorized_requests(outer)  # the failing case exists before scrubbing

    scrub_error(outer, Redactor(secrets=[KEY]))

    assert authorized_requests(outer) == []
    assert KEY not in error_texts(outer)
    assert transport.request.url == request.url  # still says where it failed
    assert outer.message == "unknown; ***"
    assert outer.cause is server


def test_unicode_errors_are_left_whole() -> None:
    error = UnicodeEncodeError("ascii", "é", 0, 1, "bad")
    scrub_error(error, Redactor(words=["bad"]))
    assert error.reason == "bad"  # its args and attributes must stay consistent


class Model:
    """The attributes redacts_errors reads from a ChatPathors."""

    api_key = None
    default_headers = {"X-Token": f"Bearer {KEY}"}
    session_variables = {"ssn": "123-45-6789"}

    def fail(self, text: str) -> None:
        raise PathorsServerError(text)

    @redacts_errors
    def call(self, text: str, **kwargs: Any) -> None:
        self.fail(text)

    @redacts_errors
    async def acall(self, text: str, **kwargs: Any) -> None:
        self.fail(text)

    @redacts_errors
    def gen(self, text: str, **kwargs: Any) -> Iterator[int]:
        yield 1
        self.fail(text)

    @redacts_errors
    async def agen(self, text: str, **kwargs: Any) -> AsyncIterator[int]:
        yield 1
        self.fail(text)

    @redacts_errors
    def create(self, session_id: str, variables: dict[str, Any] | None = None) -> None:
        self.fail(f"{session_id}: {variables}")


def echo(extra: str = "") -> str:
    return f"key {KEY}, ssn 123-45-6789{extra}"


def test_every_kind_of_method_raises_scrubbed_errors() -> None:
    model = Model()
    with pytest.raises(PathorsServerError) as info:
        model.call(echo(", plan Gold-Plus"), session_variables={"plan": "Gold-Plus"})
    assert str(info.value) == "key ***, ssn ***, plan ***"
    with pytest.raises(PathorsServerError) as info:
        asyncio.run(model.acall(echo()))
    assert str(info.value) == "key ***, ssn ***"
    with pytest.raises(PathorsServerError) as info:
        list(model.gen(echo()))
    assert str(info.value) == "key ***, ssn ***"

    async def consume() -> None:
        async for _ in model.agen(echo()):
            pass

    with pytest.raises(PathorsServerError) as info:
        asyncio.run(consume())
    assert str(info.value) == "key ***, ssn ***"
    with pytest.raises(PathorsServerError) as info:
        model.create("s-1", {"pin": "9876"})  # variables passed positionally
    assert "9876" not in str(info.value)


def test_wrapped_methods_keep_their_signature_and_results() -> None:
    import inspect

    model = Model()
    assert "text" in inspect.signature(Model.call).parameters
    assert next(iter(model.gen("x"))) == 1
    assert inspect.isasyncgenfunction(Model.agen)
    assert inspect.iscoroutinefunction(Model.acall)


def test_an_async_generator_left_early_closes_the_one_it_wraps() -> None:
    closed: list[bool] = []

    class Streamer(Model):
        @redacts_errors
        async def agen(self, text: str, **kwargs: Any) -> AsyncIterator[int]:
            try:
                yield 1
                yield 2
            finally:
                closed.append(True)

    async def take_one() -> None:
        stream = Streamer().agen("x")
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]

    asyncio.run(take_one())
    assert closed == [True]


def test_scrubbed_errors_still_pickle() -> None:
    model = Model()
    with pytest.raises(PathorsServerError) as info:
        model.call(echo())
    assert str(pickle.loads(pickle.dumps(info.value))) == "key ***, ssn ***"
