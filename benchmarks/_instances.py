"""Per-user instances worker, run in a fresh process per contender.

`python -m benchmarks._instances {chat_pathors,chat_openai} BASE_URL API_ROOT N` warms
up one model, times its warm calls, then builds N models (one per "user", all kept, as a
per-user cache keeps them) that make one call each. It prints one JSON object: the CPU of
building a model and making its first call, the warm call's CPU, and the growth of RSS
and open file descriptors over the N models.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil

from benchmarks import _contenders

WARM_CALLS = 50


def run(contender: str, base_url: str, api_root: str, count: int) -> dict[str, Any]:
    make: Callable[[], Any]
    if contender == "chat_pathors":
        make = lambda: _contenders.chat_pathors(base_url)  # noqa: E731
    elif contender == "chat_openai":
        make = lambda: _contenders.chat_openai(api_root)  # noqa: E731
    else:
        msg = f"unknown contender {contender!r}"
        raise SystemExit(msg)
    process = psutil.Process()
    warm = make()
    for _ in range(10):  # imports, the shared pools, first-call caches
        warm.invoke(_contenders.PROMPT)
    warm_cpu = []
    for _ in range(WARM_CALLS):
        t0 = time.process_time()
        warm.invoke(_contenders.PROMPT)
        warm_cpu.append(time.process_time() - t0)
    gc.collect()
    rss0, fds0 = process.memory_info().rss, process.num_fds()
    users: dict[int, Any] = {}
    first_cpu = []
    failures = 0
    for user in range(count):
        t0 = time.process_time()
        model = make()
        try:
            model.invoke(_contenders.PROMPT)
        except Exception:  # counted, not fatal
            failures += 1
        first_cpu.append(time.process_time() - t0)
        users[user] = model
    gc.collect()
    rss1, fds1 = process.memory_info().rss, process.num_fds()
    return {
        "contender": contender,
        "instances": count,
        "warm_call_cpu": statistics.median(warm_cpu),
        "first_call_cpu": statistics.median(first_cpu),
        "first_call_cpu_quartiles": statistics.quantiles(first_cpu, n=4),
        "rss_growth": rss1 - rss0,
        "rss_per_instance": (rss1 - rss0) / count,
        "fds_growth": fds1 - fds0,
        "failures": failures,
    }


if __name__ == "__main__":
    name, base, root, number = sys.argv[1:5]
    print(json.dumps(run(name, base, root, int(number))))
