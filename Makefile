# The README's two commands, `make demo` and `make test`, work on any Python 3.10+ with pip and
# make. Every target sets itself up: the first run finds uv (or installs it into .tools/, a
# folder of this checkout), then installs the locked environment into .venv.
.PHONY: uv setup demo test unit_tests integration_tests reliability_tests coverage lint format \
	typecheck typecheck_tests bench bench_quick docs notebooks matrix floors newest dist \
	wheel_test fresh_clone check clean

# The Python that installs uv when uv is missing (any 3.x with pip will do).
PYTHON ?= python3
# uv from PATH when it runs (a pyenv shim for uv installed under another Python version does
# not), else a private copy in .tools/uv. Never pip into the system Python: Debian's and
# Ubuntu's Pythons are "externally managed" (PEP 668) and refuse, rightly.
UV_ON_PATH := $(shell uv --version >/dev/null 2>&1 && command -v uv)
TOOLS_UV := $(CURDIR)/.tools/uv/bin/uv
UV := $(or $(UV_ON_PATH),$(TOOLS_UV))
# uv uses a Python 3.10+ already on the machine (UV_PYTHON picks one); it downloads none.
export UV_PYTHON_DOWNLOADS ?= never
# uv trusts the system's certificates, as the system's pip does, not only its bundled ones:
# behind a TLS-inspecting proxy (a corporate one, or this project's CI) only those work.
# (UV_SYSTEM_CERTS is the newer name, UV_NATIVE_TLS the older one.)
export UV_SYSTEM_CERTS ?= true
export UV_NATIVE_TLS ?= true
# mkdocs-material prints a banner about MkDocs 2 on every build; it is not a warning.
export NO_MKDOCS_2_WARNING := 1

RUN := $(UV) run --frozen --all-extras
PYTEST := $(RUN) pytest
UNIT_FLAGS := --disable-socket --allow-unix-socket
# Loopback only (the emulator); with real credentials the integration tests reach Pathors.
LOOPBACK_FLAGS := --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,localhost
INTEGRATION_FLAGS := $(if $(and $(PATHORS_API_KEY),$(PATHORS_PROJECT_ID)),,$(LOOPBACK_FLAGS))
UNIT_TESTS := tests/unit_tests langchain_pathors --doctest-modules $(UNIT_FLAGS)
INTEGRATION_TESTS := tests/integration_tests $(INTEGRATION_FLAGS)
# Package coverage of the unit and integration tests together (branches included). The floor
# is the figure measured when it was set (95.5%), rounded down to a point below: raise it as
# coverage grows.
COV_FLOOR := 94
COV := --cov=langchain_pathors --cov-report=

uv: $(if $(UV_ON_PATH),,$(TOOLS_UV))

# A venv when the Python can make one (Debian needs python3-venv for that), else pip's
# --target, which installs into a plain folder and so is allowed on an externally managed Python.
$(TOOLS_UV):
	@echo "uv is not on PATH: installing it into .tools/uv, private to this checkout" >&2
	@rm -rf .tools/uv
	@export PIP_ROOT_USER_ACTION=ignore; if $(PYTHON) -m venv .tools/uv >/dev/null 2>&1; then \
		.tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.8"; \
	else \
		rm -rf .tools/uv; \
		echo "($(PYTHON) -m venv is unavailable: using pip install --target)" >&2; \
		PIP_USER=0 $(PYTHON) -m pip install --quiet --disable-pip-version-check \
			--target .tools/uv "uv>=0.8"; \
	fi
	@$@ --version

setup: uv
	@$(UV) sync --frozen --all-extras --inexact --quiet

# The main job: a short tour against the embedded emulator (or the real Pathors when
# PATHORS_API_KEY and PATHORS_PROJECT_ID are set).
demo: setup
	@$(RUN) python examples/demo.py

# The README's test command: unit tests and docstring examples (no network), integration tests
# (real HTTP against the emulator on 127.0.0.1), the coverage of both, then reliability tests.
test: setup coverage reliability_tests

coverage: setup
	$(PYTEST) $(UNIT_TESTS) $(COV)
	$(PYTEST) $(INTEGRATION_TESTS) $(COV) --cov-append --cov-report=term \
		--cov-fail-under=$(COV_FLOOR)

unit_tests: setup
	$(PYTEST) $(UNIT_TESTS)

integration_tests: setup
	$(PYTEST) $(INTEGRATION_TESTS)

reliability_tests: setup
	$(PYTEST) tests/reliability $(LOOPBACK_FLAGS)

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) mypy --config-file tests/mypy.ini

typecheck: setup
	$(RUN) mypy

# The tests, type-checked without --strict (tests/mypy.ini says what is relaxed and why).
typecheck_tests: setup
	$(RUN) mypy --config-file tests/mypy.ini

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: setup
	$(RUN) --group bench python -m benchmarks

