"""Malformed HTTP on a real socket gets the JSON error shape, not uvicorn's plain text."""

from __future__ import annotations

import json
import socket

import pytest
from pytest_socket import socket_allow_hosts

from langchain_pathors.emulator import PathorsEmulator

CHAT = "/api/project/test-project/integration/api/chat/completions"


@pytest.fixture
def port() -> object:
    socket_allow_hosts(["127.0.0.1"])
    with PathorsEmulator() as emulator:
        yield int(emulator.base_url.rsplit(":", 1)[1])


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # no more input: the server answers and closes
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.enable_socket
@pytest.mark.parametrize(
    ("name", "request_bytes", "status"),
    [
        ("not HTTP", b"HELLO\r\n\r\n", 400),
        ("no Host header", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("a space in a header name", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
        ("a non-ASCII path", b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (
            "broken chunked framing",
            f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode(),
            400,
        ),
        ("a line break in the path", f"GET {CHAT}%0A HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 404),
        ("an asterisk target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (
            "a WebSocket upgrade",
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            404,
        ),
    ],
)
def test_malformed_http_gets_a_json_error(port: int, name: str, request_bytes: bytes, status: int):
    got, headers, body = exchange(port, request_bytes)
    assert got == status, name
    assert headers["content-type"] == "application/json"
    assert isinstance(json.loads(body)["error"], str)
