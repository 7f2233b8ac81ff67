"""A broken or hostile server cannot exhaust the client's memory or hold a call forever.

Each case is a scripted loopback server (`_raw_server`) and a ChatPathors call run in a
child process (`_client_child`), sync and async, so that the child's peak RSS measures the
client alone. Every case asserts the typed error and its message, a bound on the peak RSS
growth and on the wall time of the call, that the canary key appears nowhere (message,
args, traceback with its chain, `on_llm_error`, DEBUG logs of httpx, httpcore and this
package), and that no httpx or httpcore exception (which would hold the request and its
Authorization header) is left on the error's chain.

One child process serves the whole module (the peak is reset before each call).
The bounds are loose on purpose (a loaded 2-core machine), but far below what the same
cases cost before the caps: +800 MB, or never ending.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from ._raw_server import RawRequest, RawServer, Reply, http_reply
from .conftest import API_KEY, FIGURES

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
ALL_MODES = ("invoke", "ainvoke", "stream", "astream")
PLAIN = ("invoke", "ainvoke")
STREAMED = ("stream", "astream")
SSE = {"Content-Type": "text/event-stream"}
JSON = {"Content-Type": "application/json"}


def sse_chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def big_json(megabytes: int) -> Iterator[bytes]:
    """A completion whose content is `megabytes` MiB long, produced as it is sent."""
    yield b'{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"'
    for _ in range(megabytes):
        yield b"a" * MiB
    yield b'"},"finish_reason":"stop"}]}'


def endless_chunked() -> Iterator[bytes]:
    """A chunked body that never ends: 64 KiB chunks of JSON-ish text."""
    piece = b"[" * 65536
    while True:
        yield b"%x\r\n%s\r\n" % (len(piece), piece)


def endless(piece: bytes, pause: float = 0.0) -> Iterator[bytes]:
    while True:
        if pause:
            time.sleep(pause)
        yield piece


def trickle(data: bytes, pause: float) -> Iterator[bytes]:
    """`data` one byte at a time, `pause` seconds apart."""
    for byte in data:
        time.sleep(pause)
        yield bytes([byte])


def bomb(size: int, filler: bytes = b"\0") -> bytes:
    """`size` bytes of `filler`, gzipped twice (`Content-Encoding: gzip, gzip`)."""
    inner = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = filler * MiB
    parts = [inner.compress(block) for _ in range(size // MiB)]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


BOMB_SIZE = 256 * MiB  # eight times the default cap; a few hundred bytes on the wire


@pytest.fixture(scope="module")
def zero_bomb() -> bytes:
    return bomb(BOMB_SIZE)


@pytest.fixture(scope="module")
def newline_bomb() -> bytes:
    return bomb(BOMB_SIZE, b"\n")


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        raw.piece_pause = 0.0
        yield raw


class Child:
    """The client process: one JSON spec in, one JSON report out, with a time limit."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def ask(self, spec: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        if self.process is None or self.process.poll() is not None:
            self.stop()  # a child that died still has its pipes open here
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability._client_child"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                # Large buffers always mmapped, so that freeing one gives it back at once.
                env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"},
            )
        process = self.process
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(spec) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise AssertionError(f"the client process gave no answer in {timeout:.0f} s")
        line = process.stdout.readline()
        assert line, "the client process died"
        reports: list[dict[str, Any]] = json.loads(line)
        return reports

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            # Closed here, not left to the collector (ResourceWarning is an error in tests).
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()
            self.process = None


@pytest.fixture(scope="module")
def child() -> Iterator[Child]:
    worker = Child()
    yield worker
    worker.stop()


@dataclass
class Case:
    """What the server does, and how the call must end."""

    script: Callable[[RawRequest], Reply]
    modes: tuple[str, ...]
    error: str  # the exception's class name
    match: str  # a part of its message
    settings: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    max_rss_mib: float = 64.0  # peak RSS growth of the call
    max_seconds: float = 8.0  # wall time of the call
    requests: int | None = None  # how many requests the server must have seen, per mode


def run(server: RawServer, child: Child, case: Case) -> list[dict[str, Any]]:
    """Run the case's modes in the child process; check everything every case must meet."""
    name = case.script.__qualname__.split(".")[0].removeprefix("test_")
    server.script = case.script
    server.clear()
    spec = {
        "base_url": server.base_url,
        "api_key": API_KEY,
        "settings": case.settings,
        "session_id": case.session_id,
        "modes": list(case.modes),
    }
    reports = child.ask(spec, timeout=60 + 2 * case.max_seconds * len(case.modes))
    for report in reports:
        mode, error = report["mode"], report["error"]
        growth = (report["rss_growth"] or 0) / MiB
        FIGURES[f"hostile {name} {mode}"] = f"{report['elapsed']:.2f} s, peak RSS +{growth:.1f} MiB"
        assert error is not None, f"{mode}: the call succeeded"
        assert error["is_pathors_error"], f"{mode}: {error['type']}: {error['message']}"
        assert error["type"] == case.error, f"{mode}: {error['type']}: {error['message']}"
        assert case.match in error["message"], f"{mode}: {error['message']}"
        assert error["key_in"] == [], f"{mode}: the key leaked into {error['key_in']}"
        leaked = [t for t in error["chain_types"] if t.startswith(("httpx.", "httpcore."))]
        assert leaked == [], f"{mode}: {leaked} on the error's chain"
        assert report["elapsed"] < case.max_seconds, f"{mode}: took {report['elapsed']:.1f}s"
        if report["rss_growth"] is not None:
            assert growth < case.max_rss_mib, f"{mode}: peak RSS grew by {growth:.0f} MiB"
    if case.requests is not None:
        assert len(server.received) == case.requests * len(case.modes)
    return reports


