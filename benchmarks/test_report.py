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
        "stream": {
            "chunks": 2000,
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
    assert len(verdicts) == 7
    text = _report.markdown(results)
    assert "| invoke CPU vs ChatOpenAI |" in text
    assert "calls that failed" in text
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
