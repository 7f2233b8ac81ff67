"""`python -m benchmarks [--quick] [--only PHASES]`: run every phase, then write the report.

Each timing phase alternates its contenders in round-robin rounds (round r starts with
contender r mod k), so drift on a noisy machine hits all of them alike, and quotes the
median over rounds. The emulator runs in child processes (see `_emulator`), so
`time.process_time()` in this process is the client's CPU alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import httpx
import psutil

from benchmarks import _contenders as c
from benchmarks import _report
from benchmarks._emulator import ROOT, EmulatorProcess, split_cpus

T = TypeVar("T")
PHASES = (
    "invoke",
    "history",
    "tools",
    "stream",
    "reuse",
    "asyncio_run",
    "instances",
    "concurrency",
    "import",
    "rss",
)


@dataclass(frozen=True)
class Plan:
    """How much of everything to do."""

    invoke_rounds: int
    invoke_calls: int  # per contender per round
    history_sizes: tuple[int, ...]
    history_rounds: int
    history_calls: tuple[int, ...]  # per size: calls per contender per round
    tool_count: int
    tools_rounds: int
    tools_calls: int
    stream_rounds: int
    stream_chunks: int
    stream_calls: int  # streams per contender per round
    reuse_streams: int
    asyncio_rounds: int
    asyncio_calls: int
    instances: int
    concurrency_rounds: int
    concurrency: int
    latency: float
    import_runs: int
    rss_calls: int
    rss_openai: bool


# Many short rounds rather than a few long ones: a median over more rounds is steadier
# against the bursts of load a shared 2-core machine has (the total calls are the same).
FULL = Plan(
    invoke_rounds=21,
    invoke_calls=100,
    history_sizes=(100, 1000),
    history_rounds=15,
    history_calls=(36, 6),
    tool_count=50,
    tools_rounds=15,
    tools_calls=36,
    stream_rounds=15,
    stream_chunks=200,
    stream_calls=6,
    reuse_streams=20,
    asyncio_rounds=11,
    asyncio_calls=20,
    instances=1000,
    concurrency_rounds=5,
    concurrency=500,
    latency=0.05,
    import_runs=11,
    rss_calls=10_000,
    rss_openai=True,
)
QUICK = Plan(
    invoke_rounds=3,
    invoke_calls=25,
    history_sizes=(100, 1000),
    history_rounds=3,
    history_calls=(4, 1),
    tool_count=50,
    tools_rounds=3,
    tools_calls=4,
    stream_rounds=3,
    stream_chunks=200,
    stream_calls=1,
    reuse_streams=20,
    asyncio_rounds=2,
    asyncio_calls=3,
    instances=50,
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


def _cpu_per_call(
    built: dict[str, tuple[c.Invoke, Callable[[], None]]], rounds: int, calls: int
) -> dict[str, Any]:
    """Client CPU per call of each contender: warm-up, then `rounds` round-robin samples."""
    try:
        for call, _ in built.values():
            for _ in range(3):
                call()

        def measure(call: c.Invoke) -> Callable[[], float]:
            def run() -> float:
                t0 = time.process_time()
                for _ in range(calls):
                    call()
                return (time.process_time() - t0) / calls

            return run

        cpu = round_robin({n: measure(call) for n, (call, _) in built.items()}, rounds)
    finally:
        for _, close in built.values():
            close()
    return summarise(cpu)


# ----------------------------------------------------------------------------- history
def bench_history(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    """Invoke with a long history: the floor sends the same history, converted once."""
    sizes = {}
    for size, calls in zip(plan.history_sizes, plan.history_calls, strict=True):
        messages = c.history(size)
        built = {
            "raw_httpx": c.raw_httpx_history(emu.api_root, messages),
            "langchain_floor": c.langchain_floor_history(messages),
            "chat_pathors": c.chat_pathors_history(emu.base_url, messages),
            "chat_openai": c.chat_openai_history(emu.api_root, messages),
        }
        sizes[str(size)] = _cpu_per_call(built, plan.history_rounds, calls)
        emu.reset()
    return {"cpu_per_call": sizes}


# ----------------------------------------------------------------------------- tools
def bench_tools(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    """`bind_tools(tools).invoke(...)` on every call, as an agent loop does."""
    tools = c.make_tools(plan.tool_count)
    built = {
        "raw_httpx": c.raw_httpx_tools(emu.api_root, tools),
        "langchain_floor": c.langchain_floor_invoke(),
        "chat_pathors": c.chat_pathors_tools(emu.base_url, tools),
        "chat_openai": c.chat_openai_tools(emu.api_root, tools),
    }
    return {
        "tools": plan.tool_count,
        "cpu_per_call": _cpu_per_call(built, plan.tools_rounds, plan.tools_calls),
    }


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
                seen = sum(call() for _ in range(plan.stream_calls))
                return (time.process_time() - t0) / seen

            return run

        cpu = round_robin(
            {name: measure(call) for name, (call, _) in built.items()}, plan.stream_rounds
        )
    finally:
        for _, close in built.values():
            close()
    return {"chunks": n, "cpu_per_chunk": summarise(cpu)}


# ----------------------------------------------------------------------------- reuse
def _local_ports(port: int) -> set[int]:
    return {
        conn.laddr.port
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    }


def bench_reuse(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    """Sequential streams: how many connections they use (sampled at each first chunk)."""
    from langchain_openai import ChatOpenAI  # noqa: F401 - imported before the count

    port = int(emu.base_url.rsplit(":", 1)[1])
    prompt = "stream 20"
    results = {}

    def raw() -> tuple[Any, Callable[[], None]]:
        client = httpx.Client(limits=c.LIMITS)
        url = f"{emu.api_root}/chat/completions"
        body = {"messages": [{"role": "user", "content": prompt}], "stream": True}

        def streams() -> Any:
            with client.stream("POST", url, json=body, headers=c.HEADERS) as response:
                for line in response.iter_lines():
                    yield line
                    if line == "data: [DONE]":
                        break

        return streams, client.close

    def lc(model: Any, close: Callable[[], None]) -> tuple[Any, Callable[[], None]]:
        return (lambda: model.stream(prompt)), close

    pathors = c.chat_pathors(emu.base_url)
    openai = c.chat_openai(emu.api_root)
    makers: dict[str, Callable[[], tuple[Any, Callable[[], None]]]] = {
        "raw_httpx": raw,
        "chat_pathors": lambda: lc(pathors, pathors.close),
        "chat_openai": lambda: lc(openai, lambda: None),
    }
    for name, maker in makers.items():
        stream, close = maker()
        before = _local_ports(port)
        used: set[int] = set()
        try:
            for _ in range(plan.reuse_streams):
                for index, _item in enumerate(stream()):
                    if index == 0:
                        used |= _local_ports(port)
        finally:
            close()
        results[name] = {
            "streams": plan.reuse_streams,
            "connections_used": len(used),
            "new_connections": len(used - before),
        }
    return {"streams": plan.reuse_streams, "runs": results}


# ----------------------------------------------------------------------------- asyncio.run
def bench_asyncio_run(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    """`asyncio.run(model.ainvoke(...))` per request: CPU, failures, leaked sockets."""
    import warnings

    built = {
        "raw_httpx": c.raw_httpx_asyncio_run(emu.api_root),
        "floor": c.floor_asyncio_run(emu.api_root),
        "chat_pathors": c.chat_pathors_asyncio_run(emu.base_url),
        "chat_openai": c.chat_openai_asyncio_run(emu.api_root),
    }
    failures = {name: 0 for name in built}
    errors: dict[str, str] = {}
    resource_warnings = {name: 0 for name in built}

    def measure(name: str, call: c.Invoke) -> Callable[[], float]:
        def run() -> float:
            spent = 0.0
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ResourceWarning)
                for _ in range(plan.asyncio_calls):
                    t0 = time.process_time()
                    try:
                        call()
                    except Exception as exc:  # counted, not fatal
                        failures[name] += 1
                        errors.setdefault(name, repr(exc)[:200])
                    spent += time.process_time() - t0
                gc.collect()  # what was left to the garbage collector warns now
            resource_warnings[name] += sum(
                1 for w in caught if issubclass(w.category, ResourceWarning)
            )
            return spent / plan.asyncio_calls

        return run

    try:
        for call, _ in built.values():
            with contextlib.suppress(Exception):
                call()
        cpu = round_robin(
            {n: measure(n, call) for n, (call, _) in built.items()}, plan.asyncio_rounds
        )
    finally:
        for _, close in built.values():
            close()
    calls = plan.asyncio_rounds * plan.asyncio_calls
    # The floor ran raw httpx's request and the fake model's ainvoke in one loop; what it
    # spent beyond raw httpx (same round) is LangChain's own cost, so raw + that = floor.
    lc_own = [f - r for f, r in zip(cpu.pop("floor"), cpu["raw_httpx"], strict=True)]
    return {
        "calls": calls,
        "cpu_per_call": summarise({**cpu, "langchain_floor": lc_own}),
        "failed_calls": failures,
        "first_error": errors,
        "resource_warnings": resource_warnings,
    }


# ----------------------------------------------------------------------------- instances
def bench_instances(emu: EmulatorProcess, plan: Plan) -> dict[str, Any]:
    """Per-user models, each in a fresh worker process (see `_instances`)."""
    runs = {}
    for name in ("chat_pathors", "chat_openai"):
        emu.reset()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks._instances",
                name,
                emu.base_url,
                emu.api_root,
                str(plan.instances),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        runs[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"instances": plan.instances, "runs": runs}


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
    server_cpu: dict[str, list[float]] = {name: [] for name in built}
    server = psutil.Process(slow.pid)

    def server_seconds() -> float:
        times = server.cpu_times()
        return float(times.user + times.system)

    failures: dict[str, int] = {name: 0 for name in built}

    async def burst(name: str) -> tuple[float, float, float]:
        call = built[name][0]
        s0 = server_seconds()
        w0, t0 = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(
            *(call() for _ in range(plan.concurrency)), return_exceptions=True
        )
        w1, t1 = time.perf_counter(), time.process_time()
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:  # counted and reported, not fatal: one reset connection is no reason to stop
            failures[name] += len(errors)
            _log(f"{name}: {len(errors)} of {plan.concurrency} calls failed, e.g. {errors[0]!r}")
        return w1 - w0, t1 - t0, server_seconds() - s0

    try:
        names = list(built)
        wall: dict[str, list[float]] = {name: [] for name in names}
        for r in range(plan.concurrency_rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                # Every timed burst starts from the same state: the pool of a model that has
                # just served a burst (as in a busy app), whatever ran before it.
                await burst(name)
                gc.collect()
                await asyncio.sleep(0.2)
                w, t, srv = await burst(name)
                wall[name].append(w)
                cpu[name].append(t)
                server_cpu[name].append(srv)
    finally:
        for _, aclose in built.values():
            await aclose()
    return {
        "wall": summarise(wall),
        "client_cpu": summarise(cpu),
        "server_cpu": summarise(server_cpu),
        "failed_calls": failures,
        "ideal_limits": str(c.LIMITS),
    }


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
# Installed here by dev tools (pytest-codspeed, mkdocs, uvicorn), in neither package's
# dependencies: httpx imports its optional CLI (`httpx._main`) only when they are present.
NOT_DEPENDENCIES = ("click", "pygments", "rich")
_BLOCK = f"""
import sys
class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {NOT_DEPENDENCIES!r}:
            raise ImportError(name)
