# Every target sets itself up: on a fresh machine with Python 3.11, pip and make, the first
# `make <target>` installs uv (from PyPI) and the locked environment, then runs.
.PHONY: setup demo test unit_tests integration_tests reliability_tests lint format typecheck \
	bench bench_quick docs notebooks check

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_PYTHON_DOWNLOADS := never
# mkdocs-material prints a banner about MkDocs 2 on every build; it is not a warning.
export NO_MKDOCS_2_WARNING := 1
PYTEST := $(UV) run --frozen pytest
UNIT_FLAGS := --disable-socket --allow-unix-socket
# Loopback only (the emulator); with real credentials the integration tests reach Pathors.
LOOPBACK_FLAGS := --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,localhost
INTEGRATION_FLAGS := $(if $(and $(PATHORS_API_KEY),$(PATHORS_PROJECT_ID)),,$(LOOPBACK_FLAGS))

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --frozen --all-groups --all-extras --quiet

# The main job: a short tour against the embedded emulator (or the real Pathors when
# PATHORS_API_KEY and PATHORS_PROJECT_ID are set).
demo: setup
	@$(UV) run --frozen python examples/demo.py

# The README's test command: unit tests and the docstring examples (no network), then
# integration and reliability tests (over real HTTP against the emulator on 127.0.0.1).
test: setup
	$(PYTEST) tests/unit_tests langchain_pathors --doctest-modules $(UNIT_FLAGS)
	$(PYTEST) tests/integration_tests $(INTEGRATION_FLAGS)
	$(PYTEST) tests/reliability $(LOOPBACK_FLAGS)

unit_tests: setup
	$(PYTEST) tests/unit_tests langchain_pathors --doctest-modules $(UNIT_FLAGS)

integration_tests: setup
	$(PYTEST) tests/integration_tests $(INTEGRATION_FLAGS)

reliability_tests: setup
	$(PYTEST) tests/reliability $(LOOPBACK_FLAGS)

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
	$(PYTEST) benchmarks -q $(UNIT_FLAGS)

docs: setup
	$(UV) run --frozen mkdocs build --strict

# Executes the integration notebook against the emulator (outputs are not rewritten).
notebooks: setup
	$(PYTEST) --nbmake docs/chat.ipynb $(LOOPBACK_FLAGS)

check: test lint docs notebooks

# Many processes, all on 127.0.0.1: the Redis session registry (a real redis-server, the
# Debian package, installed here when missing), process pools, the LangGraph Agent Server
# (`langgraph dev` on examples/langgraph_app) and a 2-CPU local Ray cluster.
.PHONY: scale_tests agent_server_tests redis_server
redis_server:
	@command -v redis-server >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		redis-server >/dev/null; }

scale_tests: setup redis_server
	$(PYTEST) tests/scale $(LOOPBACK_FLAGS)

agent_server_tests: setup
	$(PYTEST) tests/scale/test_agent_server.py $(LOOPBACK_FLAGS)
