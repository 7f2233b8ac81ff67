"""RedisSessionRegistry across real processes, against a real redis-server and the emulator.

Each test starts its worker processes with `spawn` (the model travels pickled) and lines
them up on a barrier so that they really race. Every check is made at the server: the
emulator's request log and turn log, and `ConcurrencyLog`, which records when each
request ran in which session.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import pytest

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator

from . import _workers
from ._server_log import ConcurrencyLog

pytest.importorskip("redis", reason="RedisSessionRegistry needs the [redis] extra")

from langchain_pathors.redis import RedisSessionRegistry

SPAWN = multiprocessing.get_context("spawn")


def model_for(emu: PathorsEmulator, **kwargs: Any) -> ChatPathors:
    return ChatPathors(
        base_url=emu.base_url, project_id=emu.project_id, api_key=emu.api_key, **kwargs
    )


def run_in_processes(jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    """Run each job in its own spawned process, all released at once; their results."""
    barrier, results = SPAWN.Barrier(len(jobs)), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_workers.in_process, args=(barrier, results, fn, *args))
        for fn, args in jobs
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    errors = [value for _, value in outcomes if isinstance(value, BaseException)]
    assert not errors, errors
    assert len({pid for pid, _ in outcomes}) == len(jobs)
    return [value for _, value in outcomes]


def create_requests(emu: PathorsEmulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/session"))


def test_4_processes_x_8_threads_create_a_session_once(
    emulator: PathorsEmulator, server_log: ConcurrencyLog, redis_db: str
) -> None:
    llm = model_for(
        emulator,
        session_id="race-1",
        session_variables={"plan": "pro"},
        session_registry=RedisSessionRegistry(redis_db),
    )
    replies = run_in_processes([(_workers.race_one_session, (llm, 8))] * 4)
    assert [sid for process in replies for sid in process] == ["race-1"] * 32
    assert create_requests(emulator) == 1
    assert len(emulator.turns("race-1")) == 32
    assert server_log.max_in_flight["race-1"] == 1  # and the 32 turns never overlapped
    [session] = [s for s in emulator.sessions() if s.session_id == "race-1"]
    assert session.variables == {"plan": "pro"}


def test_without_a_shared_registry_each_process_creates_the_session_again(
    emulator: PathorsEmulator,
) -> None:
    # The control for the test above: what the per-process default gives.
    llm = model_for(emulator, session_id="race-2", session_variables={"plan": "pro"})
    run_in_processes([(_workers.race_one_session, (llm, 8))] * 4)
    assert create_requests(emulator) == 4


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "per-process-control"])
def test_two_processes_never_overlap_turns_on_one_session(
    shared: bool, emulator: PathorsEmulator, server_log: ConcurrencyLog, redis_db: str
) -> None:
    server_log.latency = 0.05
    registry = RedisSessionRegistry(redis_db) if shared else None
    llm = model_for(emulator, session_id="shared-1", session_registry=registry)
    # One process calls invoke, the other ainvoke.
    run_in_processes(
        [(_workers.turns_on_session, (llm, 10)), (_workers.turns_on_session, (llm, 10, True))]
    )
    assert len(emulator.turns("shared-1")) == 20
    if shared:
        assert server_log.max_in_flight["shared-1"] == 1
        assert server_log.overlaps("shared-1") == 0
    else:  # the instrument does see overlapping turns when nothing orders them
        assert server_log.max_in_flight["shared-1"] == 2


def _wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_worker_killed_mid_turn_frees_the_session_when_its_lease_ends(
    emulator: PathorsEmulator, server_log: ConcurrencyLog, redis_db: str
) -> None:
    registry = RedisSessionRegistry(redis_db, turn_lease=2.0)
    llm = model_for(emulator, session_id="crash-1", session_registry=registry)
    server_log.latency = 30.0  # the doomed worker's turn is still running when it dies
    worker = SPAWN.Process(target=_workers.turns_on_session, args=(llm, 1))
    worker.start()
    try:
        _wait_until(lambda: server_log.in_flight("crash-1") == 1)
        worker.kill()
        worker.join(30)
    finally:
        if worker.is_alive():
            worker.kill()
    key = llm._turns.key("crash-1")
    assert registry.gate.held(key)  # the dead worker's lease is still there
    server_log.latency = 0.0
    reply = llm.invoke("a later request on the same session")  # waits out the lease
    assert reply.response_metadata["session_id"] == "crash-1"
    assert not registry.gate.held(key)


def test_a_turn_longer_than_the_lease_keeps_its_session(
    emulator: PathorsEmulator, server_log: ConcurrencyLog, redis_db: str
) -> None:
    # The lease is 1 s, the first turn takes 3 s: the holder renews it meanwhile.
    llm = model_for(
        emulator,
        session_id="long-1",
        session_registry=RedisSessionRegistry(redis_db, turn_lease=1.0),
    )
    server_log.latency = 3.0
    worker = SPAWN.Process(target=_workers.turns_on_session, args=(llm, 1))
    worker.start()
    try:
        _wait_until(lambda: server_log.in_flight("long-1") == 1)
        server_log.latency = 0.0
        llm.invoke("sent while the other process's long turn runs")
        worker.join(60)
    finally:
        if worker.is_alive():
            worker.kill()
    assert worker.exitcode == 0
    assert len(emulator.turns("long-1")) == 2
    assert server_log.max_in_flight["long-1"] == 1
    assert server_log.overlaps("long-1") == 0