bench_quick: setup
	$(RUN) --group bench python -m benchmarks --quick
	$(RUN) --group bench pytest benchmarks -q $(UNIT_FLAGS)

docs: setup
	$(RUN) --group docs mkdocs build --strict

# Executes the integration notebook against the emulator (outputs are not rewritten).
notebooks: setup
	$(RUN) --group docs pytest --nbmake docs/chat.ipynb $(LOOPBACK_FLAGS)

# --- Supported Pythons and dependency ranges (CI runs these) ---

PYTHONS := 3.10 3.11 3.12 3.13
# The interpreter of version $(1): pyenv's when pyenv has it (pyenv's shims only resolve
# the selected versions, so name the file itself), else python$(1) on PATH.
interpreter = $$(p=$$(pyenv prefix $(1) 2>/dev/null) && echo "$$p/bin/python$(1)" \
	|| command -v python$(1))

# Unit and integration tests from the lock on each version, one venv each (.venv-3.10 ...).
matrix: $(addprefix matrix-,$(PYTHONS))

matrix-%: uv
	@py=$(call interpreter,$*); test -x "$$py" || { echo "no Python $* found" >&2; exit 1; }; \
	echo "== Python $* ($$py), locked dependencies"; \
	export UV_PYTHON="$$py" UV_PROJECT_ENVIRONMENT=.venv-$*; start=$$(date +%s); \
	$(PYTEST) $(UNIT_TESTS) -q && $(PYTEST) $(INTEGRATION_TESTS) -q && \
	echo "== Python $* passed in $$(( $$(date +%s) - start )) s"

# Resolved afresh, without the lock, into .venv-$(1) on Python $(2) with uv pip flags $(3);
# prints the direct dependencies it got, then runs the unit and integration tests.
define fresh_leg
	@py=$(call interpreter,$(2)); test -x "$$py" || { echo "no Python $(2) found" >&2; exit 1; }; \
	echo "== Python $(2) ($$py), $(1) dependencies"; start=$$(date +%s); \
	rm -rf .venv-$(1) && $(UV) venv -q .venv-$(1) --python "$$py" && \
	$(UV) pip install -q --python .venv-$(1) $(3) -e ".[emulator,redis]" \
		--group test --group test_integration && \
	$(UV) pip list --python .venv-$(1) 2>/dev/null \
		| grep -E '^(langchain-core|httpx|pydantic|starlette|uvicorn|langchain|langgraph) ' && \
	.venv-$(1)/bin/python -m pytest $(UNIT_TESTS) -q && \
	.venv-$(1)/bin/python -m pytest $(INTEGRATION_TESTS) -q && \
	echo "== Python $(2), $(1) dependencies: passed in $$(( $$(date +%s) - start )) s"
endef

# The lowest versions pyproject.toml allows for every direct dependency, on the oldest Python.
floors: uv
	$(call fresh_leg,floors,3.10,--resolution lowest-direct)

# The newest versions allowed, on the newest Python (what `pip install` gives a new user).
newest: uv
	$(call fresh_leg,newest,3.13,--resolution highest --refresh)

# --- Release checks ---

# Builds the sdist, then the wheel from it, and checks both (metadata, PyPI rendering, wheel
# layout, what each ships), then runs the unit tests against the installed wheel.
dist: setup
	rm -rf dist
	$(UV) build --quiet
	$(RUN) --group release twine check --strict dist/*
	$(RUN) --group release check-wheel-contents dist/*.whl
	$(RUN) python .ci/check_dist.py dist
	$(MAKE) --no-print-directory wheel_test

wheel_test: uv
	UV="$(UV)" bash .ci/wheel_test.sh

# make demo and the unit tests from a fresh clone of HEAD, as a new user runs them: a fresh
# HOME, only the system directories on PATH (so the system python3, no pyenv, no uv).
fresh_clone:
	bash .ci/fresh_clone.sh

check: test lint docs notebooks bench_quick matrix floors newest dist fresh_clone scale_tests

clean:
	rm -rf .tools .venv-* dist site .coverage

# Many processes, all on 127.0.0.1: the Redis session registry (a real redis-server, the
# Debian package, installed here when missing), process pools, the LangGraph Agent Server
# (`langgraph dev` on examples/langgraph_app) and a 2-CPU local Ray cluster.
.PHONY: scale_tests agent_server_tests redis_server
redis_server:
	@command -v redis-server >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		redis-server >/dev/null; }

scale_tests: setup redis_server
	$(RUN) --group scale pytest tests/scale $(LOOPBACK_FLAGS)

agent_server_tests: setup
	$(RUN) --group scale pytest tests/scale/test_agent_server.py $(LOOPBACK_FLAGS)
