"""The contributors' map (docs/architecture.md) names every module of the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import langchain_pathors

PACKAGE = Path(langchain_pathors.__file__).parent
DOC = PACKAGE.parent / "docs" / "architecture.md"


def test_every_module_is_on_the_map() -> None:
    if not DOC.exists():
        pytest.skip("an installed wheel has no docs")
    text = DOC.read_text(encoding="utf-8")
    missing = [module.stem for module in PACKAGE.glob("*.py") if f"`{module.stem}`" not in text]
    assert missing == [], f"add these modules to docs/architecture.md: {missing}"
