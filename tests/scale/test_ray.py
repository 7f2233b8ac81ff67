"""200 conversations of 2 turns as Ray tasks on a local 2-CPU cluster, model shipped pickled.

Ray runs offline (usage stats off, no dashboard) and light: two worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from . import _workers

# Read by Ray when it is imported, so set before the import: no usage statistics sent, and
# workers started with this Python rather than re-created with `uv run` (Ray does that when
# the driver runs under `uv run`, as `make` does here).
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"

ray = pytest.importorskip("ray", reason="the Ray test needs the scale group")

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = 200


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local Ray cluster with 2 CPUs, shut down afterwards."""
    # The workers import this test package's helpers (set before ray.init starts them).
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=80 * 1024 * 1024,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.timeout(420)  # starting Ray takes most of it on a busy 2-core machine
def test_200_two_turn_conversations_as_ray_tasks_keep_their_own_sessions(
    local_ray: Any, emulator: PathorsEmulator
) -> None:
    llm = ChatPathors(
        base_url=emulator.base_url,
        project_id=emulator.project_id,
        api_key=emulator.api_key,
        session_variables={"batch": "ray"},
    )
    model_ref = ray.put(llm)  # pickled once, unpickled in each worker
    converse = ray.remote(num_cpus=1, max_retries=0)(_workers.chat_loop)
    names = [f"conversation-{i}" for i in range(CONVERSATIONS)]
    results = ray.get([converse.remote(model_ref, name) for name in names], timeout=600)

    assert os.getpid() not in {r["pid"] for r in results}
    for name, result in zip(names, results, strict=True):
        assert len(set(result["sessions"])) == 1, f"{name} changed session"
        assert result["contents"][1] == f"You said: {name} turn 1"
    sessions = [r["sessions"][0] for r in results]
    assert len(set(sessions)) == CONVERSATIONS, "two conversations shared a session"
    # At the server: 200 sessions created once each with the variables, 2 turns each.
    creates = [r for r in emulator.requests if r.path.endswith("/session")]
    assert len(creates) == CONVERSATIONS
    by_session = emulator.turns_by_session()
    assert sorted(by_session) == sorted(sessions)
    assert {len(turns) for turns in by_session.values()} == {2}
    assert all(s.variables == {"batch": "ray"} for s in emulator.sessions())
