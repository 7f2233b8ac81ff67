"""A short tour of langchain-pathors: chat, streaming, a conversation in one session, an agent.

Run it with `make demo` (or `python examples/demo.py`). With `PATHORS_API_KEY` and
`PATHORS_PROJECT_ID` set, it talks to your Pathors project; otherwise it starts the
Pathors emulator in this process, on 127.0.0.1, and needs no account and no network.

The emulator's default pathway is a set of plain rules, not a model: it echoes what you
say, greets a new session by listing its variables, and calls a tool when your message
names it (arguments come from the quoted words and the numbers of the message).
"""

# ruff: noqa: T201 - a demo prints

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_pathors import ChatPathors
from langchain_pathors.emulator import PathorsEmulator


def heading(number: int, title: str, what: str) -> None:
    """Print a section heading and one line on what the section shows."""
    print(f"\n{number}. {title}\n{'-' * (len(title) + 3)}")
    print(f"   {what}\n")


@contextmanager
def connect() -> Iterator[tuple[ChatPathors, PathorsEmulator | None]]:
    """A ChatPathors for the real service (with credentials) or for an embedded emulator."""
    if os.environ.get("PATHORS_API_KEY") and os.environ.get("PATHORS_PROJECT_ID"):
        llm = ChatPathors()  # reads PATHORS_API_KEY, PATHORS_PROJECT_ID, PATHORS_BASE_URL
        print(f"Pathors demo: against the real service at {llm.base_url}")
        print(f"              project {llm.project_id}")
        with llm:
            yield llm, None
        return
    # chunk_latency only makes the streamed answer visible to a human eye.
    with PathorsEmulator(chunk_latency=0.04) as emulator:
        print(f"Pathors demo: against the embedded emulator at {emulator.base_url}")
        print("              (set PATHORS_API_KEY and PATHORS_PROJECT_ID to use Pathors)")
        llm = ChatPathors(
            base_url=emulator.base_url, project_id=emulator.project_id, api_key=emulator.api_key
        )
        with llm:
            yield llm, emulator


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"18°C and cloudy in {city}"


@tool
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return round(celsius * 9 / 5 + 32, 1)


def tour(llm: ChatPathors, emulator: PathorsEmulator | None) -> None:
    """The four sections of the demo."""
    heading(1, "A chat", "llm.invoke(...) sends one message and returns an AIMessage.")
    question = "Hello! What can you do?"
    print(f"   you:     {question}")
    reply = llm.invoke(question)
    print(f"   pathway: {reply.content}")

    heading(2, "A streamed answer", "llm.stream(...) yields the answer as it is produced.")
    question = "Tell me about your plans for today"
    print(f"   you:     {question}")
    print("   pathway: ", end="", flush=True)
    pieces = 0
    for chunk in llm.stream(question):
        print(chunk.content, end="", flush=True)
        pieces += bool(chunk.content)
    print(f"\n   ({pieces} pieces)")

    heading(
        3,
        "A conversation in one session, with variables",
        "The session follows the conversation: the first call creates a session with the\n"
        "   variables, and each later call finds it in the history. No session id is passed.",
    )
    variables = {"userName": "Ada Lovelace", "plan": "pro"}
    chat = llm.bind(session_variables=variables)  # variables never appear in repr or traces
    history: list[BaseMessage] = []
    for question in ("Hi there!", "What's on my plan?"):
        print(f"   you:     {question}")
        history.append(HumanMessage(question))
        reply = chat.invoke(history)
        history.append(reply)
        meta = reply.response_metadata
        print(f"   pathway: {reply.content}")
        print(f"            (session {meta['session_id']}, chosen from: {meta['session_source']})")
    session_id = reply.response_metadata["session_id"]
    if emulator is not None:
        record = emulator.session(session_id)
        if record is not None:
            print(f"   the emulator's record: {record.turns} turns, variables {record.variables}")

    heading(
        4,
        "A tool-calling agent",
        "langchain.agents.create_agent with two tools: the pathway calls them, the agent "
        "runs them,\n   and the pathway answers from their results.",
    )
    tools = [get_weather, celsius_to_fahrenheit]
    agent = create_agent(llm, tools, checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "demo-thread"}}
    question = "What's the weather in 'Paris'? Use get_weather, then celsius_to_fahrenheit for 18."
    print(f"   you:     {question}")
    turns_before = len(emulator.turns()) if emulator is not None else 0
    result = agent.invoke({"messages": [HumanMessage(question)]}, thread)
    for message in result["messages"][1:]:
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                print(f"   tool call:   {call['name']}({call['args']})")
        elif isinstance(message, ToolMessage):
            print(f"   tool result: {message.name} -> {message.content}")
        elif isinstance(message, AIMessage):
            print(f"   answer:  {message.content}")
    if emulator is not None:
        agent_turns = emulator.turns()[turns_before:]
        sessions = {turn.session_id for turn in agent_turns}
        print(f"   the agent's {len(agent_turns)} model calls went to {len(sessions)} session(s)")
    print("\nDone.")


def main() -> int:
    """Run the tour; on a failure print one readable line and return non-zero."""
    try:
        with connect() as (llm, emulator):
            tour(llm, emulator)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the demo reports any failure in one line
        message = " ".join(str(exc).split()) or "no detail"
        key = os.environ.get("PATHORS_API_KEY")
        if key:
            message = message.replace(key, "***")
        print(f"\ndemo failed: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
