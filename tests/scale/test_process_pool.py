"""A pickled ChatPathors in process pools (spawn, forkserver) and a model inherited by fork.

The emulator runs in this process on 127.0.0.1; the workers call it over real HTTP.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from . import _workers


def model_for(emu: PathorsEmulator, **kwargs: object) -> ChatPathors:
    return ChatPathors(
        base_url=emu.base_url, project_id=emu.project_id, api_key=emu.api_key, **kwargs
    )


def _expect_own_sessions(results: list[dict], names: list[str], emu: PathorsEmulator) -> None:
    for result, name in zip(results, names, strict=True):
        # (A first turn with session variables starts with a greeting that names them.)
        for turn, content in enumerate(result["contents"]):
            assert content.endswith(f"You said: {name} turn {turn}"), content
        assert len(set(result["sessions"])) == 1, f"{name} changed session mid-conversation"
    firsts = [r["sessions"][0] for r in results]
    assert len(set(firsts)) == len(results), "two conversations shared a session"
    # At the server: one session per conversation, each with every turn of it.
    by_session = emu.turns_by_session()
    assert {sid: len(by_session[sid]) for sid in firsts} == {
        r["sessions"][0]: len(r["sessions"]) for r in results
    }


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_pickled_model_runs_chat_loops_in_a_process_pool(
    method: str, emulator: PathorsEmulator
) -> None:
    llm = model_for(emulator, session_variables={"tier": "batch"})
    names = [f"{method}-conversation-{i}" for i in range(8)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        results = list(pool.map(_workers.chat_loop, [llm] * len(names), names))
    assert os.getpid() not in {r["pid"] for r in results}
    _expect_own_sessions(results, names, emulator)
    # Every conversation's fresh session was created once, with the model's variables.
    sessions = {s.session_id: s for s in emulator.sessions()}
    for result in results:
        created = sessions[result["sessions"][0]]
        assert created.variables == {"tier": "batch"}
        assert created.created_by == "session_endpoint"
    assert len(emulator.turns()) == 16


def test_forked_children_and_their_parent_use_separate_connections(
    emulator: PathorsEmulator,
) -> None:
    pytest.importorskip(
        "langchain_pathors._connections",
        reason="fork safety (pools dropped in a forked child) comes with _connections.py",
    )
    llm = model_for(emulator)
    llm.invoke("the parent opens a pooled keep-alive connection")
    _workers.INHERITED["llm"] = llm
    child_names = [f"child-{i}" for i in range(6)]
    try:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_workers.chat_loop_on_inherited, n) for n in child_names]
            # The parent keeps talking over its connection while the children talk.
            parent_names = [f"parent-{i}" for i in range(4)]
            parent = [_workers.chat_loop(llm, n, 3) for n in parent_names]
            children = [f.result(timeout=60) for f in futures]
    finally:
        _workers.INHERITED.clear()
    # A socket shared with a child would mix up requests and answers: each conversation
    # got exactly its own echoes, in its own session.
    _expect_own_sessions(children + parent, child_names + parent_names, emulator)
