"""Checkpoints and undo: the agent's file changes, turn by turn, restored on request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_support import call, invoke, write_script

from allos_core import Agent
from allos_core.checkpoints import CheckpointLog
from allos_core.testing import ScriptedProvider
from allos_core.undo import UndoError


def _agent(workspace: Path, turns: list, **kwargs) -> Agent:
    return Agent(
        ScriptedProvider(turns),
        tools=["read_file", "write_file", "edit_file", "shell_exec"],
        workspace=workspace,
        yes=True,
        **kwargs,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "app.py").write_text("print('v1')\n", encoding="utf-8")
    return folder


def test_undo_restores_an_edit_and_removes_a_created_file(ws):
    agent = _agent(
        ws,
        [
            {
                "tool_calls": [
                    call("edit_file", path="app.py", old_text="v1", new_text="v2"),
                    call("write_file", path="new.txt", content="hello\n"),
                ]
            },
            "done",
        ],
    )
    assert agent.run("change things").stop_reason == "answered"
    assert (ws / "app.py").read_text() == "print('v2')\n"
    report = agent.undo()
    assert (ws / "app.py").read_text() == "print('v1')\n"
    assert not (ws / "new.txt").exists()
    assert report.restored == ["app.py"] and report.deleted == ["new.txt"]
    # the turn is gone from the conversation, so the model knows
    assert [m.role for m in agent.messages] == ["system"]


def test_undo_two_turns_goes_back_to_before_the_first(ws):
    turns = [
        {"tool_calls": [call("write_file", path="app.py", content="A\n")]},
        "one",
        {"tool_calls": [call("write_file", path="app.py", content="B\n")]},
        "two",
    ]
    agent = _agent(ws, turns)
    agent.run("first")
    agent.run("second")
    agent.undo(turns=1)
    assert (ws / "app.py").read_text() == "A\n"
    agent.undo(turns=1)
    assert (ws / "app.py").read_text() == "print('v1')\n"
    with pytest.raises(UndoError, match="nothing to undo"):
        agent.undo()


def test_a_file_the_user_changed_since_is_refused_unless_forced(ws):
    agent = _agent(ws, [{"tool_calls": [call("write_file", path="app.py", content="A\n")]}, "ok"])
    agent.run("write")
    (ws / "app.py").write_text("mine\n", encoding="utf-8")  # the user edits afterwards
    with pytest.raises(UndoError, match="changed since the agent changed them: app.py"):
        agent.undo()
    assert (ws / "app.py").read_text() == "mine\n"  # nothing half-done
    report = agent.undo(force=True)
    assert report.forced == ["app.py"]
    assert (ws / "app.py").read_text() == "print('v1')\n"


def test_commands_are_reported_as_not_undone(ws):
    turns = [
        {
            "tool_calls": [
                call("write_file", path="a.txt", content="x"),
                call("shell_exec", command="echo hi > b.txt"),
            ]
        },
        "ok",
    ]
    agent = _agent(ws, turns)
    agent.run("do")
    report = agent.undo()
    assert not (ws / "a.txt").exists()
    assert (ws / "b.txt").exists()  # a command's effect stays
    assert any("shell_exec" in c for c in report.commands)


def test_a_tampered_log_cannot_write_outside_the_workspace(ws, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    log = CheckpointLog.from_data(
        [
            {
                "turn": 1,
                "task": "evil",
                "changes": [{"path": "../outside.txt", "before": "pwned", "after_sha256": None}],
            }
        ]
    )
    from allos_core.tools import ToolContext
    from allos_core.undo import undo

    with pytest.raises(UndoError, match="outside"):
        undo(ToolContext(workspace=ws), log, force=True)
    assert outside.read_text() == "keep"


def test_cli_undo_restores_the_last_turn_of_a_session(ws, tmp_path):
    script = write_script(
        tmp_path, [{"tool_calls": [call("write_file", path="app.py", content="B\n")]}, "ok"]
    )
    ran = invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "-y", "-s", "u1", "go"
    )
    assert ran.exit_code == 0, ran.stderr
    shown = invoke("sessions", "show", "u1")
    assert "app.py" in shown.stdout  # the changes per turn
    result = invoke("undo", "-s", "u1")
    assert result.exit_code == 0, result.stderr
    assert (ws / "app.py").read_text() == "print('v1')\n"
    assert "restored app.py" in result.stderr
    again = invoke("undo", "-s", "u1")
    assert again.exit_code == 1
    assert "nothing to undo" in again.stderr


def test_cli_undo_refuses_a_user_change_and_names_the_file(ws, tmp_path):
    script = write_script(
        tmp_path, [{"tool_calls": [call("write_file", path="app.py", content="B\n")]}, "ok"]
    )
    invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "-y", "-s", "u2", "go"
    )
    (ws / "app.py").write_text("mine\n", encoding="utf-8")
    result = invoke("undo", "-s", "u2")
    assert result.exit_code == 1
    assert "app.py" in result.stderr and "--force" in result.stderr
    assert (ws / "app.py").read_text() == "mine\n"


def test_git_option_commits_each_turn(ws, tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ws), *args], capture_output=True, text=True, check=True
        ).stdout

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    script = write_script(
        tmp_path, [{"tool_calls": [call("write_file", path="app.py", content="B\n")]}, "ok"]
    )
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    result = invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "-y", "--git",
        "fix the app", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert git("log", "-1", "--format=%s").strip() == "allos: fix the app"
    assert git("status", "--porcelain").strip() == ""
