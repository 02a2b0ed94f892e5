"""Running commands with shell_exec, through the tool API the agent uses (schema, validate, invoke)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext

GRANDCHILD = "bash -c 'sleep 300 & echo $! > pid; wait'"


async def wait_for_pid(path: Path, deadline: float = 10.0) -> int:
    """Wait until a command has written a pid to ``path`` (a condition, not a fixed delay)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                return int(text)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} was never written")


def test_schema_and_defaults(shell):
    schema = shell.schema()
    assert schema.name == "shell_exec"
    params = schema.parameters
    assert set(params["properties"]) == {"command", "timeout"}
    assert params["required"] == ["command"]
    timeout = params["properties"]["timeout"]
    assert timeout["default"] == 120 and timeout["minimum"] == 1 and timeout["maximum"] == 3600
    assert params["additionalProperties"] is False
    assert shell.default_permission == "ask" and shell.read_only is False
    assert "stdin" in shell.description


@pytest.mark.parametrize(
    "arguments, complaint",
    [
        ({}, "command"),
        ({"command": ""}, "command"),
        ({"command": "ls", "timeout": 0}, "timeout"),
        ({"command": "ls", "timeout": 3601}, "timeout"),
        ({"command": "ls", "cwd": "/"}, "cwd"),
    ],
)
async def test_invalid_arguments_become_error_results(shell, context, arguments, complaint):
    result = await shell.invoke(arguments, context)
    assert result.is_error
    assert "Invalid arguments for shell_exec" in result.content and complaint in result.content


def test_permission_subject_is_the_command(shell, context):
    args = shell.validate({"command": "git status && ls"})
    assert shell.permission_subject(args, context) == "git status && ls"
    assert shell.permission_subjects(args, context) == ["git status", "ls"]
    assert "git status && ls" in shell.preview(args, context)


async def test_runs_in_the_workspace(shell, context, tmp_path):
    (tmp_path / "marker.txt").write_text("here")
    result = await shell.invoke({"command": "pwd; ls"}, context)
    assert not result.is_error
    assert result.content.startswith("exit code: 0\nstdout:\n")
    assert f"{context.workspace}\nmarker.txt" in result.content
    assert result.metadata["exit_code"] == 0


async def test_stdin_is_closed(shell, context):
    result = await shell.invoke({"command": "cat; read line; echo read-status=$?"}, context)
    assert not result.is_error
    assert "read-status=1" in result.content


async def test_exit_code_and_stderr(shell, context):
    result = await shell.invoke({"command": "echo out; echo oops >&2; exit 3"}, context)
    assert result.is_error
    assert result.content == "exit code: 3\nstdout:\nout\nstderr:\noops"
    assert result.metadata["exit_code"] == 3 and result.metadata["timed_out"] is False


async def test_no_output_is_said(shell, context):
    result = await shell.invoke({"command": "true"}, context)
    assert (result.content, result.is_error) == ("exit code: 0\n(no output)", False)


async def test_killed_by_a_signal_is_an_error(shell, context):
    result = await shell.invoke({"command": "kill -9 $$"}, context)
    assert result.is_error
    assert "exit code: -9 (killed by SIGKILL)" in result.content


async def test_bash_features_work(shell, context):
    result = await shell.invoke({"command": "a=(x y z); echo ${#a[@]} $((2 * 21))"}, context)
    assert "3 42" in result.content


async def test_falls_back_to_sh_without_bash(shell, context, monkeypatch):
    monkeypatch.setattr("allos_shell.tool.shutil.which", lambda name: None)
    result = await shell.invoke({"command": 'echo "$0"'}, context)
    assert "/bin/sh" in result.content


