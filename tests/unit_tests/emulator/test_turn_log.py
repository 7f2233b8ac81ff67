"""The turn log: which chat requests landed in which session, in order, over HTTP and in Python."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from langchain_pathors.emulator import Fault, PathorsEmulator, TurnRecord
from langchain_pathors.emulator._turn_log import TurnLog

from .conftest import AUTH, CHAT, user

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chat(client: TestClient, session_id: str | None, messages: list[dict[str, Any]], **body: Any):
    headers = {**AUTH, **({"X-Session-ID": session_id} if session_id else {})}
    return client.post(CHAT, headers=headers, json={"messages": messages, **body})


def test_a_tool_round_trip_is_two_turns_of_one_session(
    client: TestClient, emulator: PathorsEmulator
):
    question = user("Use get_weather for 'Oslo'")
    first = chat(client, "s1", [question], tools=[WEATHER_TOOL])
    call = first.json()["choices"][0]["message"]["tool_calls"][0]
    result = {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}
    assistant = {"role": "assistant", "content": "", "tool_calls": [call]}
    chat(client, "s1", [question, assistant, result], tools=[WEATHER_TOOL], stream=True)

    turns = emulator.turns("s1")
    assert [(t.seq, t.turn) for t in turns] == [(1, 1), (2, 2)]
    asked, answered = turns
    assert asked.roles == ("user",)
    assert asked.tools == ("get_weather",)
    assert asked.reply_tool_calls == ("get_weather",)
    assert not asked.has_tool_results
    assert not asked.stream
    assert answered.roles == ("user", "assistant", "tool")
    assert answered.message_count == 3
    assert answered.tool_results == (call["id"],)
    assert answered.has_tool_results
    assert answered.stream
    assert answered.reply_tool_calls == ()


def test_turns_of_several_sessions_keep_the_arrival_order(
    client: TestClient, emulator: PathorsEmulator
):
    chat(client, "a", [user("1")])
    chat(client, "b", [user("2")])
    assigned = chat(client, None, [user("3")]).headers["x-session-id"]
    chat(client, "a", [user("4")])

    assert [(t.session_id, t.turn) for t in emulator.turns()] == [
        ("a", 1),
        ("b", 1),
        (assigned, 1),  # a server-assigned session is logged under its new id
        ("a", 2),
    ]
    grouped = emulator.turns_by_session()
    assert list(grouped) == ["a", "b", assigned]
    assert [t.seq for t in grouped["a"]] == [1, 4]


def test_only_trailing_tool_messages_count_as_results_sent_back(
    client: TestClient, emulator: PathorsEmulator
):
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    old_round = [
        user("q"),
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny."},
    ]
    chat(client, "s", [*old_round, user("thanks")], tools=[WEATHER_TOOL])
    (turn,) = emulator.turns("s")
    assert turn.roles == ("user", "assistant", "tool", "assistant", "user")
    assert turn.tool_results == ()  # the old result is history, not a result sent now


def test_a_refused_turn_is_logged_without_a_reply(client: TestClient, emulator: PathorsEmulator):
    emulator.inject(Fault(status=500))
    assert chat(client, "s", [user("x")]).status_code == 500
    assert chat(client, "s", [user("x")]).status_code == 200
    refused, retried = emulator.turns("s")
    assert refused.reply_tool_calls is None
    assert retried.reply_tool_calls == ()
    assert (refused.turn, retried.turn) == (1, 2)


def test_a_failing_pathway_leaves_the_turn_without_a_reply():
    def broken(request: Any) -> str:
        raise RuntimeError("pathway bug")

    emulator = PathorsEmulator(broken)
    with TestClient(emulator.app, base_url="http://emulator") as client:
        assert chat(client, "s", [user("x")]).status_code == 500
    (turn,) = emulator.turns("s")
    assert turn.reply_tool_calls is None


def test_invalid_requests_are_not_turns(client: TestClient, emulator: PathorsEmulator):
    assert chat(client, "s", []).status_code == 400
    assert client.post(CHAT, json={"messages": [user("x")]}).status_code == 401
    assert emulator.turns() == []


def test_the_admin_route_serves_the_log(client: TestClient):
    chat(client, "a/b", [user("x")])
    chat(client, "c", [user("y")])
    everything = client.get("/_emulator/turns", headers=AUTH).json()["turns"]
    assert [t["session_id"] for t in everything] == ["a/b", "c"]
    only = client.get("/_emulator/turns", params={"session_id": "a/b"}, headers=AUTH).json()
    assert only == {
        "turns": [
            {
                "seq": 1,
                "session_id": "a/b",
                "turn": 1,
                "roles": ["user"],
                "tool_results": [],
                "tools": [],
                "stream": False,
                "reply_tool_calls": [],
                "message_count": 1,
            }
        ]
    }
    assert client.get("/_emulator/turns").status_code == 401


def test_reset_forgets_the_log_and_restarts_seq(client: TestClient, emulator: PathorsEmulator):
    chat(client, "s", [user("x")])
    emulator.reset()
    assert emulator.turns() == []
    chat(client, "t", [user("y")])
    assert [t.seq for t in emulator.turns()] == [1]


def test_the_log_is_bounded_oldest_first_out():
    log = TurnLog(max_turns=3)
    for i in range(5):
        log.add(f"s{i}", 1, [user("x")], [], stream=False)
    assert [t.session_id for t in log.turns()] == ["s2", "s3", "s4"]
    log.set_reply(1, ["dropped"])  # a turn that fell out of the log is ignored
    assert all(t.reply_tool_calls is None for t in log.turns())


def test_records_are_snapshots():
    log = TurnLog()
    seq = log.add("s", 1, [user("x")], [], stream=False)
    before = log.turns()[0]
    log.set_reply(seq, ["f"])
    assert before.reply_tool_calls is None
    assert isinstance(log.turns()[0], TurnRecord)
    assert log.turns()[0].reply_tool_calls == ("f",)
