"""Hypothesis over both documented endpoints and the admin route, over real HTTP on 127.0.0.1.

Whatever a client sends (any JSON, near-valid chat and session bodies, hostile schemas,
lone surrogates, bad keys and session ids, bytes that are not JSON), the emulator must
answer like a documented server: a 4xx always carries ``{"error": "<text>"}`` as JSON,
a 5xx never happens without an injected fault, a 200 stream always finishes with
``[DONE]``, and the server keeps answering others. Bounded: about 300 examples in all,
a per-example deadline, well under a minute on a loaded machine.

`PATHORS_FUZZ_EXAMPLES` sets the examples per endpoint test (default 120) for a
longer hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from langchain_pathors.emulator import PathorsEmulator

from .conftest import API_KEY, PROJECT

CHAT = f"/api/project/{PROJECT}/integration/api/chat/completions"
SESSION = f"/api/project/{PROJECT}/integration/api/session"
EXAMPLES = int(os.environ.get("PATHORS_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=5_000,  # ms per example: a hang fails fast instead of stalling the suite
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TRICKY_TEXT = st.sampled_from(
    ["", " ", "\ud800", "a\udfffb", "\U0001f600", "\x00", "\n", "get_weather", "'Paris' 3"]
)
TEXT = st.text(max_size=30) | TRICKY_TEXT
NUMBER = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.just(10**400)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
SCHEMA_KEYWORDS = st.sampled_from(
    [
        *("type", "properties", "required", "items", "enum", "const", "minimum", "maximum"),
        *("anyOf", "oneOf", "allOf", "$ref", "$defs", "default", "prefixItems"),
    ]
)
SCHEMA = st.recursive(
    st.dictionaries(SCHEMA_KEYWORDS, JSON, max_size=3)
    | st.sampled_from([{"type": "string"}, {"type": "integer", "minimum": 5}, {"$ref": "#"}]),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "array", ["string", "null"], "nonsense", 5]),
            "properties": st.dictionaries(TEXT, inner, max_size=3) | JSON,
            "required": st.lists(TEXT, max_size=3) | JSON,
            "items": inner,
            "allOf": st.lists(inner, max_size=2) | JSON,
            "anyOf": st.lists(inner, max_size=2),
            "$defs": st.dictionaries(TEXT, inner, max_size=2),
        },
    ),
    max_leaves=8,
)
NAME = st.sampled_from(["get_weather", "add", "x", "_", "Bad Name!", ""]) | TEXT
TOOL = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "function", "other"])},
    optional={
        "function": st.fixed_dictionaries(
            {"name": NAME}, optional={"parameters": SCHEMA | JSON, "description": JSON}
        )
    },
)
TOOL_CALL = st.fixed_dictionaries(
    {"id": TEXT, "type": st.just("function")},
    optional={"function": st.fixed_dictionaries({"name": NAME, "arguments": TEXT | JSON})},
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "user", "assistant", "tool", "system", "developer", "bot"])},
    optional={
        "content": TEXT | JSON | st.lists(st.fixed_dictionaries({"type": TEXT, "text": TEXT})),
        "tool_calls": st.lists(TOOL_CALL, max_size=2) | JSON,
        "tool_call_id": TEXT | JSON,
        "name": NAME | JSON,
        "status": st.sampled_from(["error", "success"]) | JSON,
    },
)
CHAT_BODY = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, min_size=1, max_size=4) | JSON},
    optional={
        "tools": st.lists(TOOL, max_size=3) | JSON,
        "tool_choice": st.sampled_from(["auto", "none", "required"])
        | st.fixed_dictionaries(
            {"type": st.just("function"), "function": st.fixed_dictionaries({"name": NAME})}
        )
        | JSON,
        "stream": st.booleans() | JSON,
        "stop": TEXT | st.lists(TEXT, max_size=5) | JSON,
        "response_format": st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "json_object", "json_schema", "xml"])},
            optional={"json_schema": st.fixed_dictionaries({"schema": SCHEMA}) | JSON},
        )
        | JSON,
        "session_id": TEXT | JSON,
    },
)
# Bodies a real client could send, with hostile details inside: most reach the pathway.
VALID_MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.just("user"), "content": TEXT}),
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": TEXT},
        optional={
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.sampled_from(["c1", "c2"]),
                        "type": st.just("function"),
                        "function": st.fixed_dictionaries({"name": NAME, "arguments": TEXT}),
                    }
                ),
                max_size=2,
            )
        },
    ),
    st.fixed_dictionaries(
        {"role": st.just("tool"), "content": TEXT, "tool_call_id": st.sampled_from(["c1", "c2"])},
        optional={"name": NAME, "status": st.sampled_from(["error", "success"])},
    ),
)
# A JSON object of mixed values: dict[str, Any], not the Collection[str] mypy would join to.
VALID_TOOL: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.sampled_from(["get_weather", "add", "Get-Time", "x", "_"])},
            optional={"parameters": SCHEMA},
        ),
    }
)
NEAR_VALID_CHAT = st.fixed_dictionaries(
    {"messages": st.lists(VALID_MESSAGE, min_size=1, max_size=5)},
    optional={
        "tools": st.lists(VALID_TOOL, max_size=3, unique_by=lambda t: t["function"]["name"]),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "stream": st.booleans(),
        "stop": st.lists(TEXT, max_size=4),
        "response_format": st.sampled_from([{"type": "json_object"}, {"type": "text"}])
        | st.builds(lambda s: {"type": "json_schema", "json_schema": {"schema": s}}, SCHEMA),
        "session_id": TEXT,  # sent back in a response header: must fit one
    },
)
SESSION_BODY = st.fixed_dictionaries(
    {}, optional={"session_id": TEXT | JSON, "variables": st.dictionaries(TEXT, JSON) | JSON}
) | st.fixed_dictionaries(
    {"session_id": st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)},
    optional={"variables": st.dictionaries(TEXT, JSON, max_size=4)},
)


def encode(body: Any) -> bytes:
    # Not httpx's json=: lone surrogates must reach the server as JSON escapes.
    return json.dumps(body, ensure_ascii=True).encode()


RAW_BODY = st.binary(max_size=64) | st.sampled_from(
    [b"", b"{", b'{"a": NaN}', b'{"a": 1e999}', b"[" * 200 + b"]" * 200]
)
AUTH = st.sampled_from(
    [
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": f"bearer  {API_KEY}"},
        {"Authorization": "Bearer wrong"},
        {},
    ]
)
SESSION_HEADER = st.none() | st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300
)


@pytest.fixture(scope="module")
def http(emulator: PathorsEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as client:
        yield client


def assert_documented(response: httpx.Response) -> Any:
    """The invariants every answer keeps when no fault is injected."""
    event(f"HTTP {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert isinstance(body, dict)
        assert isinstance(body["error"], str)
        return body
    if response.headers["content-type"].startswith("text/event-stream"):
        events = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
        assert response.text.endswith("data: [DONE]\n\n")
        for data in events[:-1]:
            assert "choices" in json.loads(data)
        return events
    return response.json()


def send(http: httpx.Client, path: str, headers: dict[str, str], content: bytes) -> Any:
    headers = {"Content-Type": "application/json", **headers}
    return assert_documented(http.post(path, headers=headers, content=content))


@FUZZ
@given(body=NEAR_VALID_CHAT | CHAT_BODY, auth=AUTH, session=SESSION_HEADER)
def test_any_chat_body_gets_a_documented_answer(
    http: httpx.Client, body: dict[str, Any], auth: dict[str, str], session: str | None
):
    headers = dict(auth)
    if session is not None:
        headers["X-Session-ID"] = session
    answer = send(http, CHAT, headers, encode(body))
    if isinstance(answer, dict) and "choices" in answer:
        message = answer["choices"][0]["message"]
        assert isinstance(message["content"], str)
        for call in message.get("tool_calls", []):
            json.loads(call["function"]["arguments"])  # arguments are JSON


@FUZZ
@given(body=SESSION_BODY, auth=AUTH)
def test_any_session_body_gets_a_documented_answer(
    http: httpx.Client, body: dict[str, Any], auth: dict[str, str]
):
    answer = send(http, SESSION, auth, encode(body))
    if "sessionId" in answer:
        assert answer["sessionId"] == body["session_id"]


@settings(FUZZ, max_examples=max(1, EXAMPLES // 3))
@given(raw=RAW_BODY | JSON.map(encode), path=st.sampled_from([CHAT, SESSION]), auth=AUTH)
def test_any_bytes_get_a_documented_answer(
    http: httpx.Client, raw: bytes, path: str, auth: dict[str, str]
):
    send(http, path, auth, raw)


FAULT_VALUE = (
    JSON
    | st.integers(min_value=-2, max_value=3)
    | st.floats(min_value=0, max_value=0.05)
    | st.sampled_from([1e9, 601, -1.0, 204, 101, 99, 429, 503, 500.5, True])
)
FAULT_FIELDS = ["status", "message", "retry_after", "retry_after_ms", "latency"]
FAULT_FIELDS += ["chunk_latency", "cut_after", "malformed", "error_event_after"]
FAULT_FIELDS += ["stall_after", "stall_seconds", "json_for_stream", "times", "probability"]


@settings(FUZZ, max_examples=max(1, EXAMPLES // 3))
@given(fault=st.dictionaries(st.sampled_from(FAULT_FIELDS), FAULT_VALUE, max_size=4))
def test_the_admin_route_accepts_only_faults_that_answer(
    http: httpx.Client, emulator: PathorsEmulator, fault: dict[str, Any]
):
    emulator.clear_faults()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    r = http.post("/_emulator/faults", headers=auth, content=encode(fault))
    try:
        if r.status_code == 400:
            assert isinstance(r.json()["error"], str)
            return
        assert r.status_code == 200, r.text
        # Accepted: the next request gets the fault, and the answer is a real one, within
        # the delays the fault asked for (a long one is legitimate: it is not sent here).
        asked = sum(fault.get(k) or 0 for k in ("latency", "stall_seconds"))
        asked += 10 * (fault.get("chunk_latency") or 0)  # "one two" streams 6 events
        if asked > 2:
            return
        body = {"messages": [{"role": "user", "content": "one two"}], "stream": True}
        r = http.post(CHAT, headers=auth, content=encode(body), timeout=asked + 10)
        status = fault.get("status")
        assert r.status_code == (status if status is not None else 200)
        if status is not None:
            assert isinstance(r.json()["error"], str)
    except httpx.RemoteProtocolError:
        assert fault.get("cut_after") is not None  # only a cut drops the connection
    finally:
        emulator.clear_faults()


def test_the_server_still_answers_after_the_fuzz(http: httpx.Client, emulator: PathorsEmulator):
    emulator.reset()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    r = http.post(CHAT, headers=auth, json={"messages": [{"role": "user", "content": "Hi"}]})
    assert r.json()["choices"][0]["message"]["content"] == "You said: Hi"
    assert http.get("/_emulator/health").json() == {"status": "ok"}
