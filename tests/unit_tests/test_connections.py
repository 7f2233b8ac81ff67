"""Shared pools: who shares what, per-instance headers and timeouts, loops, close, fork.

The shared clients get an `httpx.MockTransport` here (no sockets); which client is
shared, built, closed and forgotten is the package's own logic. Real sockets, reuse of
one connection and the drain after `[DONE]` are in tests/reliability/test_connection_reuse.py.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_pathors import ChatPathors, _deadline_sockets, _direct_send
from langchain_pathors import _connections as connections
from tests.unit_tests.conftest import API_KEY, PROJECT, completion, stream_response, text_stream

BASE = "https://pathors.test"


class Recorder:
    """What the shared clients were asked to send, and every shared client built."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sync_built: list[httpx.Client] = []
        self.async_built: list[httpx.AsyncClient] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if json.loads(request.content).get("stream"):
            return stream_response(text_stream(["a", "b"]))
        return httpx.Response(200, json=completion("ok"))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """A fresh registry whose shared clients answer from a MockTransport."""
    rec = Recorder()
    real_new_client = connections._new_client

    def new_client(kind: Any, key: connections.PoolKey) -> Any:
        client = real_new_client(kind, key)
        client._transport = httpx.MockTransport(rec.handler)  # answers sync and async
        client._mounts = {}
        (rec.sync_built if kind is httpx.Client else rec.async_built).append(client)
        return client

    monkeypatch.setattr(connections, "_new_client", new_client)
    monkeypatch.setattr(connections, "_REGISTRY", connections._Registry())
    yield rec
    connections._REGISTRY.close_all()


def model(**kwargs: Any) -> ChatPathors:
    params: dict[str, Any] = {"base_url": BASE, "project_id": PROJECT, "api_key": API_KEY}
    params.update(kwargs)
    return ChatPathors(**params)


# --------------------------------------------------------------------------- sharing
def test_instances_for_one_server_share_one_client_and_send_their_own_auth(
    recorder: Recorder,
) -> None:
    alice = model(api_key="key-alice", timeout=7)
    bob = model(api_key="key-bob", timeout=30)
    assert recorder.sync_built == []  # nothing until the first call
    alice.invoke("Hi")
    bob.invoke("Hi")
    alice.invoke("again")
    assert len(recorder.sync_built) == 1
    auth = [r.headers["authorization"] for r in recorder.requests]
    assert auth == ["Bearer key-alice", "Bearer key-bob", "Bearer key-alice"]
    reads = [r.extensions["timeout"]["read"] for r in recorder.requests]
    assert reads == [7, 30, 7]


def test_other_servers_and_environments_get_their_own_client(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    model().invoke("Hi")
    model(base_url="https://other.test").invoke("Hi")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    model().invoke("Hi")  # built under another proxy setting
    assert len(recorder.sync_built) == 3
    assert len(set(map(id, recorder.sync_built))) == 3


def test_pool_key_follows_origin_limits_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = httpx.URL("https://a.test/api/project/p/integration/api/chat/completions")
    same = httpx.URL("https://a.test/elsewhere")
    assert connections.pool_key(url) == connections.pool_key(same)
    assert connections.pool_key(url) != connections.pool_key(httpx.URL("https://a.test:8443/"))
    assert connections.pool_key(url) != connections.pool_key(httpx.URL("http://a.test/"))
    other_limits = httpx.Limits(max_connections=5, max_keepalive_connections=1)
    assert connections.pool_key(url) != connections.pool_key(url, other_limits)
    before = connections.pool_key(url)
    monkeypatch.setenv("SSL_CERT_FILE", "/nowhere/ca.pem")
    assert connections.pool_key(url) != before


def test_one_ssl_context_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "_ssl_contexts", {})
    made: list[object] = []
    real = httpx.create_ssl_context

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", spy)
    first = connections.ssl_context()
    assert connections.ssl_context() is first
    built = connections._new_client(httpx.Client, connections.pool_key(httpx.URL(BASE)))
    assert built._transport is not None
    built.close()
    assert len(made) == 1  # building a shared client made no context of its own
    assert connections.ssl_context(verify=False) is not first


def test_cookies_are_never_carried_between_instances(recorder: Recorder) -> None:
    def set_cookie(request: httpx.Request) -> httpx.Response:
        request.read()
        recorder.requests.append(request)
        return httpx.Response(200, headers={"set-cookie": "sid=alice"}, json=completion())

    alice, bob = model(api_key="key-alice"), model(api_key="key-bob")
    alice.invoke("Hi")
    recorder.sync_built[0]._transport = httpx.MockTransport(set_cookie)
    alice.invoke("Hi")
    bob.invoke("Hi")
    assert all("cookie" not in r.headers for r in recorder.requests)


