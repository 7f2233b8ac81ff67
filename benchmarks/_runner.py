"""`python -m benchmarks [--quick] [--only PHASES]`: run every phase, then write the report.

Each timing phase alternates its contenders in round-robin rounds (round r starts with
contender r mod k), so drift on a noisy machine hits all of them alike, and quotes the
median over rounds. The emulator runs in child processes (see `_emulator`), so
`time.process_time()` in this process is the client's CPU alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from benchmarks import _contenders as c
from benchmarks import _report
from benchmarks._emulator import ROOT, EmulatorProcess

T = TypeVar("T")
PHASES = ("invoke", "stream", "concurrency", "import", "rss")


@dataclass(frozen=True)
class Plan:
    """How much of everything to do."""

    invoke_rounds: int
    invoke_calls: int  # per contender per round
    stream_rounds: int
    stream_chunks: int
    concurrency_rounds: int
    concurrency: int
    latency: float
    import_runs: int
    rss_calls: int
    rss_openai: bool


FULL = Plan(
    invoke_rounds=9,
    invoke_calls=200,
    stream_rounds=7,
    stream_chunks=2000,
    concurrency_rounds=5,
    concurrency=500,
    latency=0.05,
    import_runs=9,
    rss_calls=10_000,
    rss_openai=True,
)
QUICK = Plan(
    invoke_rounds=3,
    invoke_calls=25,
    stream_rounds=1,
    stream_chunks=2000,
    concurrency_rounds=1,
    concurrency=100,
    latency=0.05,
    import_runs=1,
    rss_calls=500,
    rss_openai=False,
)


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def round_robin(measures: dict[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run each measure once per round, rotating who goes first; return samples per name."""
    names = list(measures)
    samples: dict[str, list[T]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()  # one contender's garbage is not collected on another's clock
            samples[name].append(measures[name]())
    return samples


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "samples": values,
        }
        for name, values in samples.items()
    }


