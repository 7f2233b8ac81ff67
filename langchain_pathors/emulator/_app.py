"""The emulator's HTTP app: the two documented Pathors routes plus admin routes.

Documented behaviour is followed exactly. Where the Pathors docs are silent, the
emulator decides as follows (an OpenAI-compatible server is the model):

* Routing: ``{projectId}`` is one raw path segment, percent-decoded once, compared with
  the configured id. Checks run in this order: unknown project -> ``404 {"error":
  "project not found"}``; missing or wrong ``Authorization: Bearer <key>`` -> ``401
  {"error": "Invalid authentication"}``; invalid body -> ``400 {"error": ...}`` naming
  the field; then faults (so a fault never hides a client's own 400). Other paths ->
  ``404 {"error": "not found"}``; another method than POST -> ``405``.
* Session endpoint: ``session_id`` missing or empty -> ``"session_id is required"``; not
  a string of 1-256 characters without control characters -> ``"Missing or invalid
  session_id"``; ``variables`` not an object -> ``"variables must be an object"``.
  Re-creating an existing id replaces its variables and keeps its turn count (and its
  ``created_by``); the response has no ``X-Session-ID`` header (none is documented).
* Chat endpoint: a body that is not a JSON object -> ``"Invalid request body"``;
  ``messages`` must be a non-empty array of objects with role system / user / assistant /
  tool (``developer`` is accepted as system); tool messages need ``tool_call_id``;
  ``tools`` follow the OpenAI function format; ``tool_choice`` is ``auto`` / ``none`` /
  ``required`` / a named function that must be bound; ``stop`` (a string or list) is
  honoured by cutting the reply before the first stop sequence; ``response_format``
  (``text`` / ``json_object`` / ``json_schema`` with an object ``json_schema.schema``)
  is validated and handed to the pathway (the echo pathway honours it); other OpenAI
  fields (temperature, max_tokens, model, ...) are accepted and ignored.
* Sessions: the ``X-Session-ID`` header wins over the deprecated body ``session_id``
  (an empty header counts as absent; an invalid one -> 400 ``"Invalid X-Session-ID
  header"``). With neither, the server assigns ``session-<uuid4 hex>``. An unknown id is
  adopted (created with no variables). Every valid chat request counts one turn before
  the pathway runs and before any fault, so a re-sent request is visible. The id comes
  back in the ``X-Session-ID`` response header and the body's ``session_id``.
* Responses: ``usage`` is always ``-1`` (as documented); ``content`` is ``""`` when the
  reply only calls tools. Streams start with a ``{"role": "assistant", "content": ""}``
  delta, send words (or the pathway's chunks) as deltas, tool calls as OpenAI-style
  ``index``-keyed deltas, an empty final delta with ``finish_reason``, then ``[DONE]``.
  The whole reply is computed before the first event, so a failing pathway gives a clean
  ``500 {"error": "Internal server error"}``.
* Faults: a status fault answers ``{"error": message}`` without running the pathway (the
  turn still counts; a refused create-session stores nothing). Stream faults count
  ``data:`` events and always strike before ``finish_reason``/``[DONE]`` (see
  ``_streaming``). ``Retry-After`` is sent in seconds (``1.5`` allowed), ``retry-after-ms``
  in milliseconds.
* Latency: the emulator's (and a fault's) latency applies to requests that passed
  validation; it is an ``asyncio.sleep`` and never holds up other requests.
* The request log keeps the last 1,000 requests to the API routes (rejected ones too),
  with ``authorization`` redacted to ``Bearer ***``.
* Admin routes (``/_emulator/...``, same bearer key except ``health``): ``POST faults``
  (a JSON :class:`Fault`), ``DELETE faults``, ``GET sessions/{id}``, ``GET turns``
  (the turn log, ``?session_id=`` for one session), ``POST reset``, ``GET health``.
  They are not recorded in the request log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._faults import Fault, FaultPlan
from ._pathways import Pathway, PathwayRequest
from ._state import RecordedRequest, SessionStore
from ._streaming import EventStreamResponse, fault_events, malformed_json
from ._validate import RequestError, is_valid_session_id, parse_chat, parse_session
from ._wire import Completion, apply_stop, completion_body, stream_chunks

__all__ = ["EmulatorConfig", "create_app"]

logger = logging.getLogger("langchain_pathors.emulator")
_CHAT = ("integration", "api", "chat", "completions")
_SESSION = ("integration", "api", "session")
_INVALID = object()  # a body that is not valid JSON
_Recorder = Callable[[str | None], None]


@dataclass
class EmulatorConfig:
    """The emulator's settings, read on every request (so they may change at run time).

    Example:
        >>> EmulatorConfig(project_id="demo").api_key
        'test-key'
    """

    project_id: str = "test-project"
    api_key: str = "test-key"
    pathway_id: str = "pathway-default"
    model: str = "pathway-default"
    latency: float = 0.0
    chunk_latency: float = 0.0


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _Handlers:
    def __init__(
        self,
        config: EmulatorConfig,
        pathway: Pathway,
        store: SessionStore,
        faults: FaultPlan,
        closing: threading.Event,
    ) -> None:
        self.config, self.pathway, self.store, self.faults = config, pathway, store, faults
        self.closing = closing

    def authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = self.config.api_key.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)

    async def api(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else _INVALID
        except (ValueError, RecursionError):
            body = _INVALID
        recorded = False

        def record(session_id: str | None) -> None:
            # Called as soon as the session is known (before latency, faults and the
            # pathway), so a test sees a request the moment the server has it.
            nonlocal recorded
            if recorded:
                return
            recorded = True
            headers = dict(request.headers.items())
            if "authorization" in headers:
                headers["authorization"] = "Bearer ***"
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            path = raw_path.decode("latin-1").partition("?")[0]
            json_body = None if body is _INVALID else body
            self.store.record(RecordedRequest(request.method, path, headers, json_body, session_id))

        try:
            return await self._route(request, body, record)
        finally:
            record(None)  # a rejected request is logged too

    async def _route(self, request: Request, body: Any, record: _Recorder) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        parts = raw_path.decode("latin-1").partition("?")[0].split("/")
        if parts[:3] != ["", "api", "project"] or tuple(parts[4:]) not in (_CHAT, _SESSION):
            return _error(404, "not found")
        if request.method != "POST":
            return JSONResponse({"error": "method not allowed"}, 405, {"Allow": "POST"})
        if unquote(parts[3]) != self.config.project_id:
            return _error(404, "project not found")
        if not self.authorized(request):
            return _error(401, "Invalid authentication")
        if tuple(parts[4:]) == _SESSION:
            return await self._session(body, record)
        return await self._chat(request, body, record)

    async def _wait(self, fault: Fault | None) -> None:
        delay = self.config.latency + (fault.latency if fault else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    @staticmethod
    def _fault_headers(fault: Fault | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if fault and fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault and fault.retry_after_ms is not None:
            headers["retry-after-ms"] = str(fault.retry_after_ms)
        return headers

    async def _session(self, body: Any, record: _Recorder) -> Response:
        try:
            parsed = parse_session(None if body is _INVALID else body)
        except RequestError as exc:
            return _error(400, exc.message)
        record(parsed.session_id)
        fault = self.faults.pick("session", parsed.session_id)
        headers = self._fault_headers(fault)
        await self._wait(fault)
        if fault and fault.status is not None:
            return _error(fault.status, fault.error_message, headers)
        self.store.create(parsed.session_id, parsed.variables)
        answer = {"sessionId": parsed.session_id, "pathwayId": self.config.pathway_id}
        if fault and fault.malformed:
            return Response(malformed_json(answer), media_type="application/json", headers=headers)
        return JSONResponse(answer, headers=headers)

    async def _chat(self, request: Request, body: Any, record: _Recorder) -> Response:
        try:
            chat = parse_chat(None if body is _INVALID else body)
        except RequestError as exc:
            return _error(400, exc.message)
        header_id = request.headers.get("x-session-id") or None
        if header_id is not None and not is_valid_session_id(header_id):
            return _error(400, "Invalid X-Session-ID header")
        session_id = header_id or chat.session_id or f"session-{uuid.uuid4().hex}"
        record(session_id)
        session = self.store.begin_turn(session_id)  # counted before faults: see docstring
        seq = self.store.turn_log.add(
            session_id, session.turns, chat.messages, chat.tools, stream=chat.stream
        )
        fault = self.faults.pick("chat", session_id)
        headers = {"X-Session-ID": session_id, **self._fault_headers(fault)}
        await self._wait(fault)
        if fault and fault.status is not None:
            return _error(fault.status, fault.error_message, headers)
        pathway_request = PathwayRequest(
            chat.messages,
            chat.tools,
            chat.tool_choice,
            session,
            chat.stream,
            chat.response_format,
        )
        try:
            reply = await self.pathway.respond(pathway_request)
        except Exception:
            logger.exception("pathway failed for session %s", session_id)
            return _error(500, "Internal server error", headers)
        self.store.turn_log.set_reply(seq, [call.name for call in reply.tool_calls])
        reply = apply_stop(reply, chat.stop)
        completion = Completion(session_id, reply.model or self.config.model)
        if chat.stream and not (fault and fault.json_for_stream):
            events = fault_events(
                stream_chunks(reply, completion), fault, self.config.chunk_latency
            )
            return EventStreamResponse(events, headers, self.closing)
        answer = completion_body(reply, completion)
        if fault and fault.malformed:
            return Response(malformed_json(answer), media_type="application/json", headers=headers)
        return JSONResponse(answer, headers=headers)

    # Admin routes, for tests and benchmarks that run the emulator in another process.

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def admin_faults(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "Invalid authentication")
        if request.method == "DELETE":
            self.faults.clear()
            return JSONResponse({"faults": 0})
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise ValueError("a fault must be a JSON object")
            self.faults.add(Fault.from_dict(data))
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse({"faults": len(self.faults)})

    async def admin_session(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "Invalid authentication")
        record = self.store.get(request.path_params["session_id"])
        if record is None:
            return _error(404, "session not found")
        return JSONResponse(
            {
                "session_id": record.session_id,
                "variables": record.variables,
                "turns": record.turns,
                "created_by": record.created_by,
            }
        )

    async def admin_turns(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "Invalid authentication")
        turns = self.store.turn_log.turns(request.query_params.get("session_id"))
        return JSONResponse({"turns": [turn.to_dict() for turn in turns]})

    async def admin_reset(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "Invalid authentication")
        self.store.reset()
        self.faults.clear()
        return JSONResponse({"status": "reset"})


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(500, "Internal server error")


def create_app(
    config: EmulatorConfig,
    pathway: Pathway,
    store: SessionStore,
    faults: FaultPlan,
    closing: threading.Event | None = None,
) -> Starlette:
    """Build the ASGI app over shared state (usable with any ASGI server or TestClient).

    Setting ``closing`` ends open streams (by dropping their connections), so a server
    shutting down does not wait for a long stall to finish.

    Example:
        >>> from langchain_pathors.emulator import EchoPathway
        >>> app = create_app(EmulatorConfig(), EchoPathway(), SessionStore(), FaultPlan())
        >>> type(app).__name__
        'Starlette'
    """
    handlers = _Handlers(config, pathway, store, faults, closing or threading.Event())
    every = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [
        Route("/_emulator/health", handlers.health, methods=["GET"]),
        Route("/_emulator/faults", handlers.admin_faults, methods=["POST", "DELETE"]),
        Route("/_emulator/sessions/{session_id:path}", handlers.admin_session, methods=["GET"]),
        Route("/_emulator/turns", handlers.admin_turns, methods=["GET"]),
        Route("/_emulator/reset", handlers.admin_reset, methods=["POST"]),
        Route("/{path:path}", handlers.api, methods=every),
    ]
    return Starlette(routes=routes, exception_handlers={Exception: _server_error})
