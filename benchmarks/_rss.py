"""Memory worker, run in a fresh process per contender: N invokes, RSS sampled as it goes.

`python -m benchmarks._rss {chat_pathors,chat_openai} BASE_URL API_ROOT CALLS` prints one
JSON object: RSS samples `[[calls_done, rss_bytes], ...]` and the peak RSS (VmHWM).
"""

from __future__ import annotations

import gc
import json
import resource
import sys

import psutil

from benchmarks import _contenders

SAMPLES = 20


def _peak_rss() -> int:
    """This process's peak RSS: VmHWM, since Linux carries ru_maxrss over from the parent.

    (A child starts with the high-water mark its parent had when it forked, so ru_maxrss
    would report the benchmark runner's peak, not the worker's.)
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run(contender: str, base_url: str, api_root: str, calls: int) -> dict[str, object]:
    if contender == "chat_pathors":
        call, close = _contenders.chat_pathors_invoke(base_url)
    elif contender == "chat_openai":
        call, close = _contenders.chat_openai_invoke(api_root)
    else:
        msg = f"unknown contender {contender!r}"
        raise SystemExit(msg)
    process = psutil.Process()
    every = max(1, calls // SAMPLES)
    try:
        call()  # imports and the connection pool are set up before the first sample
        gc.collect()
        samples = [[0, process.memory_info().rss]]
        for done in range(1, calls + 1):
            call()
            if done % every == 0 or done == calls:
                samples.append([done, process.memory_info().rss])
    finally:
        close()
    peak = max(_peak_rss(), *(s[1] for s in samples))
    return {"contender": contender, "calls": calls, "samples": samples, "peak_rss": peak}


if __name__ == "__main__":
    name, base, root, count = sys.argv[1:5]
    print(json.dumps(run(name, base, root, int(count))))
