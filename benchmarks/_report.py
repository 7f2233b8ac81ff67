"""Turn the raw results into targets, a markdown table, JSON, a chart and the docs page."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._emulator import ROOT

RESULTS = ROOT / "benchmarks" / "results"
CHART = ROOT / "docs" / "img" / "benchmarks.png"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
MIB = 1024 * 1024
# RSS is "flat" when it grows by no more than this between 10% and 100% of the calls.
FLAT_RSS_BYTES = 1 * MIB
PACKAGES = (
    "langchain-pathors",
    "langchain-core",
    "langchain-openai",
    "openai",
    "httpx",
    "httpx2",
    "pydantic",
    "langsmith",
    "starlette",
    "uvicorn",
    "h11",
)
IMPORTS = ("langchain_pathors", "langchain_openai")
NAMES = {
    "raw_httpx": "raw httpx",
    "raw_httpx_async": "raw httpx (async)",
    "langchain_floor": "LangChain floor",
    "chat_pathors": "ChatPathors",
    "chat_openai": "ChatOpenAI",
    "langchain_core_chat_models": "langchain_core chat_models",
    "langchain_pathors": "langchain_pathors",
    "langchain_openai": "langchain_openai",
}


# ----------------------------------------------------------------------------- machine
def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


# ----------------------------------------------------------------------------- rss
def rss_summary(data: dict[str, Any]) -> dict[str, Any]:
    """Add the growth after warm-up (10% of the calls) and its slope per 1,000 calls."""
    samples = data["samples"]
    calls = data["calls"]
    after = [s for s in samples if s[0] >= calls * 0.1] or samples[-1:]
    xs = [s[0] for s in after]
    ys = [s[1] for s in after]
    slope = 0.0
    if len(after) > 1 and len(set(xs)) > 1:
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
    return {
        **data,
        "rss_start": samples[0][1],
        "rss_warm": after[0][1],
        "rss_end": samples[-1][1],
        "growth_after_warmup": samples[-1][1] - after[0][1],
        "slope_per_1000_calls": slope * 1000,
    }


# ----------------------------------------------------------------------------- targets
def _per_round(numer: list[float], denom: list[float]) -> list[float]:
    return [n / d for n, d in zip(numer, denom, strict=False) if d]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(
        name: str,
        value: float,
        against: str,
        ratio: float,
        rng: list[float],
        limit: str,
        met: bool,
        unit: str,
    ) -> None:
        rows.append(
            {
                "target": name,
                "chat_pathors": value,
                "against": against,
                "ratio": ratio,
                "round_range": [min(rng), max(rng)] if rng else None,
                "limit": limit,
                "met": met,
                "unit": unit,
            }
        )

    if "invoke" in results:
        cpu = results["invoke"]["cpu_per_call"]
        cp, raw, floor, oai = (
            cpu[k] for k in ("chat_pathors", "raw_httpx", "langchain_floor", "chat_openai")
        )
        base = raw["median"] + floor["median"]
        ratio = cp["median"] / base
        per = _per_round(
            cp["samples"], [a + b for a, b in zip(raw["samples"], floor["samples"], strict=True)]
        )
        add(
            "invoke CPU vs raw httpx + LangChain floor",
            cp["median"],
            f"{_us(base)} (raw httpx {_us(raw['median'])} + floor {_us(floor['median'])})",
            ratio,
            per,
            "≤ 1.25x",
            ratio <= 1.25,
            "s",
        )
        ratio = cp["median"] / oai["median"]
        add(
            "invoke CPU vs ChatOpenAI",
            cp["median"],
            f"ChatOpenAI {_us(oai['median'])}",
            ratio,
            _per_round(cp["samples"], oai["samples"]),
            "≤ 0.5x",
            ratio <= 0.5,
            "s",
        )
    if "stream" in results:
        cpu = results["stream"]["cpu_per_chunk"]
        cp, oai = cpu["chat_pathors"], cpu["chat_openai"]
        ratio = cp["median"] / oai["median"]
        add(
            "stream CPU per chunk vs ChatOpenAI",
            cp["median"],
            f"ChatOpenAI {_us(oai['median'])}",
            ratio,
            _per_round(cp["samples"], oai["samples"]),
            "≤ 0.6x",
            ratio <= 0.6,
            "s",
        )
    if "concurrency" in results:
        conc = results["concurrency"]
        wall = conc["wall"]
        cp, ideal = wall["chat_pathors"], wall["raw_httpx_async"]
        ratio = cp["median"] / ideal["median"]
        add(
            f"{conc['calls']} concurrent ainvoke wall vs ideal",
            cp["median"],
            f"ideal = raw httpx async {_ms(ideal['median'])}",
            ratio,
            _per_round(cp["samples"], ideal["samples"]),
            "≤ 1.2x",
            ratio <= 1.2,
            "s",
        )
    if "import" in results:
        imp = results["import"]
        core = imp["core"]["median"]
        for key, where in (
            ("langchain_pathors", "this environment"),
            ("langchain_pathors_installed", "as installed"),
        ):
            extra = imp["extra"][key]["median"]
            add(
                f"import: ChatPathors on top of langchain_core chat_models ({where})",
                core + extra,
                f"langchain_core chat_models {_ms(core)}",
                extra,
                [],
                "≤ +60 ms",
                extra <= 0.060,
                "s",
            )
    if "rss" in results:
        run = results["rss"]["runs"]["chat_pathors"]
        growth = run["growth_after_warmup"]
        add(
            f"RSS growth over {run['calls']:,} invokes (after 10% warm-up)",
            run["rss_end"],
            f"start {_mib(run['rss_warm'])}",
            growth,
            [],
            f"flat (≤ {_mib(FLAT_RSS_BYTES)})",
            growth <= FLAT_RSS_BYTES,
            "B",
        )
    return rows


# ----------------------------------------------------------------------------- format
def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def _mib(n: float) -> str:
    return f"{n / MIB:,.2f} MiB"


def _cell(stat: dict[str, Any] | None, fmt: Any) -> str:
    if stat is None:
        return "—"
    return f"{fmt(stat['median'])} ({fmt(stat['min'])}-{fmt(stat['max'])})"


def _target_rows(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| target | ChatPathors | compared with | ratio (per-round range) | limit | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row["unit"] == "B":
            value, ratio = _mib(row["chat_pathors"]), f"{row['ratio'] / MIB:+.2f} MiB"
        elif row["limit"].startswith("≤ +"):
            value, ratio = _ms(row["chat_pathors"]), f"{row['ratio'] * 1e3:+.1f} ms"
        else:
            small = row["chat_pathors"] < 0.01
            value = _us(row["chat_pathors"]) if small else _ms(row["chat_pathors"])
            ratio = f"{row['ratio']:.2f}x"
            if row["round_range"]:
                lo, hi = row["round_range"]
                ratio += f" ({lo:.2f}-{hi:.2f})"
        met = "**yes**" if row["met"] else "**no**"
        out.append(
            f"| {row['target']} | {value} | {row['against']} | {ratio} | {row['limit']} | {met} |"
        )
    return out


def _figure_rows(results: dict[str, Any]) -> list[str]:
    cols = ["raw_httpx", "langchain_floor", "chat_pathors", "chat_openai"]
    out = [
        "| measure (median, min-max over rounds) | raw httpx | LangChain floor | ChatPathors | "
        "ChatOpenAI |",
        "|---|---|---|---|---|",
    ]

    def line(label: str, stats: dict[str, Any], fmt: Any, keys: list[str] = cols) -> None:
        cells = [_cell(stats.get(k), fmt) for k in keys]
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    if "invoke" in results:
        inv = results["invoke"]
        line("invoke: client CPU per call", inv["cpu_per_call"], _us)
        line("invoke: wall per call (info)", inv["wall_per_call"], _us)
    if "stream" in results:
        st = results["stream"]
        line(f"stream of {st['chunks']:,} chunks: client CPU per chunk", st["cpu_per_chunk"], _us)
    if "concurrency" in results:
        conc = results["concurrency"]
        keys = ["raw_httpx_async", "none", "chat_pathors", "chat_openai"]
        n = conc["calls"]
        line(
            f"{n} concurrent ainvoke, {conc['latency'] * 1e3:.0f} ms server latency: wall "
            "(raw httpx column: async, the ideal)",
            conc["wall"],
            _ms,
            keys,
        )
        line(
            f"{n} concurrent ainvoke: client CPU for the burst (info)",
            conc["client_cpu"],
            _ms,
            keys,
        )
        line(
            f"{n} concurrent ainvoke: emulator CPU for the burst (info)",
            conc["server_cpu"],
            _ms,
            keys,
        )
        failed = conc.get("failed_calls", {})
        if any(failed.values()):
            cells = [str(failed.get(k, "—")) for k in keys]
            out.append(
                "| calls that failed in the bursts (counted, not fatal) | "
                + " | ".join(cells)
                + " |"
            )
        out.append(
            f"| theoretical bound: latency + one raw-httpx call ({_ms(conc['single_call_wall'])}) "
            f"| {_ms(conc['bound'])} | — | — | — |"
        )
    if "import" in results:
        imp = results["import"]
        keys = ["none", "core", "langchain_pathors", "langchain_openai"]
        for suffix, where in (("", "this environment"), ("_installed", "as installed")):
            total = {k: imp["total"][k + suffix] for k in IMPORTS}
            extra = {k: imp["extra"][k + suffix] for k in IMPORTS}
            line(
                f"import from cold, {where} (floor column: langchain_core chat_models)",
                {"core": imp["core"], **total},
                _ms,
                keys,
            )
            line(
                f"import: the integration's own cost after langchain_core chat_models, {where}",
                extra,
                _ms,
                keys,
            )
    if "rss" in results:
        runs = results["rss"]["runs"]
        for label, key in (
            ("RSS after warm-up (10% of calls)", "rss_warm"),
            (f"RSS after {results['rss']['calls']:,} invokes", "rss_end"),
            ("peak RSS of the worker process (VmHWM)", "peak_rss"),
        ):
            cells = [_mib(runs[k][key]) if k in runs else "—" for k in cols]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        cells = [
            f"{runs[k]['slope_per_1000_calls'] / 1024:+.1f} KiB" if k in runs else "—" for k in cols
        ]
        out.append("| RSS slope per 1,000 invokes (after warm-up) | " + " | ".join(cells) + " |")
    return out


def markdown(results: dict[str, Any]) -> str:
    meta = results["machine"]
    kind = "quick (`--quick`)" if results["quick"] else "full"
    lines = [
        f"Run: {kind}, {results['finished']}, {results['duration_seconds']:.0f} s in all. "
        f"Machine: {meta['cores']} cores, {meta['cpu']}, {meta['implementation']} "
        f"{meta['python']}, {meta['platform']}.",
        "",
        "Packages: "
        + ", ".join(f"{k} {v}" for k, v in meta["packages"].items() if v is not None)
        + ".",
        "",
        "### Targets",
        "",
        *_target_rows(results["targets"]),
        "",
        "### All figures",
        "",
        *_figure_rows(results),
    ]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- chart
def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in ("invoke", "stream", "concurrency", "import", "rss") if p in results]
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.6 * nrows), squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    colors = {
        "ChatPathors": "#2b7bba",
        "ChatPathors (as installed)": "#7fb3de",
        "ChatOpenAI": "#d9822b",
        "ChatOpenAI (as installed)": "#f0b27a",
    }

    def bars(
        ax: Any,
        title: str,
        items: list[tuple[str, dict[str, Any] | float]],
        scale: float,
        unit: str,
    ) -> None:
        labels, values, lo, hi = [], [], [], []
        for label, stat in items:
            if isinstance(stat, dict):
                med, mn, mx = stat["median"], stat["min"], stat["max"]
            else:
                med = mn = mx = stat
            labels.append(label)
            values.append(med * scale)
            lo.append((med - mn) * scale)
            hi.append((mx - med) * scale)
        ax.bar(
            labels,
            values,
            yerr=[lo, hi],
            capsize=3,
            color=[colors.get(label, "#9a9a9a") for label in labels],
        )
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for i, v in enumerate(values):
            ax.annotate(
                f"{v:,.0f}" if v >= 10 else f"{v:.1f}",
                (i, v),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )

    for ax, panel in zip(axes, panels, strict=False):
        if panel == "invoke":
            cpu = results["invoke"]["cpu_per_call"]
            floor = cpu["raw_httpx"]["median"] + cpu["langchain_floor"]["median"]
            bars(
                ax,
                "invoke: client CPU per call",
                [
                    ("raw httpx", cpu["raw_httpx"]),
                    ("LC floor", cpu["langchain_floor"]),
                    ("raw + floor", floor),
                    ("ChatPathors", cpu["chat_pathors"]),
                    ("ChatOpenAI", cpu["chat_openai"]),
                ],
                1e6,
                "µs",
            )
        elif panel == "stream":
            cpu = results["stream"]["cpu_per_chunk"]
            bars(
                ax,
                f"stream ({results['stream']['chunks']:,} chunks): CPU per chunk",
                [
                    ("raw httpx", cpu["raw_httpx"]),
                    ("LC floor", cpu["langchain_floor"]),
                    ("ChatPathors", cpu["chat_pathors"]),
                    ("ChatOpenAI", cpu["chat_openai"]),
                ],
                1e6,
                "µs",
            )
        elif panel == "concurrency":
            conc = results["concurrency"]
            wall = conc["wall"]
            bars(
                ax,
                f"{conc['calls']} concurrent ainvoke: wall",
                [
                    ("bound", conc["bound"]),
                    ("ideal (raw async)", wall["raw_httpx_async"]),
                    ("ChatPathors", wall["chat_pathors"]),
                    ("ChatOpenAI", wall["chat_openai"]),
                ],
                1e3,
                "ms",
            )
        elif panel == "import":
            extra = results["import"]["extra"]
            bars(
                ax,
                "import cost on top of core chat_models",
                [
                    ("ChatPathors", extra["langchain_pathors"]),
                    ("ChatPathors (as installed)", extra["langchain_pathors_installed"]),
                    ("ChatOpenAI", extra["langchain_openai"]),
                    ("ChatOpenAI (as installed)", extra["langchain_openai_installed"]),
                ],
                1e3,
                "ms",
            )
            ax.axhline(60, color="#c0392b", linestyle="--", linewidth=1)
            ax.annotate(
                "budget +60 ms",
                (0, 60),
                xytext=(0, 3),
                textcoords="offset points",
                fontsize=8,
                color="#c0392b",
            )
        else:
            for key, run in results["rss"]["runs"].items():
                label = NAMES[key]
                ax.plot(
                    [s[0] for s in run["samples"]],
                    [s[1] / MIB for s in run["samples"]],
                    marker=".",
                    label=label,
                    color=colors.get(label),
                )
            ax.set_title("RSS over repeated invokes", fontsize=10)
            ax.set_xlabel("invokes")
            ax.set_ylabel("MiB")
            ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- docs
def _doc_section(body: str) -> str:
    return (
        f"{START}\n<!-- written by `python -m benchmarks`; edit outside these markers -->\n\n"
        f"{body}\n![Benchmark chart](img/benchmarks.png)\n\n{END}"
    )


def update_doc(body: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n" + f"{START}\n{END}\n"
    head, found, rest = text.partition(START)
    if not found:
        head, rest = text.rstrip() + "\n\n", END
    _, found, tail = rest.partition(END)
    DOC.write_text(head + _doc_section(body) + tail)


def write(results: dict[str, Any], *, name: str, publish: bool) -> None:
    results["machine"] = machine()
    results["finished"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["targets"] = targets(results)
    text = markdown(results)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(f"# Benchmark results ({name})\n\n{text}")
    chart(results, CHART if publish else RESULTS / f"{name}.png")
    if publish:
        update_doc(text)
