"""MkDocs hook: render each `docs/*.ipynb` as a page, with the outputs committed in it.

The notebook stays the single source: `make notebooks` executes it (nbmake), and the site
shows the outputs of the run that was committed. `chat.ipynb` becomes the page `chat.md`;
the notebook itself is still copied to the site, so readers can download it.

Only `nbformat` is needed (no nbconvert, no kernel): the build runs no code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _fence(text: str, lang: str = "") -> str:
    """A fenced block that no backtick run inside `text` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _output_text(output: Any) -> str | None:
    kind = output.get("output_type")
    if kind == "stream":
        return str(output.get("text", ""))
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        if "text/markdown" in data:
            return None  # handled by the caller as markdown
        text = data.get("text/plain")
        return None if text is None else str(text)
    if kind == "error":
        return "\n".join(output.get("traceback", [])) or str(output.get("evalue", ""))
    return None


def notebook_to_markdown(path: Path, download_name: str) -> str:
    """Markdown for one notebook: text cells as they are, code and outputs fenced."""
    notebook = nbformat.read(path, as_version=4)
    parts: list[str] = []
    for index, cell in enumerate(notebook.cells):
        source = cell.source.rstrip()
        if cell.cell_type == "markdown":
            parts.append(source)
            if index == 0:
                parts.append(
                    '!!! tip "Run it yourself"\n'
                    f"    This page is the notebook [`docs/{download_name}`]({download_name}), "
                    "shown with the outputs of a real run against the Pathors emulator. "
                    "`make notebooks` (part of `make check`) executes it top to bottom."
                )
            continue
        if cell.cell_type != "code" or not source:
            continue
        parts.append(_fence(source, "python"))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                parts.append(str(data["text/markdown"]))
                continue
            text = _output_text(output)
            if text and text.strip():
                parts.append(_fence(_ANSI.sub("", text), "text"))
    return "\n\n".join(parts) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add a generated `<name>.md` page for every top-level `<name>.ipynb`."""
    docs_dir = Path(config["docs_dir"])
    for notebook in sorted(docs_dir.glob("*.ipynb")):
        page = notebook.with_suffix(".md").name
        if files.get_file_from_path(page) is not None:
            continue  # a hand-written page of that name wins
        content = notebook_to_markdown(notebook, notebook.name)
        files.append(File.generated(config, page, content=content))
    return files