# --------------------------------------------------------------------------- size caps
def test_200_mb_completion_stops_at_the_default_cap(server: RawServer, child: Child) -> None:
    # Before: returned normally after +800 MB. The default cap is 32 MiB.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, JSON, big_json(200)),
            PLAIN,
            "PathorsResponseError",
            "larger than max_response_bytes (33,554,432 bytes); raise it with ChatPathors(",
            max_rss_mib=64,
            requests=1,
        ),
    )


def test_200_mb_error_body_is_read_only_as_far_as_the_message_needs(
    server: RawServer, child: Child
) -> None:
    # Before: +800 MB over 3 requests. Each attempt now reads at most 64 KiB of it.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(500, JSON, big_json(200)),
            PLAIN,
            "PathorsServerError",
            '{"id":"x"',  # the start of the body stands in for the message
            settings={"max_retries": 2},
            max_rss_mib=24,
            requests=3,
        ),
    )


def test_chunked_body_that_never_ends(server: RawServer, child: Child) -> None:
    # Before: killed at 3 GB.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, {**JSON, "Transfer-Encoding": "chunked"}, endless_chunked()),
            PLAIN,
            "PathorsResponseError",
            "max_response_bytes (8,388,608 bytes)",
            settings={"max_response_bytes": 8 * MiB},
            max_rss_mib=40,
            requests=1,
        ),
    )


def test_stream_that_never_ends_stops_at_the_cap(server: RawServer, child: Child) -> None:
    # Real content keeps the idle clock happy: only the size cap bounds this stream.
    run(
        server,
        child,
        Case(
            # Big events: LangChain's own cost per chunk would dominate tiny ones.
            lambda r: http_reply(200, SSE, endless(sse_chunk("word " * 12_000))),
            STREAMED,
            "PathorsStreamError",
            "max_response_bytes (8,388,608 bytes)",
            settings={"max_response_bytes": 8 * MiB},
            # LangChain keeps every chunk of a stream (and merges them for on_llm_error),
            # so a stream that reaches the cap costs several times the cap, never more.
            max_rss_mib=12 * 8,
            requests=1,
        ),
    )


def test_gzip_bomb_on_a_completion(server: RawServer, child: Child, zero_bomb: bytes) -> None:
    # Before: +2 GB. Content-Encoding "gzip, gzip", inflated piece by piece to the cap.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, {**JSON, "Content-Encoding": "gzip, gzip"}, [zero_bomb]),
            PLAIN,
            "PathorsResponseError",
            "max_response_bytes",
            max_rss_mib=64,
            requests=1,
        ),
    )


def test_gzip_bomb_on_a_retried_503(server: RawServer, child: Child, zero_bomb: bytes) -> None:
    # Before: killed at 3 GB.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(503, {**JSON, "Content-Encoding": "gzip, gzip"}, [zero_bomb]),
            PLAIN,
            "PathorsServerError",
            "(HTTP 503)",
            settings={"max_retries": 1},
            max_rss_mib=24,
            requests=2,
        ),
    )


def test_gzip_bomb_of_blank_lines_on_a_stream(
    server: RawServer, child: Child, newline_bomb: bytes
) -> None:
    # Before: +2 GB, still running after 30 s.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, {**SSE, "Content-Encoding": "gzip, gzip"}, [newline_bomb]),
            STREAMED,
            "PathorsStreamError",
            "max_response_bytes",
            max_rss_mib=48,
            requests=1,
        ),
    )


def test_bomb_in_a_session_is_not_retryable(
    server: RawServer, child: Child, zero_bomb: bytes
) -> None:
    # The server answered, so it applied the turn: LangChain's retry helpers must not.
    reports = run(
        server,
        child,
        Case(
            lambda r: http_reply(200, {**JSON, "Content-Encoding": "gzip, gzip"}, [zero_bomb]),
            PLAIN,
            "PathorsResponseError",
            "[session s-bomb]",
            session_id="s-bomb",
            max_rss_mib=64,
            requests=1,
        ),
    )
    assert all(report["error"]["is_retryable"] is False for report in reports)


