"""A web service as users deploy one: several uvicorn workers, one ChatPathors per worker.

Configured from the environment (the test sets it): PATHORS_* for the model and
PATHORS_REDIS_URL for the shared session registry. Each request names its user's session
and, as the documented per-call pattern does, the session's variables.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from langchain_pathors import ChatPathors
from langchain_pathors.redis import RedisSessionRegistry

llm = ChatPathors(session_registry=RedisSessionRegistry(os.environ["PATHORS_REDIS_URL"]))


async def chat(request: Request) -> JSONResponse:
    payload = await request.json()
    reply = await llm.ainvoke(
        payload["text"],
        session_id=payload["user"],
        session_variables={"userName": payload["user"]},
    )
    return JSONResponse(
        {
            "pid": os.getpid(),
            "reply": reply.content,
            "session": reply.response_metadata["session_id"],
        }
    )


app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])
