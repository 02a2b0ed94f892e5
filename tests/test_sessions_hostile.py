"""Crafted session files (absurd nesting, huge, wrong types, not a file) get the corrupt-file
message, and never break `allos sessions list` for the other sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import invoke

from allos_core.errors import SessionError
from allos_core.messages import Message
from allos_core.sessions import MAX_SESSION_BYTES, Session, list_sessions

HOSTILE = {
    "deep": b"[" * 200_000 + b"]" * 200_000,
    "deep_inside": (
        b'{"format": "allos-session", "version": 1, "messages": [{"role": "user", "parts": '
        + b"[" * 200_000
        + b"]" * 200_000
        + b"}]}"
    ),
    "wrong_types": json.dumps(
        {
            "format": "allos-session",
            "version": 1,
            "name": ["x"],
            "messages": {"a": 1},
            "turns": "nope",
            "updated_at": 5,
            "usage": "lots",
        }
    ).encode(),  # fmt: skip
    "wrong_parts": json.dumps(
        {"format": "allos-session", "version": 1, "messages": [{"role": "user", "parts": "hi"}]}
    ).encode(),
}


@pytest.fixture
def folder() -> Path:
    path = Path(os.environ["ALLOS_SESSIONS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_hostile(folder: Path) -> None:
    for name, data in HOSTILE.items():
        (folder / f"{name}.json").write_bytes(data)
    with open(folder / "huge.json", "wb") as handle:
        handle.truncate(MAX_SESSION_BYTES + 1)  # sparse
    os.mkfifo(folder / "fifo.json")  # reading it naively would block forever


def test_sessions_list_survives_every_hostile_file_and_shows_the_good_one(folder):
    Session(path=folder / "good.json", messages=[Message.user("a real task")]).save()
    make_hostile(folder)
    summaries = {s.name: s for s in list_sessions()}
    assert summaries["good"].error is None and summaries["good"].title == "a real task"
    for name in (*HOSTILE, "huge", "fifo"):
        assert summaries[name].error and summaries[name].error.startswith("unreadable")
    result = invoke("sessions", "list")
    assert result.exit_code == 0, result.stderr
    assert "a real task" in result.stdout


@pytest.mark.parametrize("name", [*HOSTILE, "huge", "fifo"])
def test_loading_a_hostile_file_is_the_corrupt_file_error(folder, name):
    make_hostile(folder)
    with pytest.raises(SessionError) as raised:
        Session.load(str(folder / f"{name}.json"))
    assert "left untouched" in str(raised.value) or "not an Allos session" in str(raised.value)


def test_sessions_show_of_a_deeply_nested_file_is_one_clear_error(folder):
    make_hostile(folder)
    result = invoke("sessions", "show", str(folder / "deep_inside.json"))
    assert result.exit_code == 1
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr
