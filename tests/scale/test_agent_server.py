"""examples/langgraph_app under the LangGraph Agent Server (`langgraph dev`), against the emulator.

The server runs in its own process, offline (no tracing, analytics or version check), on
127.0.0.1; the test drives it with langgraph_sdk like a client application and checks at
the emulator which requests landed in which Pathors session.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from langchain_pathors.emulator import PathorsEmulator

from ._serve import serve
from ._server_log import ConcurrencyLog
from .conftest import free_port

pytest.importorskip("langgraph_sdk", reason="the Agent Server tests need the scale group")
pytest.importorskip("langgraph_api", reason="langgraph dev needs langgraph-cli[inmem]")

APP = Path(__file__).resolve().parents[2] / "examples" / "langgraph_app"
OFFLINE = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGGRAPH_DISABLE_FILE_PERSISTENCE": "true",
}
# Anything that would make the server phone home.
_DROPPED = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGGRAPH_CLOUD_LICENSE_KEY")
STARTUP_SECONDS = 90


@pytest.fixture
def agent_server(emulator: PathorsEmulator, tmp_path: Path) -> Iterator[str]:
    """`langgraph dev` serving the example against the emulator; its URL. Stopped after."""
    # A copy of the example: the in-memory server persists its state in its working
    # directory (.langgraph_api), and graph paths are relative to it.
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".langgraph_api", "__pycache__"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED and k != "PATHORS_REDIS_URL"}
    env.update(
        OFFLINE,
        PATHORS_API_KEY=emulator.api_key,
        PATHORS_PROJECT_ID=emulator.project_id,
        PATHORS_BASE_URL=emulator.base_url,
    )
    cli = Path(sys.executable).parent / "langgraph"
    command = [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--config", str(app / "langgraph.json")]
    # Several runs at once (this machine's default here was one at a time).
    command += ["--n-jobs-per-worker", "4"]
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "langgraph-dev.log"
    with serve(
        command,
        name="langgraph dev",
        cwd=app,
        env=env,
        log_path=log_path,
        ready_url=f"{url}/ok",
        startup_seconds=STARTUP_SECONDS,
        stop_seconds=20,
    ):
        yield url


# Each thread's three runs: two name a tool (the emulator's echo pathway then calls it,
# and answers from its result on the next model call), one is plain text.
def prompts(thread: str) -> list[str]:
    return [
        f"[{thread}] Use get_weather for 'Paris'",
        f"[{thread}] And get_local_time for 'Paris'?",
        f"[{thread}] Thanks, that is all.",
    ]


MODEL_CALLS_PER_THREAD = 2 + 2 + 1


def _conversation(client: Any, thread_id: str, name: str) -> list[dict[str, Any]]:
    for prompt in prompts(name):
        run = client.runs.create(
            thread_id, "agent", input={"messages": [{"role": "user", "content": prompt}]}
        )
        client.runs.join(thread_id, run["run_id"])
        assert client.runs.get(thread_id, run["run_id"])["status"] == "success"
    return client.threads.get_state(thread_id)["values"]["messages"]


def _user_texts(body: dict[str, Any]) -> set[str]:
    return {m["content"] for m in body["messages"] if m.get("role") == "user"}


def test_two_threads_three_runs_each_keep_one_pathors_session_per_thread(
    agent_server: str, emulator: PathorsEmulator, server_log: ConcurrencyLog
) -> None:
    from langgraph_sdk import get_sync_client

    server_log.latency = 0.3  # so that runs on the two threads can be seen overlapping
    names = ["thread-A", "thread-B"]
    # Closed at the end, like any client application's: its pooled sockets are not left to
    # the garbage collector (a ResourceWarning in whichever test runs next).
    with get_sync_client(url=agent_server, api_key=None) as client:
        thread_ids = [client.threads.create()["thread_id"] for _ in names]
        with ThreadPoolExecutor(2) as pool:
            histories = list(
                pool.map(lambda t: _conversation(client, *t), zip(thread_ids, names, strict=True))
            )

    # What each thread's checkpointed history says.
    thread_sessions = []
    for name, messages in zip(names, histories, strict=True):
        replies = [m for m in messages if m["type"] == "ai"]
        assert len(replies) == MODEL_CALLS_PER_THREAD
        assert {r["response_metadata"]["session_id"] for r in replies} == {
            replies[0]["response_metadata"]["session_id"]
        }, f"{name} changed Pathors session"
        tools = [m["name"] for m in messages if m["type"] == "tool"]
        assert tools == ["get_weather", "get_local_time"]
        assert "It is 21 degrees and sunny in Paris." in replies[1]["content"]
        thread_sessions.append(replies[0]["response_metadata"]["session_id"])
    assert len(set(thread_sessions)) == 2, "two threads shared a Pathors session"

    # What the server saw: two sessions, each with exactly one thread's requests.
    by_session = emulator.turns_by_session()
    assert sorted(by_session) == sorted(thread_sessions)
    for name, session in zip(names, thread_sessions, strict=True):
        turns = by_session[session]
        assert len(turns) == MODEL_CALLS_PER_THREAD
        assert sum(1 for t in turns if t.tool_results) == 2  # tool results sent back here
        bodies = [r.json for r in emulator.requests if r.session_id == session and r.json]
        texts = set().union(*(_user_texts(b) for b in bodies if "messages" in b))
        assert texts == set(prompts(name))
    # One turn at a time inside each session; the two threads' runs ran concurrently.
    assert all(server_log.max_in_flight[s] == 1 for s in thread_sessions)
    assert server_log.cross_session_overlaps() > 0, [
        (s.session_id[-4:], round(s.start, 2), round(s.end, 2)) for s in server_log.spans
    ]
