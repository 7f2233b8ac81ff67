"""Work run in other processes (process pools, Ray): importable, module-level functions.

Each receives a pickled ChatPathors, as users ship one to their workers.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from langchain_pathors import ChatPathors


def chat_loop(llm: ChatPathors, name: str, turns: int = 2) -> dict[str, Any]:
    """A user's chat loop: the session follows the history, no id passed."""
    history: list[BaseMessage] = []
    sessions, contents = [], []
    for turn in range(turns):
        history.append(HumanMessage(f"{name} turn {turn}"))
        reply = llm.invoke(history)
        history.append(reply)
        sessions.append(reply.response_metadata["session_id"])
        contents.append(reply.content)
    return {"pid": os.getpid(), "sessions": sessions, "contents": contents}


def race_one_session(llm: ChatPathors, threads: int) -> list[str]:
    """`threads` threads call at once on the model's session; returns each reply's session."""
    barrier = threading.Barrier(threads)

    def call(i: int) -> str:
        barrier.wait()
        reply = llm.invoke(f"process {os.getpid()} thread {i}")
        return str(reply.response_metadata["session_id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(call, range(threads)))


def turns_on_session(llm: ChatPathors, count: int, use_async: bool = False) -> int:
    """`count` turns, one after the other, on the model's session; returns how many."""
    if use_async:

        async def run() -> None:
            for i in range(count):
                await llm.ainvoke(f"process {os.getpid()} async turn {i}")

        asyncio.run(run())
    else:
        for i in range(count):
            llm.invoke(f"process {os.getpid()} turn {i}")
    return count


def in_process(barrier: Any, results: Any, fn: Callable[..., Any], *args: Any) -> None:
    """Target of a `multiprocessing.Process`: wait for the others, run, report."""
    barrier.wait(timeout=120)
    try:
        results.put((os.getpid(), fn(*args)))
    except BaseException as exc:
        results.put((os.getpid(), exc))


# Set in the parent before a "fork" pool starts: the children inherit this very object,
# with whatever connections the parent had open.
INHERITED: dict[str, ChatPathors] = {}


def chat_loop_on_inherited(name: str, turns: int = 3) -> dict[str, Any]:
    """`chat_loop` on the model the forked child inherited from its parent."""
    return chat_loop(INHERITED["llm"], name, turns)