def test_injected_clients_are_used_as_given(recorder: Recorder) -> None:
    injected = httpx.Client(transport=httpx.MockTransport(recorder.handler))
    llm = model(http_client=injected)
    llm.invoke("Hi")
    llm.close()
    assert recorder.sync_built == []
    assert not injected.is_closed
    assert recorder.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    injected.close()


# --------------------------------------------------------------------------- close
def test_close_closes_the_shared_client_only_when_no_live_model_uses_it(
    recorder: Recorder,
) -> None:
    first, second = model(), model()
    first.invoke("Hi")
    second.invoke("Hi")
    shared = recorder.sync_built[0]
    first.close()
    assert not shared.is_closed  # `second` still uses it
    del second
    gc.collect()
    third = model()
    third.invoke("Hi")  # a model collected without close() is no longer counted
    assert recorder.sync_built == [shared]
    third.close()
    assert shared.is_closed
    third.invoke("after close")  # still usable: a new shared client is made
    assert len(recorder.sync_built) == 2
    assert recorder.requests[-1].url.path.endswith("/chat/completions")


def test_context_manager_closes(recorder: Recorder) -> None:
    with model() as llm:
        llm.invoke("Hi")
    assert recorder.sync_built[0].is_closed


def test_close_at_exit_closes_every_shared_client(recorder: Recorder) -> None:
    model().invoke("Hi")
    model(base_url="https://other.test").invoke("Hi")
    connections._REGISTRY.close_all()
    assert all(c.is_closed for c in recorder.sync_built)


# --------------------------------------------------------------------------- event loops
def test_asyncio_run_per_call_works_every_time_and_closes_each_loops_client(
    recorder: Recorder,
) -> None:
    llm = model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for n in range(5):
            reply = asyncio.run(llm.ainvoke(f"call {n}"))
            assert reply.content == "ok"
            gc.collect()
    assert len(recorder.async_built) == 5  # one per loop: a loop's client dies with it
    assert all(c.is_closed for c in recorder.async_built)
    assert len(recorder.requests) == 5
    gc.collect()
    assert len(connections._REGISTRY.loops) == 0  # ended loops are forgotten, not kept
    assert len(connections._REGISTRY.closers) == 0


def test_a_loop_closed_without_shutdown_is_forgotten_later(recorder: Recorder) -> None:
    llm = model()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(llm.ainvoke("Hi"))
    loop.close()  # no shutdown_asyncgens(): its closer never ran
    asyncio.run(llm.ainvoke("next loop"))
    assert loop not in connections._REGISTRY.loops


def test_models_share_the_running_loops_client(recorder: Recorder) -> None:
    async def main() -> list[str]:
        first, second = model(api_key="key-1"), model(api_key="key-2")
        await first.ainvoke("Hi")
        chunks = [str(c.content) async for c in second.astream("Hi")]
        return chunks

    assert "".join(asyncio.run(main())) == "ab"
    assert len(recorder.async_built) == 1
    auth = [r.headers["authorization"] for r in recorder.requests]
    assert auth == ["Bearer key-1", "Bearer key-2"]


def test_the_loops_client_stays_open_while_the_loop_runs(recorder: Recorder) -> None:
    async def main() -> httpx.AsyncClient:
        llm = model()
        await llm.ainvoke("Hi")
        gc.collect()  # the loop holds the closer weakly: it must survive this
        for _ in range(3):
            await asyncio.sleep(0)
        await llm.ainvoke("again")
        assert not recorder.async_built[0].is_closed
        return recorder.async_built[0]

    assert asyncio.run(main()).is_closed
    assert len(recorder.async_built) == 1


async def test_aclose_then_reuse_in_the_same_loop(recorder: Recorder) -> None:
    llm = model()
    await llm.ainvoke("Hi")
    await llm.aclose()
    assert recorder.async_built[0].is_closed
    assert (await llm.ainvoke("again")).content == "ok"
    assert len(recorder.async_built) == 2
    async with llm:
        pass
    assert recorder.async_built[1].is_closed


async def test_one_models_aclose_leaves_the_loops_client_to_the_others(
    recorder: Recorder,
) -> None:
    """Per-request models in a web server's loop: `async with` one must not cut the rest."""
    shared = model(api_key="key-shared")
    await shared.ainvoke("Hi")
    async with model(api_key="key-request") as per_request:
        await per_request.ainvoke("Hi")
    assert len(recorder.async_built) == 1
    assert not recorder.async_built[0].is_closed  # `shared` still uses it
    assert (await shared.ainvoke("still here")).content == "ok"
    await shared.aclose()
    assert recorder.async_built[0].is_closed  # the last user closed it


