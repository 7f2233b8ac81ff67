"""The graph `agent` that `langgraph.json` serves: create_agent(ChatPathors(...), tools).

Configured from the environment, so one file runs against the emulator or Pathors:

* `PATHORS_API_KEY`, `PATHORS_PROJECT_ID`, `PATHORS_BASE_URL` (the model's usual ones);
* `PATHORS_REDIS_URL` (optional): share sessions, heads and turn locks between server
  replicas or workers through Redis (needs `langchain-pathors[redis]`).

The Agent Server gives every run its thread's checkpointed history, so each thread keeps
its own Pathors session with no wiring: the model continues the session of the last reply
in that history (`session_from_history`, on by default).
"""

from __future__ import annotations

import os

from langchain.agents import create_agent
from langchain_core.tools import tool

from langchain_pathors import ChatPathors


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"It is 21 degrees and sunny in {city}."


@tool
def get_local_time(city: str) -> str:
    """Get the local time in a city."""
    return f"It is 10:30 in {city}."


def _session_registry() -> object | None:
    url = os.environ.get("PATHORS_REDIS_URL")
    if not url:
        return None  # this process's own registry
    from langchain_pathors.redis import RedisSessionRegistry

    return RedisSessionRegistry(url)


model = ChatPathors(session_registry=_session_registry())
agent = create_agent(
    model,
    tools=[get_weather, get_local_time],
    system_prompt="You are a travel assistant. Use the tools to answer.",
)
