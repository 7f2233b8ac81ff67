"""Session heads: fork detection and the bounded per-process memory."""

from __future__ import annotations

import pytest

from langchain_pathors._session_heads import SessionHeads, is_fork


@pytest.mark.parametrize(
    ("head", "history_reply", "fork"),
    [
        ("r2", "r1", True),  # the session moved on after r1: time travel, regenerate
        ("r2", "r2", False),  # continues from the latest reply
        (None, "r1", False),  # head unknown: another process, a restart, a failed turn
        ("r2", None, False),  # the history has no reply from this session
        (None, None, False),
    ],
)
def test_is_fork(head: str | None, history_reply: str | None, fork: bool) -> None:
    assert is_fork(head, history_reply) is fork


def test_set_get_forget() -> None:
    heads = SessionHeads()
    assert heads.get("s") is None
    heads.set("s", "r1")
    heads.set("s", "r2")
    assert heads.get("s") == "r2"
    heads.forget("s")
    assert heads.get("s") is None
    heads.forget("never-seen")  # no error


def test_bounded_least_recently_used_are_forgotten() -> None:
    heads = SessionHeads(max_entries=2)
    heads.set("a", "1")
    heads.set("b", "1")
    assert heads.get("a") == "1"  # touches "a": "b" is now the oldest
    heads.set("c", "1")
    assert len(heads) == 2
    assert heads.get("b") is None  # forgotten: unknown, hence never a fork
    assert heads.get("a") == "1"
    assert heads.get("c") == "1"
