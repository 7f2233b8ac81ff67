"""The pathway the benchmark emulators serve (loaded with `--pathway benchmarks._pathway:reply`).

A last user message `stream <N>` gets a reply of exactly N content deltas (`"w<i> "`);
anything else gets the echo pathway's short answer, `"You said: <text>"`.
"""

from __future__ import annotations

from langchain_pathors.emulator import PathwayReply, PathwayRequest


async def reply(request: PathwayRequest) -> PathwayReply:
    text = request.last_user_text
    command, _, count = text.partition(" ")
    if command == "stream" and count.isdigit():
        return PathwayReply(chunks=[f"w{i} " for i in range(int(count))])
    return PathwayReply(content=f"You said: {text}")
