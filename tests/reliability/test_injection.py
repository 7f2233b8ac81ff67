"""Injection: user-supplied ids cannot smuggle headers, change the route or follow a redirect.

Witnesses: the emulator's request log (nothing is sent for a rejected id; the path it
received for an odd project id), and a second loopback server that must receive nothing
when the first answers with a redirect to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import ValidationError

from langchain_pathors import (
    ChatPathors,
    PathorsAPIStatusError,
    PathorsNotFoundError,
    PathorsOutcomeUnknownError,
)
from langchain_pathors.emulator import PathorsEmulator

from ._raw_server import RawServer, http_reply
from .conftest import API_KEY, PROJECT, ModelFactory

BAD_SESSION_IDS = {
    "crlf-header": "abc\r\nX-Injected: 1",
    "lf": "abc\nX-Injected: 1",
    "cr": "abc\rdef",
    "nul": "abc\x00def",
    "tab": "abc\tdef",
    "space": "abc def",
    "del": "abc\x7f",
    "escape": "abc\x1b[31m",
    "non-ascii": "sessión",
    "unicode-line-separator": "abc\u2028def",
    "empty": "",
    "oversized": "s" * 257,
    "huge": "s" * 100_000,
}


def no_requests(emu: PathorsEmulator) -> None:
    assert emu.requests == []
    assert emu.sessions() == []


# ----------------------------------------------------------------------------- session ids
@pytest.mark.parametrize("name", list(BAD_SESSION_IDS))
@pytest.mark.parametrize("how", ["invoke", "stream", "bind", "create_session", "variables"])
def test_bad_session_id_is_rejected_before_any_request(
    emu: PathorsEmulator, make_llm: ModelFactory, name: str, how: str
) -> None:
    session_id = BAD_SESSION_IDS[name]
    llm = make_llm()
    with pytest.raises(ValueError, match="session_id") as info:
        if how == "invoke":
            llm.invoke("Hi", session_id=session_id)
        elif how == "stream":
            list(llm.stream("Hi", session_id=session_id))
        elif how == "bind":
            llm.bind(session_id=session_id).invoke("Hi")
        elif how == "create_session":
            llm.create_session(session_id, {"plan": "pro"})
        else:
            llm.invoke("Hi", session_id=session_id, session_variables={"plan": "pro"})
    assert "X-Injected" not in str(info.value)  # the message does not echo the payload
    no_requests(emu)


@pytest.mark.parametrize("name", ["crlf-header", "nul", "oversized", "non-ascii"])
async def test_bad_session_id_is_rejected_before_any_request_async(
    emu: PathorsEmulator, make_llm: ModelFactory, name: str
) -> None:
    llm = make_llm()
    with pytest.raises(ValueError, match="session_id"):
        await llm.ainvoke("Hi", session_id=BAD_SESSION_IDS[name])
    with pytest.raises(ValueError, match="session_id"):
        async for _ in llm.astream("Hi", session_id=BAD_SESSION_IDS[name]):
            pass
    with pytest.raises(ValueError, match="session_id"):
        await llm.acreate_session(BAD_SESSION_IDS[name])
    no_requests(emu)
    await llm.aclose()


@pytest.mark.parametrize("name", ["crlf-header", "oversized", "space"])
def test_bad_session_id_on_the_model_is_rejected_at_construction(
    emu: PathorsEmulator, name: str
) -> None:
    with pytest.raises(ValidationError):
        ChatPathors(
            base_url=emu.base_url,
            project_id=PROJECT,
            api_key=API_KEY,
            session_id=BAD_SESSION_IDS[name],
        )
    no_requests(emu)


def test_longest_allowed_session_id_goes_through_untouched(
    emu: PathorsEmulator, make_llm: ModelFactory
) -> None:
    session_id = "!~" + "x" * 252 + "#%"  # 256 visible ASCII characters
    reply = make_llm().invoke("Hi", session_id=session_id)
    assert reply.response_metadata["session_id"] == session_id
    assert emu.requests[0].headers["x-session-id"] == session_id
    assert emu.session(session_id).turns == 1  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- project ids
TRICKY_PROJECTS = [
    "../other",
    "a/../../b",
    "a/b",
    "%2e%2e",
    "%2e%2e%2fadmin",
    "..%2f",
    "x?session_id=evil",
    "x#fragment",
    "x;param",
    "x%00y",
    "./.",
    "...",
    "_emulator/reset",
    "\\..\\admin",
    "p@evil.example:80",
    "x y",
    "ünï",
]


@pytest.mark.parametrize("project_id", TRICKY_PROJECTS)
def test_project_id_stays_one_quoted_path_segment(
    emu: PathorsEmulator, make_llm: ModelFactory, project_id: str
) -> None:
    llm = make_llm(project_id=project_id)
    with pytest.raises(PathorsNotFoundError, match="project not found"):
        llm.invoke("Hi", session_id="s-proj")
    (request,) = emu.requests
    segment = quote(project_id, safe="")
    assert request.path == f"/api/project/{segment}/integration/api/chat/completions"
    assert request.path.split("/")[3] == segment  # exactly one segment, fully quoted
    assert emu.sessions() == []  # nothing reached a handler that changes state


@pytest.mark.parametrize("project_id", ["..", ".", " .. ", "a\r\nb", "a\x00b", ""])
def test_dot_segments_and_control_characters_are_refused_at_construction(
    emu: PathorsEmulator, project_id: str
) -> None:
    with pytest.raises((ValueError, ValidationError)):
        ChatPathors(base_url=emu.base_url, project_id=project_id, api_key=API_KEY)
    no_requests(emu)


@pytest.mark.parametrize("project_id", ["team/a?b#c", "%2e%2e", "ünï code/.."])
def test_odd_project_id_round_trips_to_a_server_that_has_it(project_id: str) -> None:
    """Quoted once by the client, unquoted once by the server: the same project."""
    with PathorsEmulator(project_id=project_id, api_key=API_KEY) as emu:
        llm = ChatPathors(base_url=emu.base_url, project_id=project_id, api_key=API_KEY)
        try:
            assert llm.invoke("Hi").content == "You said: Hi"
            assert llm.create_session("s-odd").session_id == "s-odd"
        finally:
            llm.close()
        assert [r.path.split("/")[3] for r in emu.requests] == [quote(project_id, safe="")] * 2


# ----------------------------------------------------------------------------- redirects
@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[RawServer, RawServer]]:
    """A server that redirects every request to a second one (which must see nothing)."""
    with RawServer() as redirecting, RawServer() as target:
        target.script = lambda request: http_reply(
            200, {"Content-Type": "application/json"}, [b'{"choices": []}']
        )
        yield redirecting, target


@pytest.fixture
def redirect_to(servers: tuple[RawServer, RawServer]) -> Any:
    redirecting, target = servers
    redirecting.clear()
    target.clear()

    def set_status(status: int) -> tuple[RawServer, RawServer]:
        location = f"{target.base_url}/api/project/{PROJECT}/integration/api/chat/completions"
        redirecting.script = lambda request: http_reply(
            status, {"Location": location, "Content-Length": "0"}
        )
        return redirecting, target

    return set_status


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("session_id", [None, "s-redirect"])
@pytest.mark.parametrize("mode", ["invoke", "stream", "create_session"])
def test_redirects_are_not_followed(
    redirect_to: Any, status: int, session_id: str | None, mode: str
) -> None:
    redirecting, target = redirect_to(status)
    llm = ChatPathors(base_url=redirecting.base_url, project_id=PROJECT, api_key=API_KEY)
    try:
        with pytest.raises(PathorsAPIStatusError, match="redirect") as info:
            if mode == "invoke":
                llm.invoke("Hi", session_id=session_id)
            elif mode == "stream":
                list(llm.stream("Hi", session_id=session_id))
            else:
                llm.create_session(session_id or "s-new")
    finally:
        llm.close()
    assert info.value.status_code == status
    assert not isinstance(info.value, PathorsOutcomeUnknownError)
    assert len(redirecting.received) == 1  # not retried either
    assert target.received == []  # the key and the session id went nowhere else


async def test_redirects_are_not_followed_async(redirect_to: Any) -> None:
    redirecting, target = redirect_to(307)
    llm = ChatPathors(base_url=redirecting.base_url, project_id=PROJECT, api_key=API_KEY)
    with pytest.raises(PathorsAPIStatusError):
        await llm.ainvoke("Hi", session_id="s-a")
    with pytest.raises(PathorsAPIStatusError):
        async for _ in llm.astream("Hi"):
            pass
    await llm.aclose()
    assert len(redirecting.received) == 2
    assert target.received == []


async def test_redirects_are_not_followed_even_by_clients_that_would(redirect_to: Any) -> None:
    """Injected clients configured to follow redirects still do not."""
    redirecting, target = redirect_to(308)
    sync_client = httpx.Client(follow_redirects=True)
    async_client = httpx.AsyncClient(follow_redirects=True)
    llm = ChatPathors(
        base_url=redirecting.base_url,
        project_id=PROJECT,
        api_key=API_KEY,
        http_client=sync_client,
        http_async_client=async_client,
    )
    with pytest.raises(PathorsAPIStatusError):
        llm.invoke("Hi", session_id="s-b")
    with pytest.raises(PathorsAPIStatusError):
        await llm.ainvoke("Hi", session_id="s-b")
    sync_client.close()
    await async_client.aclose()
    assert len(redirecting.received) == 2
    assert target.received == []
