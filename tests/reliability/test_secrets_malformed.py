"""Secrets over real HTTP when things are malformed or fail: nothing leaks, nothing is kept.

- A malformed key or header value is refused when the model is built, so it reaches no
  socket, no log record (every logger at DEBUG), no traceback.
- An error that leaves a call keeps no live httpx request (with its Authorization header)
  on its cause chain, whatever failed: a refused connection, a read timeout, a cut stream,
  a dropped connection; sync and async, streamed and not, in a session or not.
- A server error that echoes a session variable's value does not carry it into the error,
  the callbacks (`on_llm_error`, `on_retry`), the traces or the logs.
- Variables passed as `SessionVariables` (or through `bind`) reach the server and nothing
  else: not `repr`, not `dumps`, not a trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumps
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool

from langchain_pathors import ChatPathors, PathorsError, SessionVariables
from langchain_pathors.emulator import Fault, PathorsEmulator
from tests.leaks import authorized_requests, error_texts
from tests.tracing import RunCollector

from ._quiet_emulator import emu, quiet_emu
from ._raw_server import RawServer
from .conftest import API_KEY, PROJECT, free_port
from .test_secrets import Everything, Records, debug_logs

__all__ = ["debug_logs", "emu", "quiet_emu"]  # fixtures, imported to be used here

SECRET_VARIABLE = "var-canary-acct-0042-7788"
SECRET_HEADER = "hdr-canary-malformed-9911"
CANARIES = (API_KEY, SECRET_VARIABLE, SECRET_HEADER)
ALL_MODES = ("invoke", "ainvoke", "stream", "astream")


def leaks(*texts: object) -> list[str]:
    joined = "\n".join(str(t) for t in texts)
    return [canary for canary in CANARIES if canary in joined]


def log_leaks(records: Records) -> list[str]:
    return leaks(*records.texts())


def call(llm: ChatPathors, mode: str, config: Any = None, **kwargs: Any) -> str:
    """Run one call the way `mode` names, and return the text it produced."""

    async def run() -> str:
        if mode == "ainvoke":
            return str((await llm.ainvoke("Hi", config=config, **kwargs)).content)
        parts = [str(c.content) async for c in llm.astream("Hi", config=config, **kwargs)]
        return "".join(parts)

    if mode == "invoke":
        return str(llm.invoke("Hi", config=config, **kwargs).content)
    if mode == "stream":
        return "".join(str(c.content) for c in llm.stream("Hi", config=config, **kwargs))
    return asyncio.run(run())


# --------------------------------------------------------------------------- malformed values
MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("key + LF", {"api_key": API_KEY + "\n"}),
    ("key + CRLF", {"api_key": API_KEY + "\r\n"}),
    ("key with NUL", {"api_key": API_KEY[:10] + "\x00" + API_KEY[10:]}),
    ("non-ASCII key", {"api_key": API_KEY + "\u00a0"}),
    ("Bearer key", {"api_key": f"Bearer {API_KEY}"}),
    ("header + LF", {"default_headers": {"X-Upstream-Auth": SECRET_HEADER + "\n"}}),
    ("header CRLF injection", {"default_headers": {"X-A": SECRET_HEADER + "\r\nX-Evil: 1"}}),
    ("non-ASCII header", {"default_headers": {"X-Upstream-Auth": SECRET_HEADER + "\u2026"}}),
    ("header of the wrong type", {"default_headers": {"X-A": 7, "X-B": SECRET_HEADER}}),
]


@pytest.mark.parametrize(("name", "settings"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_key_or_header_is_refused_and_leaves_no_trace(
    debug_logs: Records, name: str, settings: dict[str, Any]
) -> None:
    with RawServer() as server:
        params: dict[str, Any] = {
            "base_url": server.base_url,
            "project_id": PROJECT,
            "api_key": API_KEY,
            **settings,
        }
        with pytest.raises((PathorsError, ValueError)) as info:
            ChatPathors(**params)
        assert server.received == []
    assert leaks(error_texts(info.value)) == []
    assert log_leaks(debug_logs) == []


# --------------------------------------------------------------------------- no live request kept
def refused(emu: PathorsEmulator, raw: RawServer) -> dict[str, Any]:
    return {"base_url": f"http://127.0.0.1:{free_port()}"}


def read_timeout(emu: PathorsEmulator, raw: RawServer) -> dict[str, Any]:
    emu.inject(Fault(latency=1.0, times=None))
    return {"timeout": 0.3}


def cut_stream(emu: PathorsEmulator, raw: RawServer) -> dict[str, Any]:
    emu.inject(Fault(cut_after=1, times=None))  # streams only: a plain call succeeds
    return {}


def dropped(emu: PathorsEmulator, raw: RawServer) -> dict[str, Any]:
    raw.script = lambda request: [None]  # reads the request, hangs up without a word
    return {"base_url": raw.base_url}


FAILURES = [refused, read_timeout, cut_stream, dropped]


@pytest.fixture(scope="module")
def raw() -> Iterator[RawServer]:
    with RawServer() as server:
        yield server


@pytest.mark.parametrize("pinned", [False, True], ids=["no session", "in a session"])
@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.__name__)
@pytest.mark.usefixtures("sleeps")
def test_failed_calls_keep_no_live_request_and_show_no_key(
    emu: PathorsEmulator, raw: RawServer, debug_logs: Records, failure: Any, pinned: bool
) -> None:
    params: dict[str, Any] = {
        "base_url": emu.base_url,
        "project_id": PROJECT,
        "api_key": API_KEY,
        "default_headers": {"X-Upstream-Auth": f"Bearer {SECRET_HEADER}"},
        "max_retries": 1,
    }
    params.update(failure(emu, raw))
    llm = ChatPathors(**params)
    handler, tracer = Everything(), RunCollector()
    session = {"session_id": "s-chain"} if pinned else {}
    for mode in ("stream", "astream") if failure is cut_stream else ALL_MODES:
        with pytest.raises(PathorsError) as info:
            call(llm, mode, {"callbacks": [handler, tracer]}, **session)
        assert authorized_requests(info.value) == [], mode
        assert leaks(error_texts(info.value)) == [], mode
    assert leaks(handler.seen, *(run.model_dump_json() for run in tracer.runs)) == []
    assert log_leaks(debug_logs) == []
    llm.close()


# --------------------------------------------------------------------------- echoed variables
ECHO = f"session variable acct={SECRET_VARIABLE} failed validation"


def variables_model(emu: PathorsEmulator, **kwargs: Any) -> ChatPathors:
    return ChatPathors(
        base_url=emu.base_url,
        project_id=PROJECT,
        api_key=API_KEY,
        session_id="s-vars",
        session_variables={"acct": SECRET_VARIABLE},
        **kwargs,
    )


ECHOES: list[tuple[str, Fault, tuple[str, ...]]] = [
    ("session create 400", Fault(status=400, message=ECHO, endpoint="session"), ALL_MODES),
    ("chat 400", Fault(status=400, message=ECHO), ALL_MODES),
    ("stream error event", Fault(error_event_after=1, message=ECHO), ("stream", "astream")),
    ("chat 500 in a session", Fault(status=500, message=ECHO), ("invoke", "ainvoke")),
]


@pytest.mark.parametrize(("name", "fault", "modes"), ECHOES, ids=[e[0] for e in ECHOES])
def test_server_echo_of_a_variable_is_redacted_everywhere(
    emu: PathorsEmulator, debug_logs: Records, name: str, fault: Fault, modes: tuple[str, ...]
) -> None:
    handler, tracer = Everything(), RunCollector()
    for mode in modes:
        emu.reset()
        emu.inject(Fault(**fault.to_dict()))
        llm = variables_model(emu)  # a fresh model: its session is created on first use
        with pytest.raises(PathorsError) as info:
            call(llm, mode, {"callbacks": [handler, tracer]})
        assert leaks(error_texts(info.value)) == [], mode
        assert "***" in info.value.message, mode  # still readable: only the value is gone
        llm.close()
    assert leaks(handler.seen, *(run.model_dump_json() for run in tracer.runs)) == []
    assert log_leaks(debug_logs) == []


@pytest.mark.usefixtures("sleeps")
def test_retried_echo_reaches_on_retry_redacted(emu: PathorsEmulator, debug_logs: Records) -> None:
    emu.inject(Fault(status=503, message=ECHO, times=2))
    handler, tracer = Everything(), RunCollector()
    llm = variables_model(emu)
    assert llm.invoke("Hi", config={"callbacks": [handler, tracer]}).content == "You said: Hi"
    retries = [seen for seen in handler.seen if seen[0] == "retry"]
    assert len(retries) == 2
    assert all("***" in seen[2] for seen in retries)
    assert leaks(handler.seen, *(run.model_dump_json() for run in tracer.runs)) == []
    assert log_leaks(debug_logs) == []
    llm.close()


# --------------------------------------------------------------------------- SessionVariables
def test_session_variables_in_a_chain_reach_the_server_and_nothing_else(
    emu: PathorsEmulator, debug_logs: Records
) -> None:
    llm = ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "{q}")])
    chain = prompt | llm.bind(
        session_id="s-chain-vars", session_variables=SessionVariables(acct=SECRET_VARIABLE)
    )
    tracer = RunCollector()
    assert chain.invoke({"q": "Hi"}, config={"callbacks": [tracer]}).content == "You said: Hi"

    async def more() -> str:
        parts = [str(c.content) async for c in chain.astream({"q": "Hi"})]
        return "".join(parts)

    assert asyncio.run(more()) == "You said: Hi"
    record = emu.session("s-chain-vars")
    assert record is not None
    assert record.variables == {"acct": SECRET_VARIABLE}  # sent, once
    assert record.turns == 2
    assert leaks(repr(chain), dumps(chain), *(r.model_dump_json() for r in tracer.runs)) == []
    assert log_leaks(debug_logs) == []
    llm.close()


def test_bind_with_a_plain_dict_is_hidden_too(emu: PathorsEmulator) -> None:
    llm = ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY)
    user_llm = llm.bind(session_id="s-plain", session_variables={"acct": SECRET_VARIABLE})
    assert leaks(repr(user_llm), dumps(user_llm)) == []
    assert user_llm.invoke("Hi").content == "You said: Hi"
    record = emu.session("s-plain")
    assert record is not None
    assert record.variables == {"acct": SECRET_VARIABLE}
    llm.close()


@tool
def account_balance(account: str) -> str:
    """The balance of one of the user's accounts."""
    return f"{account}: 12 EUR"