# ----------------------------------------------------------------------------- invoke
def bench_invoke(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    built = {
        "raw_httpx": c.raw_httpx_invoke(emu.api_root),
        "langchain_floor": c.langchain_floor_invoke(),
        "chat_pathors": c.chat_pathors_invoke(emu.base_url),
        "chat_openai": c.chat_openai_invoke(emu.api_root),
    }
    wall: dict[str, list[float]] = {name: [] for name in built}
    try:
        for call, _ in built.values():  # warm-up: imports, pools, first-call caches
            for _ in range(10):
                call()

        def measure(name: str, call: c.Invoke) -> Callable[[], float]:
            def run() -> float:
                w0, t0 = time.perf_counter(), time.process_time()
                for _ in range(plan.invoke_calls):
                    call()
                cpu = (time.process_time() - t0) / plan.invoke_calls
                wall[name].append((time.perf_counter() - w0) / plan.invoke_calls)
                return cpu

            return run

        cpu = round_robin(
            {n: measure(n, call) for n, (call, _) in built.items()}, plan.invoke_rounds
        )
    finally:
        for _, close in built.values():
            close()
    return {"cpu_per_call": summarise(cpu), "wall_per_call": summarise(wall)}


# ----------------------------------------------------------------------------- stream
def bench_stream(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    n = plan.stream_chunks
    built = {
        "raw_httpx": c.raw_httpx_stream(emu.api_root, n),
        "langchain_floor": c.langchain_floor_stream(n),
        "chat_pathors": c.chat_pathors_stream(emu.base_url, n),
        "chat_openai": c.chat_openai_stream(emu.api_root, n),
    }
    try:
        for name, (call, _) in built.items():  # warm-up, and a check that N chunks arrive
            seen = call()
            if seen != n:
                msg = f"{name} saw {seen} content chunks, expected {n}"
                raise RuntimeError(msg)

        def measure(call: c.Stream) -> Callable[[], float]:
            def run() -> float:
                t0 = time.process_time()
                seen = call()
                return (time.process_time() - t0) / seen

            return run

        cpu = round_robin(
            {name: measure(call) for name, (call, _) in built.items()}, plan.stream_rounds
        )
    finally:
        for _, close in built.values():
            close()
    return {"chunks": n, "cpu_per_chunk": summarise(cpu)}


# ----------------------------------------------------------------------------- concurrency
def _single_call_wall(api_root: str, calls: int = 50) -> float:
    """Median wall time of one raw-httpx call on a warm connection to the no-latency server."""
    call, close = c.raw_httpx_invoke(api_root)
    try:
        for _ in range(10):
            call()
        walls = []
        for _ in range(calls):
            w0 = time.perf_counter()
            call()
            walls.append(time.perf_counter() - w0)
    finally:
        close()
    return statistics.median(walls)


async def _concurrency(slow: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    built = {
        "raw_httpx_async": c.raw_httpx_ainvoke(slow.api_root),
        "chat_pathors": c.chat_pathors_ainvoke(slow.base_url),
        "chat_openai": c.chat_openai_ainvoke(slow.api_root),
    }
    cpu: dict[str, list[float]] = {name: [] for name in built}

    async def burst(call: c.AInvoke) -> tuple[float, float]:
        w0, t0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(call() for _ in range(plan.concurrency)))
        return time.perf_counter() - w0, time.process_time() - t0

    try:
        for call, _ in built.values():  # warm-up: opens the pool's connections
            await burst(call)
        names = list(built)
        wall: dict[str, list[float]] = {name: [] for name in names}
        for r in range(plan.concurrency_rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                await asyncio.sleep(0.2)  # let the server finish closing the last burst
                w, t = await burst(built[name][0])
                wall[name].append(w)
                cpu[name].append(t)
    finally:
        for _, aclose in built.values():
            await aclose()
    return {"wall": summarise(wall), "client_cpu": summarise(cpu)}


def bench_concurrency(slow: EmulatorProcess, fast: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    result = asyncio.run(_concurrency(slow, plan))
    single = _single_call_wall(fast.api_root)
    result.update(
        {
            "calls": plan.concurrency,
            "latency": plan.latency,
            "single_call_wall": single,
            "bound": plan.latency + single,
        }
    )
    return result


# ----------------------------------------------------------------------------- import
CORE = "from langchain_core.language_models.chat_models import BaseChatModel"
IMPORTS = {
    "langchain_pathors": "from langchain_pathors import ChatPathors",
    "langchain_openai": "from langchain_openai import ChatOpenAI",
}
_TIMED = """
import time
t0 = time.perf_counter()
{core}
t1 = time.perf_counter()
{target}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _import_once(target: str, env: dict[str, str]) -> tuple[float, float]:
    """In a fresh interpreter: seconds to import core's chat_models, then the extra for target."""
    out = subprocess.run(
        [sys.executable, "-c", _TIMED.format(core=CORE, target=target)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    core, extra = out.stdout.strip().splitlines()[-1].split()
    return float(core), float(extra)


def bench_import(plan: Plan) -> dict[str, Any]:
    """Import times in fresh interpreters, with warm bytecode caches.

    Each run imports langchain_core's chat_models (what any integration must import),
    then the integration, timing both: the second figure is the integration's own cost,
    and their sum its import time from cold. An installed package has its bytecode
    compiled (pip does it at install), so the caches are warmed first, in a private
    PYTHONPYCACHEPREFIX (which works where PYTHONDONTWRITEBYTECODE is set, and leaves the
    environment's files alone).
    """
    core: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        _import_once("\n".join(IMPORTS.values()), env)  # writes every bytecode cache

        def measure(target: str) -> Callable[[], tuple[float, float]]:
            def run() -> tuple[float, float]:
                times = _import_once(target, env)
                core.append(times[0])
                return times

            return run

        pairs = round_robin({n: measure(t) for n, t in IMPORTS.items()}, plan.import_runs)
    extra = {name: [p[1] for p in runs] for name, runs in pairs.items()}
    total = {name: [p[0] + p[1] for p in runs] for name, runs in pairs.items()}
    return {
        "core": summarise({"langchain_core_chat_models": core})["langchain_core_chat_models"],
        "extra": summarise(extra),
        "total": summarise(total),
        "statements": {"core": CORE, **IMPORTS},
    }


# ----------------------------------------------------------------------------- rss
def bench_rss(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    contenders = ["chat_pathors"] + (["chat_openai"] if plan.rss_openai else [])
    runs = {}
    for name in contenders:
        emu.reset()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks._rss",
                name,
                emu.base_url,
                emu.api_root,
                str(plan.rss_calls),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        runs[name] = _report.rss_summary(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"calls": plan.rss_calls, "runs": runs}


# ----------------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the CI smoke run (under a minute)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated phases to run (of {', '.join(PHASES)})"
    )
    return parser


def _run_phase(results: dict[str, Any], phase: str, step: Callable[[], dict[str, Any]]) -> None:
    _log(f"{phase} ...")
    t0 = time.perf_counter()
    results[phase] = step()
    results.setdefault("phase_seconds", {})[phase] = time.perf_counter() - t0
    _log(f"{phase} done in {time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    phases = [p for p in args.only.split(",") if p] or list(PHASES)
    unknown = set(phases) - set(PHASES)
    if unknown:
        _parser().error(f"unknown phases: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    results: dict[str, Any] = {"plan": asdict(plan), "quick": args.quick}
    server_phases = [p for p in ("invoke", "stream", "concurrency", "rss") if p in phases]
    if server_phases:
        with EmulatorProcess.pair(plan.latency) as (fast, slow):
            _log(
                f"emulators: {fast.base_url} (pid {fast.pid}), {slow.base_url} "
                f"(pid {slow.pid}, {plan.latency * 1000:.0f} ms latency)"
            )
            steps: dict[str, Callable[[], dict[str, Any]]] = {
                "invoke": lambda: bench_invoke(fast, plan),
                "stream": lambda: bench_stream(fast, plan),
                "concurrency": lambda: bench_concurrency(slow, fast, plan),
                "rss": lambda: bench_rss(fast, plan),
            }
            for phase in server_phases:
                _run_phase(results, phase, steps[phase])
                fast.reset()  # the server keeps a session per request: forget them
    if "import" in phases:  # no server needed; both emulators are stopped by now
        _run_phase(results, "import", lambda: bench_import(plan))
    results["duration_seconds"] = time.perf_counter() - started
    name = "quick" if args.quick else ("latest" if len(phases) == len(PHASES) else "partial")
    _report.write(results, name=name, publish=name == "latest")
    return 0
