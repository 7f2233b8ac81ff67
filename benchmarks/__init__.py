"""Benchmarks for `ChatPathors`, side by side with raw httpx and `ChatOpenAI`.

Run `python -m benchmarks` (or `make bench`); `--quick` is the CI smoke test. The
emulator runs in a separate process, so the client's CPU time is the client's alone.
See docs/benchmarks.md for the method and the latest results.
"""
