"""Secrets over real HTTP: the key, auth headers and session variables never leak.

Every logger (the package's, httpx's, httpcore's, LangChain's, the emulator's uvicorn)
runs at DEBUG while real traffic flows: successes, retries, streams, errors whose
server message echoes the secrets. Then every place a secret could surface is searched
for the canaries: log records, exceptions (with their chained causes and tracebacks,
pickled too), callback arguments, traced runs, repr/str/model_dump/dumps.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps

from langchain_pathors import ChatPathors, PathorsError
from langchain_pathors.emulator import Fault, PathorsEmulator
from tests.tracing import RunCollector

from ._quiet_emulator import emu, quiet_emu
from .conftest import API_KEY, PROJECT

__all__ = ["emu", "quiet_emu"]  # fixtures, imported to be used here

SECRET_VARIABLE = "var-canary-ssn-31337"
SECRET_HEADER = "hdr-canary-4242"
CANARIES = (API_KEY, SECRET_VARIABLE, SECRET_HEADER)
# A server that echoes what it got, as misbehaving proxies and error pages do.
ECHO = f"rejected token {API_KEY} with header {SECRET_HEADER}"
LOGGERS = ("", "httpx", "httpcore", "langchain_pathors", "langchain_core", "uvicorn", "asyncio")


def leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        formatter = logging.Formatter()
        for record in self.records:
            yield f"{record.name} {record.getMessage()} {record.args!r}"
            if record.exc_info:
                yield formatter.formatException(record.exc_info)


@pytest.fixture
def debug_logs() -> Iterator[Records]:
    handler = Records()
    previous = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


class Everything(BaseCallbackHandler):
    """Keeps every argument of every callback it receives."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen.append(("start", serialized, messages, kwargs))

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.seen.append(("token", token, kwargs))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(("end", response, kwargs))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(("error", error, "".join(traceback.format_exception(error)), kwargs))

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        outcome = retry_state.outcome.exception() if retry_state.outcome else None
        self.seen.append(("retry", repr(outcome), str(outcome), kwargs))


def error_texts(error: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, args, attributes, the traceback
    with its chained causes, and its pickled form."""
    return [
        str(error),
        repr(error),
        repr(error.args),
        repr(vars(error)),
        "".join(traceback.format_exception(error)),
        repr(pickle.loads(pickle.dumps(error))),
    ]


def secret_model(emu: PathorsEmulator, **kwargs: Any) -> ChatPathors:
    return ChatPathors(
        base_url=emu.base_url,
        project_id=PROJECT,
        api_key=API_KEY,
        session_id="s-secret",
        session_variables={"ssn": SECRET_VARIABLE},
        default_headers={"X-Upstream-Auth": f"Bearer {SECRET_HEADER}"},
        timeout=0.5,
        **kwargs,
    )


# Faults whose calls fail, with the server echoing the secrets where it can.
FAILING: list[tuple[str, Fault, bool]] = [
    ("500 echo", Fault(status=500, message=ECHO), False),
    ("400 echo", Fault(status=400, message=ECHO), False),
    ("429 echo over the cap", Fault(status=429, message=ECHO, retry_after=600), False),
    ("stream error event echo", Fault(error_event_after=1, message=ECHO), True),
    ("stream error event echo, status", Fault(status=502, message=ECHO), True),
    ("cut stream", Fault(cut_after=2), True),
    ("malformed stream", Fault(malformed=True), True),
    ("malformed body", Fault(malformed=True), False),
    ("read timeout", Fault(latency=1.5), False),
]


def test_no_secret_in_logs_errors_callbacks_or_traces(
    emu: PathorsEmulator, debug_logs: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_pathors._retry_loop.sleep", lambda delay: None)
    llm = secret_model(emu)
    handler, tracer = Everything(), RunCollector()
    config: Any = {"callbacks": [handler, tracer]}
    errors: list[BaseException] = []

    # Successes, a retried 503, per-call variables, a stream, an explicit session create.
    emu.inject(Fault(status=503, retry_after=0, message=ECHO))
    assert llm.invoke("Hi", config=config).content == "You said: Hi"
    llm.invoke("Hi", session_id="s-2", session_variables={"ssn": SECRET_VARIABLE}, config=config)
    assert "".join(str(c.content) for c in llm.stream("a b", config=config)) == "You said: a b"
    llm.create_session("s-3", {"ssn": SECRET_VARIABLE})
    llm.batch(["x", "y"], config=config)

    for name, fault, stream in FAILING:
        emu.inject(Fault(**fault.to_dict()))
        with pytest.raises(PathorsError) as info:
            if stream:
                list(llm.stream("Hi", session_id=f"s-{len(errors)}", config=config))
            else:
                llm.invoke("Hi", session_id=f"s-{len(errors)}", config=config)
        errors.append(info.value)
        assert not leaks(" ".join(error_texts(info.value))), name

    async def async_calls() -> None:
        await llm.ainvoke("Hi", config=config)
        async for _ in llm.astream("Hi", config=config):
            pass
        emu.inject(Fault(status=500, message=ECHO))
        with pytest.raises(PathorsError) as info:
            await llm.ainvoke("Hi", config=config)
        errors.append(info.value)
        emu.inject(Fault(error_event_after=1, message=ECHO))
        with pytest.raises(PathorsError) as info:
            async for _ in llm.astream("Hi", config=config):
                pass
        errors.append(info.value)
        await llm.aclose()

    asyncio.run(async_calls())

    # The traffic really happened, with the secrets on the wire.
    assert len(emu.requests) > 15
    assert emu.session("s-2").variables == {"ssn": SECRET_VARIABLE}  # type: ignore[union-attr]
    assert all(r.headers.get("x-upstream-auth") for r in emu.requests)
    # ...and was logged at DEBUG by every layer.
    names = {record.name.split(".")[0] for record in debug_logs.records}
    assert {"httpx", "httpcore", "langchain_pathors"} <= names

    for text in debug_logs.texts():
        assert not leaks(text), text
    for error in errors:
        assert not leaks(" ".join(error_texts(error)))
    assert any(kind == "retry" for kind, *_ in handler.seen)
    assert any(kind == "error" for kind, *_ in handler.seen)
    for item in handler.seen:
        assert not leaks(repr(item)), item
    assert len(tracer.runs) >= 10
    for run in tracer.runs:
        assert not leaks(run.model_dump_json()), run.name
    # Traces say which variables were set, never their values.
    with_vars = [r for r in tracer.runs if r.extra.get("invocation_params", {}).get("session_id")]
    assert any(
        r.extra["invocation_params"].get("session_variable_names") == ["ssn"] for r in with_vars
    )
    for text in (repr(llm), str(llm), str(llm.model_dump()), llm.model_dump_json()):
        assert not leaks(text)
    assert not leaks(dumps(llm))
    assert not leaks(repr(dumpd(llm)))
    llm.close()


def test_error_messages_are_redacted_but_still_readable(emu: PathorsEmulator) -> None:
    """The server's message survives, with the key blanked out."""
    llm = secret_model(emu, max_retries=0)
    emu.inject(Fault(status=400, message=f"bad token {API_KEY}"))
    with pytest.raises(PathorsError) as info:
        llm.invoke("Hi")
    assert "bad token ***" in str(info.value)
    emu.inject(Fault(error_event_after=1, message=f"bad token {API_KEY}"))
    with pytest.raises(PathorsError) as info:
        list(llm.stream("Hi"))
    assert "bad token ***" in str(info.value)
    llm.close()