@pytest.mark.parametrize("modes", [PLAIN, STREAMED], ids=["plain", "streamed"])
def test_invalid_gzip_is_a_response_error(
    server: RawServer, child: Child, modes: tuple[str, ...]
) -> None:
    # Before: a raw httpx.DecodingError.
    headers = {**(SSE if modes == STREAMED else JSON), "Content-Encoding": "gzip"}
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, headers, [b"\x1f\x8b\x08\x00 this is not gzip at all"]),
            modes,
            "PathorsStreamError" if modes == STREAMED else "PathorsResponseError",
            "cannot be decompressed",
            max_rss_mib=16,
            requests=1,
        ),
    )


def test_a_32_mb_line_is_refused_at_the_event_cap(server: RawServer, child: Child) -> None:
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, SSE, [b"data: ", *([b"x" * MiB] * 32), b"\n\n"]),
            STREAMED,
            "PathorsStreamError",
            "larger than max_event_bytes (4,194,304 bytes); raise it with ChatPathors(",
            max_rss_mib=48,
            requests=1,
        ),
    )


def test_a_32_mb_line_decodes_in_linear_time(server: RawServer, child: Child) -> None:
    # Before: 5.6 s to decode (the buffer was rescanned on every read); 100 MB never ended.
    # With both caps raised the line is read whole, and found not to be JSON.
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, SSE, [b"data: ", *([b"x" * MiB] * 32), b"\n\n"]),
            STREAMED,
            "PathorsStreamError",
            "not JSON",
            settings={"max_event_bytes": 64 * MiB, "max_response_bytes": 64 * MiB},
            max_rss_mib=256,
            max_seconds=4.0,
            requests=1,
        ),
    )


# --------------------------------------------------------------------------- time bounds
def test_body_one_byte_at_a_time_ends_at_total_timeout(server: RawServer, child: Child) -> None:
    # Before: never ended (each byte came well within the 60 s read timeout).
    body = json.dumps({"choices": [{"index": 0, "message": {"content": "x" * 100}}]}).encode()
    headers = {**JSON, "Content-Length": str(len(body))}
    run(
        server,
        child,
        Case(
            lambda r: http_reply(200, headers, trickle(body, 0.2)),
            PLAIN,
            "PathorsTimeoutError",
            "total_timeout (1.5s); raise it with ChatPathors(total_timeout=...)",
            settings={"total_timeout": 1.5, "max_retries": 0},
            max_rss_mib=16,
            max_seconds=3.5,
            requests=1,
        ),
    )


def test_status_line_one_byte_at_a_time_ends_at_total_timeout(
    server: RawServer, child: Child
) -> None:
    # Before: never ended. A stream's wait for its headers is bounded the same way.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    run(
        server,
        child,
        Case(
            lambda r: trickle(head, 0.2),
            ALL_MODES,
            "PathorsTimeoutError",
            "total_timeout (1.5s)",
            settings={"total_timeout": 1.5, "max_retries": 0},
            max_rss_mib=16,
            max_seconds=3.5,
            requests=1,
        ),
    )


def test_total_timeout_in_a_session_is_outcome_unknown(server: RawServer, child: Child) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    run(
        server,
        child,
        Case(
            lambda r: trickle(head, 0.2),
            PLAIN,
            "PathorsOutcomeUnknownError",
            "may or may not have been applied",
            settings={"total_timeout": 1.0},
            session_id="s-slow",
            max_rss_mib=16,
            max_seconds=3.0,
            requests=1,  # not re-sent: the server may have applied the turn
        ),
    )


def test_comment_growing_without_a_line_end_ends_at_the_idle_timeout(
    server: RawServer, child: Child
) -> None:
    # Before: never ended (no event ever completed, so the idle clock was never checked).
    def script(request: RawRequest) -> Reply:
        return http_reply(200, SSE, chain([sse_chunk("Hi"), b": keep"], endless(b"-", 0.2)))

    run(
        server,
        child,
        Case(
            script,
            STREAMED,
            "PathorsTimeoutError",
            "stream_idle_timeout=1.0",
            settings={"stream_idle_timeout": 1.0},
            max_rss_mib=16,
            max_seconds=3.5,
            requests=1,
        ),
    )


@pytest.mark.parametrize("pause", [0.05, 0.4], ids=["fast", "slow"])
def test_empty_deltas_forever_end_at_the_idle_timeout(
    server: RawServer, child: Child, pause: float
) -> None:
    # Before: never ended, whatever stream_idle_timeout said: an empty delta reset it.
    def script(request: RawRequest) -> Reply:
        return http_reply(200, SSE, chain([sse_chunk("Hi")], endless(sse_chunk(""), pause)))

    run(
        server,
        child,
        Case(
            script,
            STREAMED,
            "PathorsTimeoutError",
            "no progress",
            settings={"stream_idle_timeout": 1.0},
            max_rss_mib=16,
            max_seconds=3.5,
            requests=1,  # a chunk was delivered: never re-sent
        ),
    )
