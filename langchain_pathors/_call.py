"""One chat call: its session's turn, the HTTP request, and the stamped LangChain result.

The turn (`_session_turns`) is held around the request: for a stream, until the stream
ends or its reader closes it. The result is stamped with the turn (session, its source,
project) as soon as the server has answered, which also makes it the session's head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_pathors._client import PathorsClient
from langchain_pathors._messages import (
    ChunkConverter,
    chat_result,
    generation_chunk,
    message_from_response,
)
from langchain_pathors._request import PreparedCall
from langchain_pathors._session_turns import SessionTurns
from langchain_pathors._tracing import retry_hook

__all__ = ["agenerate", "astream", "generate", "stream"]


def generate(
    client: PathorsClient,
    turns: SessionTurns,
    call: PreparedCall,
    run_manager: CallbackManagerForLLMRun | None,
) -> ChatResult:
    """Send a non-streaming call in its session's turn."""
    with turns.turn(call.session, client.create_session) as turn:
        reply = client.chat(call.body, session_id=turn.session_id, on_retry=retry_hook(run_manager))
        message = message_from_response(reply.body, reply.session_id)
        turn.stamp(message.response_metadata)
    return chat_result(message)


async def agenerate(
    client: PathorsClient,
    turns: SessionTurns,
    call: PreparedCall,
    run_manager: AsyncCallbackManagerForLLMRun | None,
) -> ChatResult:
    """Async twin of `generate`."""
    async with turns.aturn(call.session, client.acreate_session) as turn:
        reply = await client.achat(
            call.body, session_id=turn.session_id, on_retry=retry_hook(run_manager)
        )
        message = message_from_response(reply.body, reply.session_id)
        turn.stamp(message.response_metadata)
    return chat_result(message)


def stream(
    client: PathorsClient,
    turns: SessionTurns,
    call: PreparedCall,
    run_manager: CallbackManagerForLLMRun | None,
) -> Iterator[ChatGenerationChunk]:
    """Send a streaming call; the turn is held until the stream ends or is closed."""
    with turns.turn(call.session, client.create_session) as turn:
        converter: ChunkConverter | None = None
        for item in client.stream_chat(
            call.body, session_id=turn.session_id, on_retry=retry_hook(run_manager)
        ):
            converter = converter or ChunkConverter(item.session_id, turn.stamp)
            chunk = generation_chunk(converter, item.data)
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


async def astream(
    client: PathorsClient,
    turns: SessionTurns,
    call: PreparedCall,
    run_manager: AsyncCallbackManagerForLLMRun | None,
) -> AsyncIterator[ChatGenerationChunk]:
    """Async twin of `stream`."""
    async with turns.aturn(call.session, client.acreate_session) as turn:
        converter: ChunkConverter | None = None
        async for item in client.astream_chat(
            call.body, session_id=turn.session_id, on_retry=retry_hook(run_manager)
        ):
            converter = converter or ChunkConverter(item.session_id, turn.stamp)
            chunk = generation_chunk(converter, item.data)
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