# --------------------------------------------------------------------------- fork
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_clients(recorder: Recorder) -> None:
    llm = model()
    llm.invoke("Hi")
    parent_client = connections._REGISTRY.sync[connections.pool_key(httpx.URL(BASE))]
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        code = 1
        try:
            llm.invoke("from the child")
            child_client = llm._client.connections.current_sync_client()
            fresh = child_client is not None and child_client is not parent_client
            os.write(write, b"fresh" if fresh and not parent_client.is_closed else b"shared")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == b"fresh"
    assert not parent_client.is_closed  # the child left the parent's connections alone
    llm.invoke("parent again")
    assert llm._client.connections.current_sync_client() is parent_client
    sys.stdout.flush()


# --------------------------------------------------------------------------- requests
@pytest.mark.parametrize(
    "headers",
    [
        {
            "User-Agent": "langchain-pathors/0.1.0",
            "X-Team": "a",
            "Authorization": "Bearer k",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "X-Session-ID": "s-1",
        },
        {"user-agent": "mine", "ACCEPT": "application/json", "connection": "close"},
    ],
    ids=["package-headers", "odd-case-defaults"],
)
def test_a_shared_view_builds_the_request_httpx_would(headers: dict[str, str]) -> None:
    client = httpx.Client()
    timeout = httpx.Timeout(7, connect=3)
    url = httpx.URL(f"{BASE}/api/project/p/integration/api/chat/completions")
    view = _direct_send.SyncView(client, timeout, url)
    ours = view.build_request("POST", url, content=b'{"a":1}', headers=headers)
    httpx_own = client.build_request(
        "POST", url, content=b'{"a":1}', headers=headers, timeout=timeout
    )
    assert ours.headers.raw == httpx_own.headers.raw  # names, values and order
    assert (ours.method, ours.url, ours.read()) == (httpx_own.method, url, httpx_own.read())
    assert ours.extensions == httpx_own.extensions
    client.close()


def test_a_response_sent_directly_is_complete(recorder: Recorder) -> None:
    llm = model()
    llm.invoke("Hi")
    view = llm._client.connections.sync()
    request = view.build_request(
        "POST", llm._client.chat_url, content=b'{"messages":[],"stream":false}', headers={}
    )
    response = view.send(request, stream=False, follow_redirects=False)
    assert response.request is request
    assert response.is_closed
    assert response.json()["choices"][0]["message"]["content"] == "ok"


def test_a_transport_error_names_its_request(recorder: Recorder) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    llm = model()
    llm.invoke("Hi")
    view = llm._client.connections.sync()
    view.transport = httpx.MockTransport(refuse)
    request = view.build_request("POST", llm._client.chat_url, content=b"{}", headers={})
    with pytest.raises(httpx.ConnectError) as info:
        view.send(request, stream=False, follow_redirects=False)
    assert info.value.request is request


# --------------------------------------------------------------------------- deadlines
def test_every_shared_pool_carries_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """total_timeout reaches the sockets of the shared pools, proxy mounts included."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    key = connections.pool_key(httpx.URL(BASE))
    sync_client = connections._new_client(httpx.Client, key)
    async_client = connections._new_client(httpx.AsyncClient, key)
    try:
        for client, backend_type in (
            (sync_client, _deadline_sockets._Backend),
            (async_client, _deadline_sockets._AsyncBackend),
        ):
            pools = [client._transport, *client._mounts.values()]
            assert len(pools) >= 2  # the direct pool and the proxy's
            for transport in pools:
                assert isinstance(transport._pool._network_backend, backend_type)  # type: ignore[attr-defined]
            # The transport a shared view sends through directly is one of those pools.
            view_transport = _direct_send._transport_of(client, httpx.URL(BASE))
            assert any(view_transport is pool for pool in pools)
    finally:
        sync_client.close()
        asyncio.run(async_client.aclose())


@pytest.mark.parametrize("stream", [False, True])
def test_a_compressed_answer_through_a_shared_pool_is_decoded_once(
    recorder: Recorder, stream: bool
) -> None:
    """The direct send hands the body over raw: `_responses` alone undoes its encoding."""
    if stream:
        body = gzip.compress(text_stream(["zip", "ped"]))
        content_type = "text/event-stream"
    else:
        body = gzip.compress(json.dumps(completion("zipped")).encode())
        content_type = "application/json"

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        recorder.requests.append(request)
        headers = {"content-encoding": "gzip"}
        return stream_response(body, headers=headers, content_type=content_type)

    recorder.handler = answer  # type: ignore[method-assign]
    llm = model()
    if stream:
        assert "".join(str(c.content) for c in llm.stream("Hi")) == "zipped"
    else:
        assert llm.invoke("Hi").content == "zipped"
    assert recorder.requests[0].headers["accept-encoding"] == "gzip, deflate"
