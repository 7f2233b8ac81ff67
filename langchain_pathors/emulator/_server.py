"""PathorsEmulator: the app served by uvicorn on a loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ._app import EmulatorConfig, create_app
from ._faults import Fault, FaultPlan
from ._pathways import as_pathway
from ._state import RecordedRequest, SessionRecord, SessionStore
from ._turn_log import TurnRecord

__all__ = ["PathorsEmulator"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _QuietCuts(logging.Filter):
    # A cut_after fault returns without finishing the response on purpose; uvicorn then
    # closes the socket (what we want) and logs an error about it (noise we drop).
    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


class PathorsEmulator:
    """A real-HTTP double of the Pathors API on ``127.0.0.1`` (an ephemeral port by default).

    Args:
        pathway: Who answers: a ``Pathway``, a LangChain chat model, a function
            ``fn(request) -> PathwayReply | str`` (sync or async), or ``None`` for
            ``EchoPathway``.
        project_id: The project id the routes accept.
        api_key: The bearer key requests must carry.
        pathway_id: ``pathwayId`` returned by the session endpoint.
        model: ``model`` in responses (unless the pathway's reply names one).
        latency: Seconds added to every valid request (e.g. ``0.05`` for benchmarks).
        chunk_latency: Seconds between stream events.
        host: Interface to bind (loopback unless you mean otherwise).
        port: Port to bind (``0`` = pick a free one).
        seed: Seed for fault probabilities, so load tests are reproducible.

    The settings live in ``emulator.config``; changing e.g. ``config.latency`` takes
    effect on the next request. Only ``start()`` opens a socket: tests can also drive
    ``app`` in-process with ``starlette.testclient.TestClient``.

    Examples:
        Point ``ChatPathors`` at it:

        >>> from langchain_pathors import ChatPathors
        >>> with PathorsEmulator() as emu:  # doctest: +SKIP
        ...     llm = ChatPathors(
        ...         base_url=emu.base_url, project_id=emu.project_id, api_key=emu.api_key
        ...     )
        ...     llm.invoke("Hi").content
        'You said: Hi'

        Or speak HTTP to it directly:

        >>> import httpx
        >>> with PathorsEmulator(project_id="demo", api_key="k") as emu:  # doctest: +SKIP
        ...     r = httpx.post(
        ...         f"{emu.base_url}/api/project/demo/integration/api/chat/completions",
        ...         headers={"Authorization": "Bearer k"},
        ...         json={"messages": [{"role": "user", "content": "Hi"}]},
        ...     )
        ...     r.json()["choices"][0]["message"]["content"]
        'You said: Hi'

    """

    def __init__(
        self,
        pathway: Any = None,
        *,
        project_id: str = "test-project",
        api_key: str = "test-key",
        pathway_id: str = "pathway-default",
        model: str = "pathway-default",
        latency: float = 0.0,
        chunk_latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = 0,
    ) -> None:
        self.config = EmulatorConfig(
            project_id, api_key, pathway_id, model, float(latency), float(chunk_latency)
        )
        self.pathway = as_pathway(pathway)
        self.host = host
        self.port = port
        self._store = SessionStore()
        self._faults = FaultPlan(seed)
        self._closing = threading.Event()
        self._app = create_app(self.config, self.pathway, self._store, self._faults, self._closing)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None

    # Lifecycle

    def start(self) -> PathorsEmulator:
        """Bind the port and serve in a daemon thread; returns once requests are accepted.

        ``with PathorsEmulator() as emu:`` calls it for you (and ``stop()`` on exit).

        Examples:
            >>> emu = PathorsEmulator().start()  # doctest: +SKIP
            >>> emu.base_url  # doctest: +SKIP
            'http://127.0.0.1:40417'
            >>> emu.stop()  # doctest: +SKIP

        Raises:
            RuntimeError: If already running or if the server fails to start.
            OSError: If the port cannot be bound.

        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        sock = _bind(self.host, self.port)
        self._closing.clear()
        self._bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            access_log=False,
            log_level="warning",
            backlog=2048,
            limit_concurrency=None,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_CUTS)
        thread = threading.Thread(
            target=_serve, args=(server, sock), name="pathors-emulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the Pathors emulator failed to start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and release the port (state and faults are kept).

        Open streams are ended. Calling it on a stopped emulator does nothing.

        Examples:
            >>> emu = PathorsEmulator().start()  # doctest: +SKIP
            >>> emu.stop()  # doctest: +SKIP
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._closing.set()  # open streams end now instead of holding up the shutdown
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():  # open streams outlived the graceful shutdown
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        self._server = self._thread = None

    def __enter__(self) -> PathorsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Where to reach it

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the server root (the client adds ``/api/project/...``)."""
        if self._bound_port is None or self._thread is None:
            raise RuntimeError("the emulator is not running: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._bound_port}"

    @property
    def project_id(self) -> str:
        """The project id the emulator serves."""
        return self.config.project_id

    @property
    def api_key(self) -> str:
        """The bearer key requests must carry."""
        return self.config.api_key

    @property
    def app(self) -> Starlette:
        """The ASGI app, sharing this emulator's state (for TestClient / ASGITransport)."""
        return self._app

    # Inspection and control

    def inject(self, fault: Fault) -> None:
        """Add a fault; earlier faults take precedence when several match a request.

        Examples:
            >>> emu.inject(Fault(status=503, times=2))  # doctest: +SKIP
            >>> emu.inject(Fault(cut_after=3, session_id="user-42"))  # doctest: +SKIP
        """
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every pending fault.

        Examples:
            >>> emu.clear_faults()  # doctest: +SKIP
        """
        self._faults.clear()

    def session(self, session_id: str) -> SessionRecord | None:
        """A snapshot of one session, or ``None`` if the server does not know it.

        Examples:
            >>> _ = llm.invoke("Hi", session_id="user-42")  # doctest: +SKIP
            >>> emu.session("user-42").turns  # doctest: +SKIP
            1
        """
        return self._store.get(session_id)

    def sessions(self) -> list[SessionRecord]:
        """Snapshots of every session, oldest first.

        Examples:
            >>> [s.session_id for s in emu.sessions()]  # doctest: +SKIP
            ['user-42']
        """
        return self._store.all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last 1,000 requests received on the API routes, oldest first."""
        return self._store.requests()

    def turns(self, session_id: str | None = None) -> list[TurnRecord]:
        """The turn log: every chat request, as the session it landed in saw it, oldest first.

        Args:
            session_id: Only this session's turns (default: every session's).

        Examples:
            >>> [(t.session_id, t.turn, t.roles) for t in emu.turns()]  # doctest: +SKIP
            [('user-42', 1, ('user',)), ('user-42', 2, ('user', 'assistant', 'tool'))]
        """
        return self._store.turn_log.turns(session_id)

    def turns_by_session(self) -> dict[str, list[TurnRecord]]:
        """The turn log grouped by session: sessions in the order of their first turn.

        Examples:
            >>> {sid: len(ts) for sid, ts in emu.turns_by_session().items()}  # doctest: +SKIP
            {'user-42': 2}
        """
        grouped: dict[str, list[TurnRecord]] = {}
        for turn in self._store.turn_log.turns():
            grouped.setdefault(turn.session_id, []).append(turn)
        return grouped

    def reset(self) -> None:
        """Forget sessions, recorded requests, the turn log and faults.

        Examples:
            >>> emu.reset()  # doctest: +SKIP
            >>> emu.sessions(), emu.requests  # doctest: +SKIP
            ([], [])
        """
        self._store.reset()
        self._faults.clear()


_QUIET_CUTS = _QuietCuts()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET
    try:
        if ipaddress.ip_address(host).version == 6:
            family = socket.AF_INET6
    except ValueError:  # a host name such as "localhost"
        pass
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto is TCP, and without it every response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    # asyncio.run, not a bare loop: it cancels and finishes leftover tasks, so their
    # connections are closed while the loop still runs.
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
