"""The demo (`make demo`) runs its four sections and exits 0; a failure is one clear line."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from langchain_pathors.emulator import PathorsEmulator

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pathors_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_runs_against_the_embedded_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    for name in ("PATHORS_API_KEY", "PATHORS_PROJECT_ID", "PATHORS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert load_demo().main() == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "against the embedded emulator" in out
    for section in (
        "1. A chat",
        "2. A streamed answer",
        "3. A conversation in one session",
        "4. A tool-calling",
    ):
        assert section in out
    assert "pathway: You said: Hello! What can you do?" in out
    assert "Session variables: userName=Ada Lovelace, plan=pro." in out
    assert "the emulator's record: 2 turns" in out
    # The conversation keeps its session with no id passed: created once, then found in history.
    assert "chosen from: new)" in out
    assert "chosen from: history)" in out
    assert "the agent's 2 model calls went to 1 session(s)" in out
    assert "tool call:   get_weather({'city': 'Paris'})" in out
    assert "tool call:   celsius_to_fahrenheit({'celsius': 18.0})" in out
    assert "answer:  Tool results: get_weather: 18°C and cloudy in Paris;" in out
    assert "Traceback" not in out


def test_demo_failure_is_one_line_without_the_key(
    emulator: PathorsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    key = "wrong-demo-key-canary-77"
    monkeypatch.setenv("PATHORS_API_KEY", key)
    monkeypatch.setenv("PATHORS_PROJECT_ID", emulator.project_id)
    monkeypatch.setenv("PATHORS_BASE_URL", emulator.base_url)
    assert load_demo().main() == 1
    out, err = capsys.readouterr()
    assert "against the real service" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("demo failed: PathorsAuthenticationError:")
    assert key not in out + err
    assert "Traceback" not in out + err
