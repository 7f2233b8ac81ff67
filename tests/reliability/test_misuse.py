"""First contact: every misuse a new user makes gets a clear, typed error, before anything is sent.

The matrix runs in a child process (`_misuse_child`), each case in all four ways of calling
(invoke, ainvoke, stream, astream), with construction inside the measured call as in a
user's script. Each asserts the error's type and message, that the scripted loopback server
received nothing, that nothing was retried, and bounds on wall time and peak RSS growth;
and, with a canary key, that the key appears nowhere: the error (str, repr, args, the
traceback with its chain, pydantic's `errors()` and `json()`), callbacks, and DEBUG logs
of httpx, httpcore and this package. The user stories below run in-process against the
emulator: the fix each message suggests is the one that works.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_pathors import ChatPathors, PathorsAuthenticationError, PathorsInsecureURLWarning
from langchain_pathors import _settings as settings_module
from langchain_pathors.emulator import PathorsEmulator

from ._raw_server import RawServer, http_reply
from .conftest import API_KEY, FIGURES, PROJECT

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
ALL_MODES = ["invoke", "ainvoke", "stream", "astream"]
KEY_ERROR = "PathorsAuthenticationError"
SETTING_ERROR = "ValidationError"

# (name, settings beyond base_url/project_id/api_key, env, error type, message part)
CASES: list[tuple[str, dict[str, Any], dict[str, str], str, str]] = [
    ("key with a newline", {"api_key": API_KEY + "\n"}, {}, KEY_ERROR, "ends with a line break"),
    (
        "key with a newline, from the environment",
        {"api_key": None},
        {"PATHORS_API_KEY": API_KEY + "\n"},
        KEY_ERROR,
        "from the PATHORS_API_KEY environment variable ends with a line break",
    ),
    ("key with CR in it", {"api_key": API_KEY[:9] + "\r" + API_KEY[9:]}, {}, KEY_ERROR, "(CR)"),
    ("key with a NUL", {"api_key": API_KEY + "\x00"}, {}, KEY_ERROR, "control character"),
    ("non-ASCII key", {"api_key": API_KEY + "\u201d"}, {}, KEY_ERROR, "non-ASCII character"),
    ("key with a leading space", {"api_key": " " + API_KEY}, {}, KEY_ERROR, "starts with a space"),
    ("empty key", {"api_key": ""}, {}, KEY_ERROR, "is empty"),
    (
        "empty key from the environment",
        {"api_key": None},
        {"PATHORS_API_KEY": ""},
        KEY_ERROR,
        "PATHORS_API_KEY environment variable is empty",
    ),
    ("key with Bearer", {"api_key": "Bearer " + API_KEY}, {}, KEY_ERROR, "adds 'Bearer ' itself"),
    ("no key at all", {"drop": ["api_key"]}, {}, KEY_ERROR, "no API key"),
    (
        "non-ASCII header value",
        {"default_headers": {"X-Upstream-Auth": API_KEY + "\u00e9"}},
        {},
        SETTING_ERROR,
        "default_headers['X-Upstream-Auth'] contains a non-ASCII character",
    ),
    (
        "header value with a newline",
        {"default_headers": {"X-Upstream-Auth": API_KEY + "\n"}},
        {},
        SETTING_ERROR,
        "ends with a line break",
    ),
    ("base_url ending in /api", {"base_url": "{root}/api"}, {}, SETTING_ERROR, "use '{root}'"),
    ("base_url ending in /v1", {"base_url": "{root}/v1"}, {}, SETTING_ERROR, "use '{root}'"),
    (
        "base_url that is the endpoint",
        {"base_url": "{root}/api/project/" + PROJECT + "/integration/api/chat/completions"},
        {},
        SETTING_ERROR,
        "use '{root}'",
    ),
    ("base_url without a scheme", {"base_url": "{host}"}, {}, SETTING_ERROR, "has no scheme"),
    ("timeout=-1", {"timeout": -1}, {}, SETTING_ERROR, "timeout must be a number of seconds"),
    ("timeout=0", {"timeout": 0}, {}, SETTING_ERROR, "timeout must be a number of seconds"),
    ("stream_idle_timeout=0", {"stream_idle_timeout": 0}, {}, SETTING_ERROR, "stream_idle_timeout"),
    ("max_retries=-1", {"max_retries": -1}, {}, SETTING_ERROR, "greater than or equal to 0"),
    ("no project_id", {"project_id": None}, {}, SETTING_ERROR, "project_id is required"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    """A server that would answer every request well: it must receive none."""
    with RawServer() as raw:
        raw.script = lambda request: http_reply(200, {"Content-Type": "application/json"})
        yield raw


@pytest.fixture(scope="module")
def reports(server: RawServer) -> dict[tuple[str, str], dict[str, Any]]:
    """Every case in every mode, from one child process."""
    root, host = server.base_url, server.base_url.removeprefix("http://")
    cases = []
    for name, extra, env, _, _ in CASES:
        settings: dict[str, Any] = {
            "base_url": root,
            "project_id": PROJECT,
            "api_key": API_KEY,
            "max_retries": 2,
        }
        for field, value in extra.items():
            if field != "drop":
                settings[field] = _fill(value, root, host)
        for field in extra.get("drop", []):
            del settings[field]
        settings = {k: v for k, v in settings.items() if v is not None or k == "project_id"}
        cases.append({"name": name, "settings": settings, "env": env, "modes": ALL_MODES})
    env_without_key = {"PATHORS_API_KEY", "PATHORS_PROJECT_ID", "PATHORS_BASE_URL"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability._misuse_child",
            json.dumps({"canary": API_KEY, "cases": cases}),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in env_without_key},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert server.received == []  # no case sent anything, in any mode
    return {(r["case"], r["mode"]): r for r in found}


def _fill(value: Any, root: str, host: str) -> Any:
    if isinstance(value, str):
        return value.replace("{root}", root).replace("{host}", host)
    return value


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize(
    ("name", "extra", "env", "error", "match"), CASES, ids=[c[0] for c in CASES]
)
def test_misuse_fails_typed_and_before_sending(
    reports: dict[tuple[str, str], dict[str, Any]],
    server: RawServer,
    mode: str,
    name: str,
    extra: dict[str, Any],
    env: dict[str, str],
    error: str,
    match: str,
) -> None:
    report = reports[(name, mode)]
    growth = (report["rss_growth"] or 0) / MiB
    runs = [reports[(name, m)] for m in ALL_MODES]
    FIGURES[f"misuse {name}"] = (
        f"slowest of 4 modes {max(r['elapsed'] for r in runs) * 1000:.0f} ms, peak RSS "
        f"+{max((r['rss_growth'] or 0) for r in runs) / MiB:.1f} MiB"
    )
    raised = report["error"]
    assert raised is not None, "the call succeeded"
    assert raised["type"] == error, raised["message"]
    root = server.base_url
    assert _fill(match, root, root.removeprefix("http://")) in raised["message"]
    assert raised["canary_in"] == [], f"the key showed up in {raised['canary_in']}"
    assert report["retries"] == 0
    if error == KEY_ERROR:
        assert raised["is_retryable"] is False
    assert report["elapsed"] < 5.0  # no retries, no waiting: before, an empty key took 1 s+
    if report["rss_growth"] is not None:
        assert growth < 32


# --------------------------------------------------------------------------- user stories
def test_a_key_read_from_a_file_is_refused_until_stripped(
    emu: PathorsEmulator, tmp_path: Path
) -> None:
    key_file = tmp_path / "pathors.key"
    key_file.write_text(API_KEY + "\n")
    with pytest.raises(PathorsAuthenticationError, match=r"strip it") as info:
        ChatPathors(base_url=emu.base_url, project_id=PROJECT, api_key=key_file.read_text())
    assert API_KEY not in str(info.value)
    assert emu.requests == []
    llm = ChatPathors(
        base_url=emu.base_url, project_id=PROJECT, api_key=key_file.read_text().strip()
    )
    assert llm.invoke("Hi").content
    llm.close()


@pytest.mark.parametrize("suffix", ["/api", "/v1", f"/api/project/{PROJECT}/integration/api"])
async def test_the_base_url_the_message_suggests_works(emu: PathorsEmulator, suffix: str) -> None:
    with pytest.raises(ValidationError) as info:
        ChatPathors(base_url=emu.base_url + suffix, project_id=PROJECT, api_key=API_KEY)
    suggested = re.search(r"use '([^']+)'", str(info.value))
    assert suggested is not None
    assert emu.requests == []
    llm = ChatPathors(base_url=suggested.group(1), project_id=PROJECT, api_key=API_KEY)
    assert (await llm.ainvoke("Hi")).content
    await llm.aclose()


def test_a_base_url_without_scheme_gets_the_right_suggestion(emu: PathorsEmulator) -> None:
    bare = emu.base_url.removeprefix("http://")
    with pytest.raises(ValidationError, match="did you mean") as info:
        ChatPathors(base_url=bare, project_id=PROJECT, api_key=API_KEY)
    suggested = re.search(r"did you mean '([^']+)'", str(info.value))
    assert suggested is not None
    assert suggested.group(1) == emu.base_url  # loopback: http, not https
    llm = ChatPathors(base_url=suggested.group(1), project_id=PROJECT, api_key=API_KEY)
    assert "".join(str(c.content) for c in llm.stream("Hi"))
    llm.close()


def test_plain_http_to_another_machine_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "_warned_hosts", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            ChatPathors(base_url="http://pathors.lan.test", project_id=PROJECT, api_key=API_KEY)
        ChatPathors(base_url="http://127.0.0.1:9", project_id=PROJECT, api_key=API_KEY)
    assert [w.category for w in caught] == [PathorsInsecureURLWarning]
    assert API_KEY not in str(caught[0].message)
