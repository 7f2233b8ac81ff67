"""Check what the built sdist and wheel ship, beyond twine and check-wheel-contents.

Usage: python .ci/check_dist.py DIST_DIR
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

# Generated or developer-only files that must stay out of the sdist.
SDIST_FORBIDDEN = ("benchmarks/results/", "uv.lock", ".tools/", ".venv", "site/", ".coverage")
SDIST_REQUIRED = ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "tests/", "docs/")
CLASSIFIERS = (
    "License :: OSI Approved :: MIT License",
    "Typing :: Typed",
    *(f"Programming Language :: Python :: 3.{minor}" for minor in (10, 11, 12, 13)),
)
URLS = ("Documentation", "Changelog", "Issues", "Source")


def main(dist: Path) -> list[str]:
    """Return the problems found in the one sdist and one wheel under ``dist``."""
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    problems: list[str] = []

    with tarfile.open(sdist) as tar:
        names = [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]
    problems += [f"sdist ships {n}" for n in names if n.startswith(SDIST_FORBIDDEN)]
    problems += [
        f"sdist lacks {want}"
        for want in SDIST_REQUIRED
        if not any(n.startswith(want) for n in names)
    ]

    with zipfile.ZipFile(wheel) as whl:
        members = whl.namelist()
        info = next(n for n in members if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(whl.read(info).decode())
        entry_points = whl.read(info.replace("METADATA", "entry_points.txt")).decode()
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in members):
        problems.append("wheel lacks LICENSE")
    if "langchain_pathors/py.typed" not in members:
        problems.append("wheel lacks py.typed")
    if "pathors-emulator = langchain_pathors.emulator.__main__:main" not in entry_points:
        problems.append("wheel lacks the pathors-emulator console script")
    classifiers = metadata.get_all("Classifier") or []
    problems += [f"classifier missing: {c}" for c in CLASSIFIERS if c not in classifiers]
    labels = [url.split(",", 1)[0] for url in metadata.get_all("Project-URL") or []]
    problems += [f"project URL missing: {u}" for u in URLS if u not in labels]

    description = metadata.get_payload()
    if (
        metadata["Description-Content-Type"] != "text/markdown"
        or "## Installation" not in description
    ):
        problems.append("the PyPI description is missing or not markdown")
    relative = re.findall(r"\]\((?!https?://|#)([^)]+)\)", description)
    problems += [f"relative link in the PyPI description: {link}" for link in relative]
    if "make " in description:
        problems.append("the PyPI description mentions make targets of the repository")
    return problems


if __name__ == "__main__":
    found = main(Path(sys.argv[1]))
    for problem in found:
        print(f"check_dist: {problem}", file=sys.stderr)
    print(f"check_dist: {'FAILED' if found else 'ok'} ({len(found)} problems)")
    sys.exit(1 if found else 0)
