"""Admin routes for out-of-process control, and the emulator's own control methods."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from langchain_pathors.emulator import Fault, PathorsEmulator
from langchain_pathors.emulator._faults import MAX_FAULTS

from .conftest import AUTH, CHAT, SESSION, user


def test_health_needs_no_auth(client: TestClient):
    r = client.get("/_emulator/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_admin_routes_need_the_key(client: TestClient):
    bad = {"Authorization": "Bearer nope"}
    assert client.post("/_emulator/faults", headers=bad, json={"status": 500}).status_code == 401
    assert client.delete("/_emulator/faults", headers=bad).status_code == 401
    assert client.get("/_emulator/sessions/x", headers=bad).status_code == 401
    r = client.post("/_emulator/reset")
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid authentication"}


def test_inject_and_clear_faults_over_http(client: TestClient):
    r = client.post("/_emulator/faults", headers=AUTH, json={"status": 503, "times": None})
    assert r.json() == {"faults": 1}
    assert client.post(CHAT, headers=AUTH, json={"messages": [user("x")]}).status_code == 503
    assert client.delete("/_emulator/faults", headers=AUTH).json() == {"faults": 0}
    assert client.post(CHAT, headers=AUTH, json={"messages": [user("x")]}).status_code == 200


def test_bad_faults_are_400(client: TestClient):
    unknown = client.post("/_emulator/faults", headers=AUTH, json={"stauts": 500})
    invalid = client.post("/_emulator/faults", headers=AUTH, json={"endpoint": "nowhere"})
    not_object = client.post("/_emulator/faults", headers=AUTH, json=[1])
    assert unknown.status_code == invalid.status_code == not_object.status_code == 400
    assert "stauts" in unknown.json()["error"]
    assert "endpoint" in invalid.json()["error"]


def test_get_session_over_http(client: TestClient):
    client.post(SESSION, headers=AUTH, json={"session_id": "a/b", "variables": {"k": "v"}})
    client.post(CHAT, headers={**AUTH, "X-Session-ID": "a/b"}, json={"messages": [user("x")]})
    r = client.get("/_emulator/sessions/a%2Fb", headers=AUTH)
    assert r.json() == {
        "session_id": "a/b",
        "variables": {"k": "v"},
        "turns": 1,
        "created_by": "session_endpoint",
    }
    missing = client.get("/_emulator/sessions/none", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json() == {"error": "session not found"}


def test_reset_over_http(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=500))
    client.post(SESSION, headers=AUTH, json={"session_id": "s"})
    assert client.post("/_emulator/reset", headers=AUTH).status_code == 200
    assert emulator.sessions() == []
    assert emulator.requests == []
    assert client.post(CHAT, headers=AUTH, json={"messages": [user("x")]}).status_code == 200


def test_admin_calls_are_not_recorded(client: TestClient, emulator: PathorsEmulator):
    client.get("/_emulator/health")
    client.get("/_emulator/sessions/x", headers=AUTH)
    assert emulator.requests == []


def test_python_controls(emulator: PathorsEmulator, client: TestClient):
    emulator.inject(Fault(status=500, times=None))
    emulator.clear_faults()
    client.post(CHAT, headers={**AUTH, "X-Session-ID": "p"}, json={"messages": [user("x")]})
    assert [s.session_id for s in emulator.sessions()] == ["p"]
    emulator.reset()
    assert emulator.session("p") is None
    assert emulator.requests == []
    assert emulator.project_id == "test-project"
    assert emulator.api_key == "test-key"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"latency": 1e9}, "latency must be a number of seconds from 0 to 600"),
        ({"stall_after": 1, "stall_seconds": 86_400}, "stall_seconds must be a number"),
        ({"chunk_latency": "1"}, "chunk_latency must be a number"),
        ({"status": 204}, "status must be an HTTP status from 200 to 599"),
        ({"status": 101}, "status must be an HTTP status from 200 to 599"),
        ({"status": 500.5}, "status must be an HTTP status"),
        ({"status": True}, "status must be an HTTP status"),
        ({"message": 5}, "message must be a string"),
        ({"retry_after": "soon"}, "retry_after must be a finite number"),
        ({"times": 1.5}, "times must be an integer"),
        ({"cut_after": -1}, "cut_after must be an integer >= 0"),
        ({"malformed": "yes"}, "malformed must be true or false"),
        ({"probability": 2}, "probability must be a number from 0 to 1"),
        ({"session_id": ["s"]}, "session_id must be a string"),
    ],
)
def test_fault_values_that_would_break_a_response_are_400(
    client: TestClient, fault: dict[str, object], error: str
):
    r = client.post("/_emulator/faults", headers=AUTH, json=fault)
    assert r.status_code == 400
    assert error in r.json()["error"]
    assert client.post(CHAT, headers=AUTH, json={"messages": [user("x")]}).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [b'{"latency": NaN}', b'{"retry_after": Infinity}', b"[" * 5000 + b"]" * 5000, b"\xff"],
)
def test_fault_bodies_that_are_not_strict_json_are_400(client: TestClient, raw: bytes):
    r = client.post("/_emulator/faults", headers=AUTH, content=raw)
    assert r.status_code == 400
    assert r.json()["error"].startswith("Invalid request body")


def test_a_fault_message_must_be_encodable():
    with pytest.raises(ValueError, match="lone surrogates"):
        Fault(status=500, message="\ud800")


def test_pending_faults_are_bounded(emulator: PathorsEmulator, client: TestClient):
    for _ in range(MAX_FAULTS):
        emulator.inject(Fault(status=503))
    r = client.post("/_emulator/faults", headers=AUTH, json={"status": 503})
    assert r.status_code == 400
    assert r.json() == {"error": f"at most {MAX_FAULTS} faults may be pending"}


def test_wrong_methods_and_unroutable_paths_get_json(client: TestClient):
    wrong_method = client.put("/_emulator/faults", headers=AUTH)  # reaches no route
    assert wrong_method.status_code == 404
    assert wrong_method.json() == {"error": "not found"}
    newline = client.get("/_emulator/sessions/a%0Ab", headers=AUTH)  # no route matches "\n"
    assert newline.status_code == 404
    assert newline.json() == {"error": "not found"}
    chat = client.post(
        "/api/project/test-project%0A/integration/api/chat/completions",
        headers=AUTH,
        json={"messages": [user("x")]},
    )
    assert chat.status_code == 404
    assert chat.headers["content-type"] == "application/json"
