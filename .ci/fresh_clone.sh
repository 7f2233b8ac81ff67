#!/usr/bin/env bash
# `make demo` and `make unit_tests` as a new user runs them: in a fresh clone of HEAD, with a
# fresh HOME (empty caches) and only the system directories on PATH, so `python3` is the
# distribution's own (on Debian and Ubuntu an "externally managed" Python, PEP 668) and there
# is no pyenv and no uv: the Makefile has to bootstrap uv into the clone's .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --quiet --no-hardlinks "$repo" "$tmp/langchain-pathors"
# The shared folder beside the checkout (API docs, recorded streams), if this one has it.
if [[ -d "$repo/../shared" ]]; then ln -s "$(cd "$repo/../shared" && pwd)" "$tmp/shared"; fi
mkdir "$tmp/home"

user_env=(env -i PATH=/usr/bin:/bin HOME="$tmp/home" LANG=C.UTF-8 TERM=dumb)
"${user_env[@]}" sh -c 'echo "python3: $(command -v python3) ($(python3 --version 2>&1))";
	if command -v uv; then echo "uv is on the system PATH: not a fresh machine" >&2; exit 1; fi
	if python3 -m pip install --dry-run --quiet uv >/dev/null 2>&1; then
		echo "pip: installs into this python3 are allowed"
	else
		echo "pip: refuses to install into this python3 (externally managed)"
	fi'
cd "$tmp/langchain-pathors"
start=$SECONDS
"${user_env[@]}" make demo
echo "fresh_clone: make demo passed in $((SECONDS - start)) s"
test -x .tools/uv/bin/uv  # the demo ran on the uv it bootstrapped, not one from elsewhere
start=$SECONDS
"${user_env[@]}" make unit_tests
echo "fresh_clone: make unit_tests passed in $((SECONDS - start)) s"
