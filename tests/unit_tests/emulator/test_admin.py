"""Admin routes for out-of-process control, and the emulator's own control methods."""

from __future__ import annotations

from starlette.testclient import TestClient

from langchain_pathors.emulator import Fault, PathorsEmulator

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
