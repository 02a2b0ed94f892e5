"""Nothing a command starts outlives it: the launcher is a child subreaper.

A grandchild started with ``setsid`` leaves the command's session and process group, so killing
the group cannot reach it; re-parented to the launcher, it is found and stopped anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest
from allos_shell.sandbox.policy import can_launch
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext

pytestmark = pytest.mark.skipif(not can_launch(), reason="the launcher needs Linux /proc")

DETACHED = "setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > pid"


async def wait_for_pid(path: Path) -> int:
    for _ in range(500):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


@pytest.fixture
def context(tmp_path: Path) -> ToolContext:
    return ToolContext(workspace=tmp_path)


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


async def test_setsid_grandchild_is_stopped_on_timeout(context, tmp_path, is_running):
    # given a command that detaches a grandchild into its own session, then hangs
    result = await ShellExec(kill_grace=1.0).invoke(
        {"command": f"{DETACHED}; sleep 300", "timeout": 1}, context
    )
    pid = int((tmp_path / "pid").read_text())
    try:
        # then the timeout stops it too, and the result claims exactly that
        assert result.metadata["timed_out"] and result.metadata["contained"]
        assert "with every process it started" in result.content
        assert not is_running(pid)
    finally:
        kill(pid)


async def test_setsid_grandchild_is_stopped_when_the_command_exits(context, tmp_path, is_running):
    result = await ShellExec(drain_grace=0.1).invoke({"command": DETACHED}, context)
    pid = int((tmp_path / "pid").read_text())
    try:
        assert not result.is_error
        assert "1 background process(es) the command left running were stopped" in result.content
        assert not is_running(pid)
    finally:
        kill(pid)


async def test_double_forked_daemon_is_stopped(context, tmp_path, is_running):
    command = "( ( sleep 300 & echo $! > pid ) & ) ; sleep 0.1"
    result = await ShellExec(drain_grace=0.1).invoke({"command": command}, context)
    pid = await wait_for_pid(tmp_path / "pid")
    try:
        assert not result.is_error and not is_running(pid)
    finally:
        kill(pid)


async def test_cancellation_stops_setsid_grandchildren(context, tmp_path, is_running):
    task = asyncio.ensure_future(
        ShellExec(kill_grace=1.0).invoke({"command": f"{DETACHED}; sleep 300"}, context)
    )
    pid = await wait_for_pid(tmp_path / "pid")
    try:
        assert is_running(pid)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not is_running(pid)
    finally:
        kill(pid)


async def test_exit_code_and_signal_pass_through_the_launcher(context):
    tool = ShellExec()
    assert (await tool.invoke({"command": "exit 3"}, context)).metadata["exit_code"] == 3
    killed = await tool.invoke({"command": "kill -9 $$"}, context)
    assert killed.metadata["exit_code"] == -9 and "SIGKILL" in killed.content


LAUNCHER = Path(__file__).parents[1] / "allos_shell" / "sandbox" / "launcher.py"


def load_launcher():
    import importlib.util

    spec = importlib.util.spec_from_file_location("launcher_under_test", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launcher_refuses_to_run_when_landlock_fails(tmp_path):
    # given a launcher whose Landlock call fails (as in a container that forbids it)
    import subprocess
    import sys

    marker = tmp_path / "ran"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('l', {str(LAUNCHER)!r})\n"
        "l = importlib.util.module_from_spec(spec); spec.loader.exec_module(l)\n"
        "class Broken:\n"
        "    def restrict_self(self, *a, **k): raise OSError(1, 'landlock_restrict_self failed')\n"
        "l._sibling = lambda name: Broken()\n"
        f"sys.exit(l.main(['launcher', '{{\"landlock\": true}}', '--', 'touch', {str(marker)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    # then the command never runs, and stderr says why
    assert result.returncode == 125
    assert "the command was not run" in result.stderr
    assert not marker.exists()


def test_children_are_found_without_proc_children_files():
    import subprocess

    launcher = load_launcher()
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in launcher._scan_children(os.getpid())
        assert child.pid in launcher._children_of(os.getpid())
    finally:
        child.kill()
        child.wait()


async def test_command_cannot_reach_the_launchers_report(context):
    # the launcher's report (how many processes it stopped) must not be forgeable by the command
    result = await ShellExec().invoke({"command": "ls /proc/self/fd | wc -l"}, context)
    assert "stdout:\n4" in result.content  # stdin, stdout, stderr, and the fd ls itself opens