BINDINGS = {
    "bind_tools, then bind": lambda llm, **kw: llm.bind_tools([account_balance]).bind(**kw),
    "bind, then bind again": lambda llm, **kw: llm.bind(session_id=kw.pop("session_id")).bind(**kw),
    "bind_tools, with_config, bind": lambda llm, **kw: (
        llm.bind_tools([account_balance]).with_config(run_name="support").bind(**kw)
    ),
}


@pytest.mark.parametrize("binding", BINDINGS)
def test_variables_bound_on_a_binding_are_hidden_too(
    emu: PathorsEmulator, debug_logs: Records, binding: str
) -> None:
    """A plain dict bound after `bind_tools` (LangChain's own binding) is hidden as well."""
    llm = ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=API_KEY)
    session_id = "s-rebound"
    user_llm = BINDINGS[binding](
        llm, session_id=session_id, session_variables={"acct": SECRET_VARIABLE}
    )
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | user_llm
    handler, tracer = Everything(), RunCollector()
    config: Any = {"callbacks": [handler, tracer]}
    for mode in ALL_MODES:
        assert call(user_llm, mode, config) == "You said: Hi", mode
    assert chain.invoke({"q": "Hi"}, config=config).content == "You said: Hi"

    record = emu.session(session_id)
    assert record is not None
    assert record.variables == {"acct": SECRET_VARIABLE}  # sent, once
    assert record.turns == 5
    assert len(tracer.runs) == 5
    assert leaks(repr(user_llm), str(user_llm), dumps(user_llm), repr(chain), dumps(chain)) == []
    assert leaks(handler.seen, *(run.model_dump_json() for run in tracer.runs)) == []
    assert log_leaks(debug_logs) == []
    llm.close()


def test_no_logger_at_debug_sees_variables_or_key_on_success(
    emu: PathorsEmulator, debug_logs: Records
) -> None:
    llm = variables_model(emu, default_headers={"X-Upstream-Auth": f"Bearer {SECRET_HEADER}"})
    for mode in ALL_MODES:
        assert call(llm, mode) == "You said: Hi"
    logging.getLogger("langchain_pathors").debug("probe")  # the capture works
    assert any(r.getMessage() == "probe" for r in debug_logs.records)
    assert log_leaks(debug_logs) == []
    llm.close()