async def test_output_cap_keeps_head_and_tail(context):
    tool = ShellExec(output_limit=1000)
    result = await tool.invoke({"command": "seq 1 100000; seq 1 50000 >&2"}, context)
    out = result.content.split("\nstderr:\n")[0]
    assert out.startswith("exit code: 0\nstdout:\n1\n2\n3\n")
    assert out.endswith("\n99999\n100000")
    total = len("".join(f"{i}\n" for i in range(1, 100001)))
    assert f"[... {total - 1000} bytes of stdout cut from the middle;" in out
    assert "\n50000\n" not in out  # the middle is gone
    err = result.content.split("\nstderr:\n")[1]
    assert err.startswith("1\n2\n") and err.endswith("\n50000")
    assert "bytes of stderr cut from the middle" in err
    assert result.metadata["truncated"] is True
    assert result.metadata["stdout_bytes"] == total


async def test_default_cap_bounds_huge_output(shell, context):
    result = await shell.invoke({"command": "seq 1 300000"}, context)
    assert len(result.content) < 31_000
    assert result.content.endswith("\n300000") and "cut from the middle" in result.content


async def test_cut_never_splits_a_character(context):
    tool = ShellExec(output_limit=101)
    result = await tool.invoke({"command": "for i in $(seq 300); do printf 'é'; done"}, context)
    assert "\ufffd" not in result.content


async def test_timeout_kills_children_and_grandchildren(shell, context, tmp_path, is_running):
    command = f"echo $$ > leader; {GRANDCHILD}"
    result = await shell.invoke({"command": command, "timeout": 1}, context)
    assert result.is_error
    assert result.content.startswith("timed out: killed after 1 s")
    assert result.metadata["timed_out"] is True
    leader = int((tmp_path / "leader").read_text())
    grandchild = int((tmp_path / "pid").read_text())
    assert not is_running(leader)
    assert not is_running(grandchild)


async def test_timeout_escalates_to_sigkill(context, tmp_path, is_running):
    tool = ShellExec(kill_grace=0.2)
    # the grandchild ignores SIGTERM (ignored signals survive exec), so only SIGKILL stops it
    command = "bash -c 'trap \"\" TERM; sleep 300 & echo $! > pid; wait'"
    result = await tool.invoke({"command": command, "timeout": 1}, context)
    assert result.metadata["timed_out"] is True
    assert not is_running(int((tmp_path / "pid").read_text()))


async def test_partial_output_is_kept_on_timeout(shell, context):
    result = await shell.invoke({"command": "echo before; sleep 300", "timeout": 1}, context)
    assert result.is_error and "stdout:\nbefore" in result.content


async def test_background_process_holding_the_output_is_stopped(context, tmp_path, is_running):
    tool = ShellExec(drain_grace=0.2)
    result = await tool.invoke({"command": "sleep 300 & echo $! > pid; echo started"}, context)
    assert not result.is_error and result.metadata["timed_out"] is False
    assert "stdout:\nstarted" in result.content
    assert "1 background process(es) the command left running were stopped" in result.content
    assert not is_running(int((tmp_path / "pid").read_text()))


async def test_detached_background_process_is_stopped_too(shell, context, tmp_path, is_running):
    # given a background process whose output goes elsewhere (it used to be left running)
    command = "sleep 300 > /dev/null 2>&1 & echo $! > pid"
    result = await shell.invoke({"command": command}, context)
    pid = int((tmp_path / "pid").read_text())
    try:
        # then it does not outlive the command, and the result says so
        assert not result.is_error and "background process(es)" in result.content
        assert not is_running(pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def test_cancellation_kills_the_group(shell, context, tmp_path, is_running):
    command = f"echo $$ > leader; {GRANDCHILD}"
    task = asyncio.ensure_future(shell.invoke({"command": command}, context))
    grandchild = await wait_for_pid(tmp_path / "pid")
    leader = int((tmp_path / "leader").read_text())
    assert is_running(grandchild)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not is_running(grandchild)
    assert not is_running(leader)


async def test_missing_workspace_is_a_clear_error(shell, tmp_path):
    context = ToolContext(workspace=tmp_path / "gone")
    result = await shell.invoke({"command": "ls"}, context)
    assert result.is_error and "is not a folder" in result.content
