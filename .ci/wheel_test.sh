#!/usr/bin/env bash
# The unit tests against the built wheel (dist/*.whl), installed with the locked test
# dependencies (and LangChain's, which the middleware's unit tests build agents with) into a
# clean venv, run from a copy of the tests in a temporary folder: no
# source tree on sys.path. A conftest.py at the copy's root fails the run at once if
# `langchain_pathors` is imported from anywhere but the venv's site-packages.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
wheel=$(ls dist/*.whl)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$uv" venv -q "$tmp/venv"
"$uv" export --frozen --only-group test --only-group test_integration --no-hashes --no-emit-project -q -o "$tmp/requirements.txt"
"$uv" pip install -q --python "$tmp/venv" -r "$tmp/requirements.txt" "$wheel[emulator,redis]"
cp -r tests "$tmp/tests"
cp pyproject.toml "$tmp/"  # pytest's settings only: there is no package beside it
cat >"$tmp/conftest.py" <<'PY'
import sysconfig
from pathlib import Path

import langchain_pathors

_site = Path(sysconfig.get_paths()["purelib"])
_where = Path(langchain_pathors.__file__)
assert _site in _where.parents, f"langchain_pathors comes from {_where}, not {_site}"
PY

cd "$tmp"
venv/bin/python -c 'import conftest, langchain_pathors as p; print("wheel_test:", p.__file__)'
venv/bin/pathors-emulator --help >/dev/null  # the console script is installed and runs
venv/bin/python -m pytest tests/unit_tests --disable-socket --allow-unix-socket -q \
	-p no:cacheprovider
