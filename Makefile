# Every target sets itself up: on a fresh machine with Python 3.11, pip and make, the first
# `make <target>` installs uv (from PyPI) and the locked environment, then runs.
.PHONY: setup demo test unit_tests integration_tests lint format typecheck bench bench_quick docs check

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
PYTEST := $(UV) run --frozen pytest

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --frozen --all-groups --all-extras --quiet

# The main job: a short tour against the embedded emulator (or real Pathors when
# PATHORS_API_KEY and PATHORS_PROJECT_ID are set).
demo: setup
	@$(UV) run --frozen python examples/demo.py

# The README's test command: unit tests (no network) then integration tests (loopback emulator).
test: setup
	$(PYTEST) tests/unit_tests --disable-socket --allow-unix-socket
	$(PYTEST) tests/integration_tests --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,localhost

unit_tests: setup
	$(PYTEST) tests/unit_tests --disable-socket --allow-unix-socket

integration_tests: setup
	$(PYTEST) tests/integration_tests --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,localhost

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

typecheck: setup
	$(UV) run --frozen mypy

format: setup
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

bench: setup
	$(UV) run --frozen python -m benchmarks

bench_quick: setup
	$(UV) run --frozen python -m benchmarks --quick

docs: setup
	$(UV) run --frozen mkdocs build --strict

check: test lint
