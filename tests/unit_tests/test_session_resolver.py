"""resolve_session: the one rule that picks a call's session, as a table of cases."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_pathors._session_resolver import (
    Endpoint,
    SessionRules,
    resolve_session,
    thread_session_id,
)

ENDPOINT = Endpoint.of("https://pathors.test/", "proj-1")
VARS = {"userName": "Ada"}


def reply(session: str, reply_id: str = "r1", **overrides: Any) -> AIMessage:
    """A reply stamped the way ChatPathors stamps its results."""
    meta = {
        "model_provider": "pathors",
        "pathors_project_id": "proj-1",
        "pathors_base_url": "https://pathors.test",
        "session_id": session,
        "pathors_reply_id": reply_id,
    }
    meta.update(overrides)
    return AIMessage("ok", response_metadata={k: v for k, v in meta.items() if v is not None})


H = HumanMessage("hi")
CHAT = [H, reply("s-hist", "r1"), H]

# (case, messages, rules, call kwargs, expected (session_id, source, create, history_reply))
CASES: list[tuple[str, list[BaseMessage], SessionRules, dict[str, Any], tuple[Any, ...]]] = [
    ("nothing: the server assigns", [H], SessionRules(), {}, (None, "server", False, None)),
    (
        "call wins over all",
        CHAT,
        SessionRules("s-model", VARS, from_thread=True),
        {"call_session_id": "s-call", "thread_id": "t"},
        ("s-call", "call", False, None),
    ),
    (
        "call takes only call variables",
        [H],
        SessionRules("s-model", VARS),
        {"call_session_id": "s-call", "call_variables": {"a": 1}},
        ("s-call", "call", True, None),
    ),
    ("model over history", CHAT, SessionRules("s-model"), {}, ("s-model", "model", False, None)),
    (
        "model with variables is created",
        [H],
        SessionRules("s-model", VARS),
        {},
        ("s-model", "model", True, None),
    ),
    ("history: last stamped reply", CHAT, SessionRules(), {}, ("s-hist", "history", False, "r1")),
    (
        "history: the last of several",
        [H, reply("old", "r0"), H, reply("s-hist", "r1"), H],
        SessionRules(),
        {},
        ("s-hist", "history", False, "r1"),
    ),
    (
        "history: tool loop",
        [H, reply("s-hist", "r1"), ToolMessage("72F", tool_call_id="c1")],
        SessionRules(),
        {},
        ("s-hist", "history", False, "r1"),
    ),
    (
        "history over thread",
        CHAT,
        SessionRules(from_thread=True),
        {"thread_id": "t"},
        ("s-hist", "history", False, "r1"),
    ),
    ("history off", CHAT, SessionRules(from_history=False), {}, (None, "server", False, None)),
    (
        "history off, variables: new",
        CHAT,
        SessionRules(variables=VARS, from_history=False),
        {},
        ("<fresh>", "new", True, None),
    ),
    (
        "history skips another provider",
        [H, AIMessage("x", response_metadata={"model_provider": "openai", "session_id": "s-x"}), H],
        SessionRules(),
        {},
        (None, "server", False, None),
    ),
    (
        "history skips unstamped",
        [H, AIMessage("x"), H],
        SessionRules(),
        {},
        (None, "server", False, None),
    ),
    (
        "history skips another project",
        [H, reply("s-x", pathors_project_id="proj-2"), H],
        SessionRules(),
        {},
        (None, "server", False, None),
    ),
    (
        "history skips another base URL",
        [H, reply("s-x", pathors_base_url="https://other"), H],
        SessionRules(),
        {},
        (None, "server", False, None),
    ),
    (
        "history skips a reply without session",
        [H, reply("s-x", session_id=None), H],
        SessionRules(),
        {},
        (None, "server", False, None),
    ),
    (
        "history: older ours behind a foreign reply",
        [H, reply("s-hist"), H, AIMessage("x"), H],
        SessionRules(),
        {},
        ("s-hist", "history", False, "r1"),
    ),
    (
        "thread",
        [H],
        SessionRules(from_thread=True),
        {"thread_id": "t"},
        (thread_session_id("t", True), "thread", False, None),
    ),
    (
        "thread with variables is created",
        [H],
        SessionRules(variables=VARS, from_thread=True),
        {"thread_id": "t"},
        (thread_session_id("t", True), "thread", True, None),
    ),
    (
        "thread by function",
        [H],
        SessionRules(from_thread=lambda t: f"app-{t}"),
        {"thread_id": "7"},
        ("app-7", "thread", False, None),
    ),
    (
        "thread id but thread off",
        [H],
        SessionRules(),
        {"thread_id": "t"},
        (None, "server", False, None),
    ),
    ("model variables: new", [H], SessionRules(variables=VARS), {}, ("<fresh>", "new", True, None)),
    (
        "call variables: new",
        [H],
        SessionRules(),
        {"call_variables": {}},
        ("<fresh>", "new", True, None),
    ),
    (
        "explicit id sees its own reply",
        CHAT,
        SessionRules(),
        {"call_session_id": "s-hist"},
        ("s-hist", "call", False, "r1"),
    ),
]


@pytest.mark.parametrize(
    ("case", "messages", "rules", "call", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_resolution_table(
    case: str,
    messages: list[BaseMessage],
    rules: SessionRules,
    call: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    resolved = resolve_session(messages, endpoint=ENDPOINT, rules=rules, **call)
    session_id, source, create, history_reply = expected
    if session_id == "<fresh>":
        assert resolved.session_id is not None
        assert resolved.session_id.startswith("lc-")
    else:
        assert resolved.session_id == session_id
    assert (resolved.source, resolved.create, resolved.history_reply) == (
        source,
        create,
        history_reply,
    )


def test_known_variables_travel_with_every_source_but_call_takes_only_its_own() -> None:
    model = SessionRules(variables=VARS)
    assert resolve_session(CHAT, endpoint=ENDPOINT, rules=model).variables == VARS
    call = resolve_session([H], endpoint=ENDPOINT, rules=model, call_session_id="s")
    assert call.variables is None


def test_each_new_conversation_gets_its_own_session() -> None:
    rules = SessionRules(variables=VARS)
    ids = {resolve_session([H], endpoint=ENDPOINT, rules=rules).session_id for _ in range(50)}
    assert len(ids) == 50


def test_thread_derivation_is_stable_valid_and_hides_the_thread_id() -> None:
    sid = thread_session_id("user 42 / ünïcode\n", True)
    assert sid == thread_session_id("user 42 / ünïcode\n", True)
    assert sid != thread_session_id("user 43", True)
    assert sid.startswith("lc-thread-")
    assert all("!" <= ch <= "~" for ch in sid)
    assert "user" not in sid  # a digest, not the thread id
    assert len(sid) == len("lc-thread-") + 32


def test_a_thread_function_returning_a_bad_id_is_refused() -> None:
    with pytest.raises(ValueError, match="visible ASCII"):
        thread_session_id("t", lambda t: f"bad id {t}")


@pytest.mark.parametrize("bad", ["a b", "x\r\nInjected: 1", ""])
def test_invalid_ids_are_refused_from_call_and_history(bad: str) -> None:
    with pytest.raises(ValueError, match="session_id"):
        resolve_session([H], endpoint=ENDPOINT, rules=SessionRules(), call_session_id=bad)
    with pytest.raises(ValueError, match="session_id"):
        resolve_session([H, reply(bad), H], endpoint=ENDPOINT, rules=SessionRules())


def test_endpoint_stamp_drops_credentials_and_trailing_slash() -> None:
    endpoint = Endpoint.of("https://user:secret@pathors.test/base/?q=1#f", "p")
    assert endpoint.base_url == "https://pathors.test/base"
    assert "secret" not in str(endpoint.stamp())
