"""Run the Pathors emulator from the command line.

Example:
    $ pathors-emulator --port 8787  # or: python -m langchain_pathors.emulator --port 8787
    export PATHORS_BASE_URL=http://127.0.0.1:8787
    export PATHORS_PROJECT_ID=demo-project
    export PATHORS_API_KEY=pathors-emulator-key

``--pathway`` takes ``echo`` (the default) or ``module:attribute`` naming a pathway, a
LangChain chat model, a function, or a class to instantiate without arguments.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ._limits import EmulatorLimits
from ._server import PathorsEmulator


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_pathway(spec: str) -> Any:
    if spec == "echo":
        return None
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise SystemExit(f"--pathway must be 'echo' or 'module:attribute', not {spec!r}")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target() if isinstance(target, type) else target


def _parser() -> argparse.ArgumentParser:
    # Name the command the way it was started: the console script or `python -m`.
    script = os.path.basename(sys.argv[0]) == "pathors-emulator"
    parser = argparse.ArgumentParser(
        prog="pathors-emulator" if script else "python -m langchain_pathors.emulator",
        description="Serve a local emulator of the Pathors API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (loopback)")
    parser.add_argument("--port", type=int, default=8787, help="port (0 = any free port)")
    parser.add_argument("--project-id", default="demo-project")
    parser.add_argument("--api-key", default="pathors-emulator-key")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--chunk-latency", type=float, default=0.0, help="seconds per event")
    parser.add_argument("--pathway", default="echo", help="'echo' or module:attribute")
    parser.add_argument("--seed", type=int, default=0, help="seed for fault probabilities")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback host"
    )
    defaults = EmulatorLimits()
    for name, meaning in (
        ("max_body_bytes", "largest request body (413 above)"),
        ("max_sessions", "sessions kept (least recently used forgotten)"),
        ("max_recorded_requests", "requests kept in the request log"),
    ):
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=getattr(defaults, name),
            help=f"{meaning}; default {getattr(defaults, name)}",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, print the connection settings, serve until Ctrl-C or SIGTERM.

    Example:
        >>> main(["--host", "0.0.0.0"])  # doctest: +SKIP
        refusing to bind 0.0.0.0: not a loopback address (pass --allow-remote to insist)

    """
    args = _parser().parse_args(argv)
    if not _is_loopback(args.host) and not args.allow_remote:
        print(
            f"refusing to bind {args.host}: not a loopback address (pass --allow-remote to insist)",
            file=sys.stderr,
        )
        return 2
    emulator = PathorsEmulator(
        _load_pathway(args.pathway),
        project_id=args.project_id,
        api_key=args.api_key,
        latency=args.latency,
        chunk_latency=args.chunk_latency,
        host=args.host,
        port=args.port,
        seed=args.seed,
        limits=EmulatorLimits(
            max_body_bytes=args.max_body_bytes,
            max_sessions=args.max_sessions,
            max_recorded_requests=args.max_recorded_requests,
        ),
    )
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"export PATHORS_BASE_URL={shlex.quote(emulator.base_url)}")
    print(f"export PATHORS_PROJECT_ID={shlex.quote(emulator.project_id)}")
    print(f"export PATHORS_API_KEY={shlex.quote(emulator.api_key)}", flush=True)
    print("# Pathors emulator running; Ctrl-C to stop.", file=sys.stderr, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
