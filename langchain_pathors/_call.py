"""One chat call: its session's turn, the HTTP request, and the stamped LangChain result.

And the explicit `create_session` call, which records the session as created.

The turn (`_session_turns`) is held around the request: for a stream, until the stream
ends or its reader closes it. The result is stamped with the turn (session, its source,
project) as soon as the server has answered, which also makes it the session's head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

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
from langchain_pathors._session_variables import plain_variables
from langchain_pathors._sessions import (
    PathorsSession,
    new_session_id,
    session_from_body,
    validate_session_id,
)
from langchain_pathors._tracing import retry_hook

__all__ = ["acreate_session", "agenerate", "astream", "create_session", "generate", "stream"]


def generate(
    client: PathorsClient,
    turns: SessionTurns,
    call: PreparedCall,
    run_manager: CallbackManagerForLLMRun | None,
) -> ChatResult:
    """Send a non-streaming call in its session's turn."""
    with turns.turn(call.session, client.create_session) as turn:
        reply = client.chat(
            call.body,
            session_id=turn.session_id,
            on_retry=retry_hook(run_manager, call.session.variables),
        )
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
            call.body,
            session_id=turn.session_id,
            on_retry=retry_hook(run_manager, call.session.variables),
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
            call.body,
            session_id=turn.session_id,
            on_retry=retry_hook(run_manager, call.session.variables),
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
            call.body,
            session_id=turn.session_id,
            on_retry=retry_hook(run_manager, call.session.variables),
        ):
            converter = converter or ChunkConverter(item.session_id, turn.stamp)
            chunk = generation_chunk(converter, item.data)
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def create_session(
    client: PathorsClient,
    turns: SessionTurns,
    session_id: str | None,
    variables: Mapping[str, Any] | None,
) -> PathorsSession:
    """Create a session (a fresh unguessable id when None) and remember it as created."""
    sid = validate_session_id(session_id) if session_id is not None else new_session_id()
    plain = plain_variables(variables)
    body = client.create_session(sid, plain)
    turns.remember_created(sid, plain)
    return session_from_body(sid, body)


async def acreate_session(
    client: PathorsClient,
    turns: SessionTurns,
    session_id: str | None,
    variables: Mapping[str, Any] | None,
) -> PathorsSession:
    """Async twin of `create_session`."""
    sid = validate_session_id(session_id) if session_id is not None else new_session_id()
    plain = plain_variables(variables)
    body = await client.acreate_session(sid, plain)
    turns.remember_created(sid, plain)
    return session_from_body(sid, body)
