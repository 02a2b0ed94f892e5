"""Red-team pass on `allos undo`: a tampered change log, a tree changed since, hostile names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import call, invoke, write_script

from allos_core.checkpoints import CheckpointLog
from allos_core.tools import ToolContext
from allos_core.undo import UndoError, undo


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def log_of(*changes: dict) -> CheckpointLog:
    return CheckpointLog.from_data([{"turn": 1, "task": "t", "changes": list(changes)}])


@pytest.mark.parametrize("path", ["/etc/hostname-allos", "{outside}", "sub/../../outside.txt"])
def test_a_tampered_log_naming_an_absolute_or_climbing_path_writes_nothing(ws, tmp_path, path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    change = {"path": path.format(outside=outside), "before": "pwned", "after_sha256": None}
    with pytest.raises(UndoError):
        undo(ToolContext(workspace=ws), log_of(change), force=True)
    assert outside.read_text() == "keep"
    assert not Path("/etc/hostname-allos").exists()


def test_undo_through_a_folder_swapped_for_a_link_out_writes_nothing_outside(ws, tmp_path):
    # given: the agent changed sub/a.txt; a command since replaced sub with a link out
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_text("keep")
    (ws / "sub").symlink_to(outside)
    change = {"path": "sub/a.txt", "before": "pwned", "after_sha256": None}
    # when / then: undo refuses, and the outside file is untouched
    with pytest.raises(UndoError):
        undo(ToolContext(workspace=ws), log_of(change), force=True)
    assert (outside / "a.txt").read_text() == "keep"


def test_undo_of_a_file_now_a_fifo_does_not_hang(ws):
    os.mkfifo(ws / "a.txt")
    change = {"path": "a.txt", "before": "x", "after_sha256": "0" * 64}
    with pytest.raises(UndoError):
        undo(ToolContext(workspace=ws), log_of(change))


def test_cli_undo_shows_hostile_names_and_commands_escaped(ws, tmp_path):
    # given: a session whose log names a file and a command with terminal escapes
    script = write_script(
        tmp_path, [{"tool_calls": [call("write_file", path="a", content="1")]}, "ok"]
    )
    invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "-y", "-s", "u", "go"
    )
    session = Path(os.environ["ALLOS_SESSIONS_DIR"]) / "u.json"
    data = json.loads(session.read_text())
    checkpoint = data["metadata"]["checkpoints"][0]
    checkpoint["changes"] = [
        {"path": "b\x1b]52;c;aGk=\x07\u202e.txt", "before": "x", "after_sha256": None}
    ]
    checkpoint["commands"] = ["rm \x1b[2J\x1b]0;title\x07 x"]
    session.write_text(json.dumps(data))
    # when
    result = invoke("undo", "-s", "u", "--force")
    # then: the names are shown, escaped, and nothing raw reaches the terminal
    assert result.exit_code == 0, result.stderr
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.stderr + result.stdout
    assert "\\x1b]52" in result.stderr and "<U+202E>" in result.stderr
