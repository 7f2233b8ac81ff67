"""Sessions: the create-session endpoint, ids in headers/bodies, adoption and turns."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator import PathorsEmulator

from .conftest import AUTH, CHAT, SESSION, user


def test_create_session_returns_documented_shape(client: TestClient, emulator: PathorsEmulator):
    variables = {"userName": "John Doe", "userRole": "admin", "customData": "value"}
    r = client.post(
        SESSION, headers=AUTH, json={"session_id": "user-123-session-456", "variables": variables}
    )
    assert r.status_code == 200
    assert r.json() == {"sessionId": "user-123-session-456", "pathwayId": "pathway-default"}
    record = emulator.session("user-123-session-456")
    assert record is not None
    assert record.variables == variables
    assert record.turns == 0
    assert record.created_by == "session_endpoint"


def test_pathway_id_is_configurable():
    emu = PathorsEmulator(pathway_id="pw-42")
    with TestClient(emu.app) as c:
        r = c.post(
            "/api/project/test-project/integration/api/session",
            headers=AUTH,
            json={"session_id": "s"},
        )
    assert r.json()["pathwayId"] == "pw-42"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "session_id is required"),
        ({"session_id": ""}, "session_id is required"),
        ({"session_id": None}, "session_id is required"),
        ({"session_id": 42}, "Missing or invalid session_id"),
        ({"session_id": "a\nb"}, "Missing or invalid session_id"),
        ({"session_id": "x" * 257}, "Missing or invalid session_id"),
        ({"session_id": "ok", "variables": [1]}, "variables must be an object"),
        ([], "Invalid request body"),
    ],
)
def test_create_session_rejects_bad_bodies(client: TestClient, body: object, message: str):
    r = client.post(SESSION, headers=AUTH, json=body)
    assert r.status_code == 400
    assert r.json() == {"error": message}


def test_create_session_rejects_invalid_json(client: TestClient, emulator: PathorsEmulator):
    r = client.post(SESSION, headers={**AUTH, "Content-Type": "application/json"}, content=b"{")
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid request body"}
    assert emulator.sessions() == []


def test_longest_valid_session_id_is_accepted(client: TestClient):
    r = client.post(SESSION, headers=AUTH, json={"session_id": "x" * 256})
    assert r.status_code == 200


def test_first_turn_greets_with_variables_then_echoes(client: TestClient):
    client.post(
        SESSION,
        headers=AUTH,
        json={"session_id": "s1", "variables": {"userName": "John Doe", "userRole": "admin"}},
    )
    first = client.post(
        CHAT, headers={**AUTH, "X-Session-ID": "s1"}, json={"messages": [user("Hi")]}
    )
    second = client.post(
        CHAT, headers={**AUTH, "X-Session-ID": "s1"}, json={"messages": [user("Again")]}
    )
    assert first.json()["choices"][0]["message"]["content"] == (
        "Hello! Session variables: userName=John Doe, userRole=admin. You said: Hi"
    )
    assert second.json()["choices"][0]["message"]["content"] == "You said: Again"


def test_recreating_a_session_replaces_variables_and_keeps_turns(
    client: TestClient, emulator: PathorsEmulator
):
    client.post(SESSION, headers=AUTH, json={"session_id": "s1", "variables": {"a": 1}})
    client.post(CHAT, headers={**AUTH, "X-Session-ID": "s1"}, json={"messages": [user("x")]})
    client.post(SESSION, headers=AUTH, json={"session_id": "s1", "variables": {"b": 2}})
    record = emulator.session("s1")
    assert record is not None
    assert record.variables == {"b": 2}
    assert record.turns == 1


def test_unknown_header_session_is_adopted(client: TestClient, emulator: PathorsEmulator):
    r = client.post(
        CHAT, headers={**AUTH, "X-Session-ID": "never-created"}, json={"messages": [user("Hi")]}
    )
    assert r.status_code == 200
    assert r.headers["X-Session-ID"] == "never-created"
    assert r.json()["session_id"] == "never-created"
    record = emulator.session("never-created")
    assert record is not None
    assert (record.variables, record.turns, record.created_by) == ({}, 1, "chat")


def test_server_assigns_a_session_when_none_is_given(client: TestClient, emulator: PathorsEmulator):
    a = client.post(CHAT, headers=AUTH, json={"messages": [user("Hi")]})
    b = client.post(CHAT, headers=AUTH, json={"messages": [user("Hi")]})
    sid = a.headers["X-Session-ID"]
    assert re.fullmatch(r"session-[0-9a-f]{32}", sid)
    assert a.json()["session_id"] == sid
    assert b.headers["X-Session-ID"] != sid
    assert {s.session_id for s in emulator.sessions()} == {sid, b.headers["X-Session-ID"]}


def test_body_session_id_is_used_without_header(client: TestClient, emulator: PathorsEmulator):
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("Hi")], "session_id": "body-sid"})
    assert r.headers["X-Session-ID"] == "body-sid"
    assert emulator.session("body-sid") is not None


def test_header_session_id_wins_over_body(client: TestClient, emulator: PathorsEmulator):
    r = client.post(
        CHAT,
        headers={**AUTH, "X-Session-ID": "from-header"},
        json={"messages": [user("Hi")], "session_id": "from-body"},
    )
    assert r.json()["session_id"] == "from-header"
    assert emulator.session("from-body") is None


def test_empty_header_falls_back_to_body(client: TestClient):
    r = client.post(
        CHAT,
        headers={**AUTH, "X-Session-ID": ""},
        json={"messages": [user("Hi")], "session_id": "from-body"},
    )
    assert r.json()["session_id"] == "from-body"


def test_invalid_session_ids_in_chat_are_rejected(client: TestClient, emulator: PathorsEmulator):
    long_header = client.post(
        CHAT, headers={**AUTH, "X-Session-ID": "x" * 300}, json={"messages": [user("Hi")]}
    )
    bad_body = client.post(CHAT, headers=AUTH, json={"messages": [user("Hi")], "session_id": 7})
    assert long_header.status_code == 400
    assert long_header.json() == {"error": "Invalid X-Session-ID header"}
    assert bad_body.json() == {"error": "Missing or invalid session_id"}
    assert emulator.sessions() == []


def test_turns_count_valid_chat_requests_only(client: TestClient, emulator: PathorsEmulator):
    headers = {**AUTH, "X-Session-ID": "t"}
    for _ in range(3):
        client.post(CHAT, headers=headers, json={"messages": [user("Hi")]})
    client.post(CHAT, headers=headers, json={"messages": []})  # invalid: not counted
    record = emulator.session("t")
    assert record is not None
    assert record.turns == 3


def test_session_snapshots_are_copies(client: TestClient, emulator: PathorsEmulator):
    client.post(SESSION, headers=AUTH, json={"session_id": "s", "variables": {"k": [1]}})
    record = emulator.session("s")
    assert record is not None
    record.variables["k"].append(2)
    again = emulator.session("s")
    assert again is not None
    assert again.variables == {"k": [1]}


@pytest.mark.parametrize("session_id", [" ", " padded ", "\u65e5\u672c", "caf\u00e9", "tab\t"])
def test_session_ids_that_cannot_travel_in_a_header_are_400(client: TestClient, session_id: str):
    # The id comes back in the X-Session-ID header: one that cannot be a header value
    # used to be a 500 or a dropped connection.
    chat = client.post(CHAT, headers=AUTH, json={"messages": [user("x")], "session_id": session_id})
    create = client.post(SESSION, headers=AUTH, json={"session_id": session_id})
    assert chat.status_code == create.status_code == 400
    assert chat.json() == create.json() == {"error": "Missing or invalid session_id"}


def test_an_id_with_inner_spaces_comes_back_unchanged(client: TestClient):
    r = client.post(CHAT, headers=AUTH, json={"messages": [user("x")], "session_id": "user 1"})
    assert r.status_code == 200
    assert r.json()["session_id"] == r.headers["x-session-id"] == "user 1"