sys.meta_path.insert(0, _NotInstalled())
"""
_TIMED = """{block}
import time
t0 = time.perf_counter()
{core}
t1 = time.perf_counter()
{target}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _import_once(target: str, *, clean: bool) -> tuple[float, float]:
    """In a fresh interpreter: seconds to import core's chat_models, then the extra for target."""
    code = _TIMED.format(block=_BLOCK if clean else "", core=CORE, target=target)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
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
    their sum its import time from cold. Two environments: this one as it is, and "as
    installed", where the modules in NOT_DEPENDENCIES cannot be imported, as after a
    plain `pip install` of either package. Bytecode caches are warmed first (pip compiles
    them at install time).
    """
    _import_once("\n".join(IMPORTS.values()), clean=False)  # writes every bytecode cache
    core: list[float] = []

    def measure(target: str, clean: bool) -> Callable[[], tuple[float, float]]:
        def run() -> tuple[float, float]:
            times = _import_once(target, clean=clean)
            core.append(times[0])
            return times

        return run

    measures = {
        f"{name}{suffix}": measure(target, clean=bool(suffix))
        for name, target in IMPORTS.items()
        for suffix in ("", "_installed")
    }
    pairs = round_robin(measures, plan.import_runs)
    extra = {name: [p[1] for p in runs] for name, runs in pairs.items()}
    total = {name: [p[0] + p[1] for p in runs] for name, runs in pairs.items()}
    return {
        "core": summarise({"core": core})["core"],
        "extra": summarise(extra),
        "total": summarise(total),
        "statements": {"core": CORE, **IMPORTS},
        "not_dependencies": list(NOT_DEPENDENCIES),
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


def _bytecode_cache() -> None:
    """Cache bytecode (in benchmarks/results/.pycache) even where PYTHONDONTWRITEBYTECODE is set.

    Otherwise every child process (emulators, RSS workers, import runs) compiles all of
    LangChain from source. Children inherit the setting through the environment.
    """
    prefix = str(ROOT / "benchmarks" / "results" / ".pycache")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.dont_write_bytecode = False
    sys.pycache_prefix = prefix


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _bytecode_cache()
    split_cpus()  # this process (and its workers) off the emulators' CPU
    plan = QUICK if args.quick else FULL
    phases = [p for p in args.only.split(",") if p] or list(PHASES)
    unknown = set(phases) - set(PHASES)
    if unknown:
        _parser().error(f"unknown phases: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    results: dict[str, Any] = {"plan": asdict(plan), "quick": args.quick}
    server_phases = [p for p in PHASES if p != "import" and p in phases]
    if server_phases:
        with EmulatorProcess.pair(plan.latency) as (fast, slow):
            _log(
                f"emulators: {fast.base_url} (pid {fast.pid}), {slow.base_url} "
                f"(pid {slow.pid}, {plan.latency * 1000:.0f} ms latency)"
            )
            steps: dict[str, Callable[[], dict[str, Any]]] = {
                "invoke": lambda: bench_invoke(fast, plan),
                "history": lambda: bench_history(fast, plan),
                "tools": lambda: bench_tools(fast, plan),
                "stream": lambda: bench_stream(fast, plan),
                "reuse": lambda: bench_reuse(fast, plan),
                "asyncio_run": lambda: bench_asyncio_run(fast, plan),
                "instances": lambda: bench_instances(fast, plan),
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
