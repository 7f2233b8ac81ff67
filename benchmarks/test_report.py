"""Smoke test of the report (no server, no timing): `uv run pytest benchmarks`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import _report
from benchmarks._runner import summarise


def _results() -> dict[str, Any]:
    def s(**values: list[float]) -> dict[str, Any]:
        return summarise(values)

    rss = _report.rss_summary(
        {
            "contender": "chat_pathors",
            "calls": 100,
            "samples": [[0, 80 << 20], [10, 81 << 20], [100, 81 << 20]],
            "peak_rss": 82 << 20,
        }
    )
    return {
        "quick": True,
        "duration_seconds": 1.0,
        "invoke": {
            "cpu_per_call": s(
                raw_httpx=[1e-3, 1.1e-3],
                langchain_floor=[3e-4, 3e-4],
                chat_pathors=[1.9e-3, 2.0e-3],
                chat_openai=[4e-3, 4e-3],
            ),
            "wall_per_call": s(
                raw_httpx=[2e-3], langchain_floor=[3e-4], chat_pathors=[3e-3], chat_openai=[6e-3]
            ),
        },
        "history": {
            "cpu_per_call": {
                "100": s(
                    raw_httpx=[1.2e-3],
                    langchain_floor=[5e-4],
                    chat_pathors=[1.9e-3],
                    chat_openai=[2.6e-2],
                ),
                "1000": s(
                    raw_httpx=[2.4e-3],
                    langchain_floor=[9e-4],
                    chat_pathors=[4.2e-3],
                    chat_openai=[0.2],
                ),
            }
        },
        "tools": {
            "tools": 50,
            "cpu_per_call": s(
                raw_httpx=[1.4e-3],
                langchain_floor=[2.4e-4],
                chat_pathors=[1.7e-3],
                chat_openai=[8.5e-3],
            ),
        },
        "reuse": {
            "streams": 20,
            "runs": {
                "raw_httpx": {"streams": 20, "connections_used": 20, "new_connections": 20},
                "chat_pathors": {"streams": 20, "connections_used": 1, "new_connections": 1},
                "chat_openai": {"streams": 20, "connections_used": 20, "new_connections": 20},
            },
        },
        "asyncio_run": {
            "calls": 15,
            "cpu_per_call": s(
                raw_httpx=[3.3e-3],
                langchain_floor=[2.2e-3],
                chat_pathors=[5.9e-3],
                chat_openai=[7.1e-3],
            ),
            "failed_calls": {"raw_httpx": 0, "chat_pathors": 0, "chat_openai": 8},
            "first_error": {"chat_openai": "RuntimeError('Event loop is closed')"},
            "resource_warnings": {"raw_httpx": 0, "chat_pathors": 0, "chat_openai": 14},
        },
        "instances": {
            "instances": 200,
            "runs": {
                name: {
                    "contender": name,
                    "instances": 200,
                    "warm_call_cpu": warm,
                    "first_call_cpu": warm + extra,
                    "first_call_cpu_quartiles": [warm, warm + extra, warm + 2 * extra],
                    "rss_growth": 200 * 9000,
                    "rss_per_instance": 9000.0,
                    "fds_growth": 0,
                    "failures": 0,
                }
                for name, warm, extra in (
                    ("chat_pathors", 1.5e-3, 3e-4),
                    ("chat_openai", 2.8e-3, 9e-4),
                )
            },
        },
        "stream": {
            "chunks": 200,
            "cpu_per_chunk": s(
                raw_httpx=[5e-5], langchain_floor=[7e-5], chat_pathors=[1.3e-4], chat_openai=[4e-4]
            ),
        },
        "concurrency": {
            "calls": 500,
            "latency": 0.05,
            "single_call_wall": 0.002,
            "bound": 0.052,
            "wall": s(raw_httpx_async=[2.0], chat_pathors=[2.1], chat_openai=[3.0]),
            "client_cpu": s(raw_httpx_async=[1.5], chat_pathors=[1.6], chat_openai=[2.5]),
            "server_cpu": s(raw_httpx_async=[0.5], chat_pathors=[0.5], chat_openai=[0.5]),
            "failed_calls": {"raw_httpx_async": 1, "chat_pathors": 0, "chat_openai": 0},
        },
        "import": {
            "core": s(core=[1.0, 1.1])["core"],
            "extra": s(
                langchain_pathors=[0.1],
                langchain_pathors_installed=[0.05],
                langchain_openai=[0.9],
                langchain_openai_installed=[0.8],
            ),
            "total": s(
                langchain_pathors=[1.1],
                langchain_pathors_installed=[1.05],
                langchain_openai=[1.9],
                langchain_openai_installed=[1.8],
            ),
        },
        "rss": {"calls": 100, "runs": {"chat_pathors": rss}},
    }


def test_targets_markdown_and_chart(tmp_path: Path) -> None:
    results = _results()
    results["machine"] = _report.machine()
    results["finished"] = "now"
    results["targets"] = _report.targets(results)
    verdicts = {row["target"]: row["met"] for row in results["targets"]}
    assert verdicts["invoke CPU vs raw httpx + LangChain floor"] is False  # 1.95 / 1.35
    assert verdicts["invoke CPU vs ChatOpenAI"] is True
    assert verdicts["invoke with 100 messages, CPU vs raw httpx + LangChain floor"] is True
    assert verdicts["invoke with 1,000 messages, CPU vs raw httpx + LangChain floor"] is False
    assert verdicts["20 sequential streams: connections used"] is True
    assert verdicts["first call of a fresh instance: RSS per instance"] is True
    # 5.9 ms is 1.07x of the floor (3.3 + 2.2 ms), but not under the absolute 3 ms.
    assert verdicts[
        "`asyncio.run(llm.ainvoke(...))` per request, CPU vs the floor (raw httpx's request "
        "and LangChain's ainvoke in one new loop)"
    ]
    assert not verdicts[
        "`asyncio.run(llm.ainvoke(...))` per request: CPU per call, failures, leaks"
    ]
    assert len(verdicts) == 17
    text = _report.markdown(results)
    assert "| invoke CPU vs ChatOpenAI |" in text
    assert "calls that failed" in text
    assert "| invoke, 1,000 messages | 1.27x (1.27-1.27) | 60.6x | ≤ 1.20x |" in text
    assert "8 of 15 failed, 14 ResourceWarnings" in text
    assert "| 5.9 ms = 1.07x floor (1.07-1.07), 0 of 15 failed" in text
    chart = tmp_path / "chart.png"
    _report.chart(results, chart)
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_doc_section_is_replaced_between_markers(tmp_path: Path, monkeypatch: Any) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# B\n\nbefore\n\n{_report.START}\nold\n{_report.END}\n\nafter\n")
    monkeypatch.setattr(_report, "DOC", doc)
    _report.update_doc("new table\n")
    text = doc.read_text()
    assert "old" not in text
    assert text.index("before") < text.index("new table") < text.index("after")
