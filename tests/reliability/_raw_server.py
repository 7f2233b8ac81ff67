"""A tiny scripted HTTP/1.1 server on 127.0.0.1, for replies the emulator cannot give.

It records every request it receives and answers each with bytes a test chooses: a
redirect, a stream of arbitrary (garbled) bytes sent in pieces, a body cut mid-way, or a
hostile reply produced by a generator as it is sent (hundreds of MB, a body that never
ends, a status line one byte at a time). The connection is closed after every reply, so a
body without a length ends there; a generator's reply ends when the client goes away.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

__all__ = ["RawRequest", "RawServer", "http_reply"]

_READ_TIMEOUT = 5.0
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class RawRequest:
    """One request as received: the request line, headers (lower-case names), body."""

    request_line: str
    headers: dict[str, str]
    body: bytes


# A reply is the pieces sent one after another (a short pause between them, so the client
# sees separate reads); None as a piece means "drop the connection now". A generator is
# consumed as it is sent, so it may be endless or sleep between pieces.
Reply = Iterable[bytes | None]
Script = Callable[[RawRequest], Reply]


def http_reply(
    status: int,
    headers: dict[str, str] | None = None,
    pieces: Iterable[bytes | None] = (),
    *,
    reason: str = "X",
) -> Iterator[bytes | None]:
    """A status line and headers (`Connection: close` added), then the body pieces.

    The pieces are taken lazily, so a generator of pieces is never held whole.
    """
    head = f"HTTP/1.1 {status} {reason}\r\n"
    for name, value in {**(headers or {}), "Connection": "close"}.items():
        head += f"{name}: {value}\r\n"
    return itertools.chain([(head + "\r\n").encode("latin-1")], pieces)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(_READ_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
            piece = sock.recv(65536)
            if not piece:
                return
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
        request = RawRequest(lines[0], headers, body)
        with self.server.lock:
            self.server.received.append(request)
        try:
            for index, piece in enumerate(self.server.script(request)):
                if piece is None:
                    break
                if index:
                    time.sleep(self.server.piece_pause)
                sock.sendall(piece)
        except OSError:  # the client went away: nothing more to do
            return
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[RawRequest] = []
        self.script: Script = lambda request: http_reply(204)
        self.piece_pause = 0.001


class RawServer:
    """Serve scripted replies on an ephemeral loopback port until stopped.

    Example:
        ```python
        with RawServer() as server:
            server.script = lambda request: http_reply(307, {"Location": "http://..."})
        ```
    """

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def script(self) -> Script:
        return self._server.script

    @script.setter
    def script(self, value: Script) -> None:
        self._server.script = value

    @property
    def piece_pause(self) -> float:
        return self._server.piece_pause

    @piece_pause.setter
    def piece_pause(self, value: float) -> None:
        self._server.piece_pause = value

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[RawRequest]:
        with self._server.lock:
            return list(self._server.received)

    def clear(self) -> None:
        with self._server.lock:
            self._server.received.clear()

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
