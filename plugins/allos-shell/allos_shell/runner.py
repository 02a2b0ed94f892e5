"""One ``shell_exec`` call: settings read, environment filtered, command confined, leftovers stopped.

:func:`run_shell` is what the tool calls. On Linux every command goes through the sandbox
launcher (:mod:`allos_shell.sandbox.launcher`), which applies Landlock as ``[sandbox]`` says and
stops every process the command started, including those that left its process group. The
protected configuration is checked before and after (:mod:`allos_shell.sandbox.guard`).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allos_shell.environment import command_environment
from allos_shell.process import ProcessOutcome, run_command
from allos_shell.sandbox import guard
from allos_shell.sandbox.policy import (
    SandboxSettings,
    SandboxStatus,
    can_launch,
    launcher_argv,
    launcher_spec,
    private_temp_dir,
    sandbox_status,
)


@dataclass
class ShellRun:
    """How a command ran: the process outcome and what the sandbox did around it."""

    outcome: ProcessOutcome
    status: SandboxStatus
    contained: bool  # a subreaper watched every process the command started
    stopped: int = 0  # processes stopped because they outlived the command (or it was stopped)
    restored: list[str] = field(default_factory=list)
    withheld: int = 0
    read_only_mounts: list[str] = field(default_factory=list)  # protected paths the kernel held


async def run_shell(
    argv: list[str],
    *,
    workspace: Path,
    settings: Any,
    timeout: float,
    output_limit: int,
    kill_grace: float,
    drain_grace: float,
    environ: dict[str, str] | None = None,
) -> ShellRun:
    """Run ``argv`` (``bash -c COMMAND``) in ``workspace`` the way ``[sandbox]`` says.

    Raises ``ValueError`` (:class:`~allos_shell.sandbox.policy.SandboxSettingsError`,
    :class:`~allos_shell.environment.EnvironmentSettingsError`) on invalid settings: the
    command then does not run.
    """
    sandbox = SandboxSettings.from_settings(settings)
    env = command_environment(settings, os.environ if environ is None else environ)
    status = sandbox_status(sandbox)
    if status.filesystem and sandbox.mode == "workspace-write":
        temp = private_temp_dir()  # always writable, even when /tmp holds the workspace
        env.environ.update(TMPDIR=temp, TMP=temp, TEMP=temp)
    pass_fds: tuple[int, ...] = ()
    read_end = None
    contained = can_launch()
    if contained:
        if sandbox.mode != "off":
            from allos_shell.sandbox.undumpable import hide_agent_process

            hide_agent_process()  # the provider keys in our /proc/PID/environ stay ours
        read_end, write_end = os.pipe()
        pass_fds = (write_end,)
        spec = launcher_spec(
            sandbox,
            status,
            workspace,
            linger=drain_grace,
            grace=max(min(kill_grace / 2, 1.0), 0.05),
            status_fd=write_end,
        )
        argv = launcher_argv(json.dumps(spec), argv)
    before = guard.snapshot(workspace) if sandbox.mode != "off" else None
    try:
        outcome = await run_command(
            argv,
            cwd=workspace,
            timeout=timeout,
            output_limit=output_limit,
            kill_grace=kill_grace,
            drain_grace=drain_grace,
            env=env.environ,
            pass_fds=pass_fds,
        )
    finally:
        for fd in pass_fds:
            os.close(fd)
        report = _read_status(read_end)
    restored = guard.restore(workspace, before) if before is not None else []
    if report and isinstance(report.get("exit"), int) and outcome.exit_code is not None:
        outcome.exit_code = report["exit"]
    return ShellRun(
        outcome,
        status,
        contained=contained and report is not None,
        stopped=int(report.get("stopped", 0)) if report else 0,
        restored=restored,
        withheld=len(env.withheld),
        read_only_mounts=[str(p) for p in (report or {}).get("protected") or []],
    )


def _read_status(fd: int | None) -> dict[str, Any] | None:
    """The launcher's last line (it writes before it exits), or None."""
    if fd is None:
        return None
    data = b""
    try:
        os.set_blocking(fd, False)
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(fd, 4096):
                data += chunk
    finally:
        os.close(fd)
    try:
        report = json.loads(data.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return report if isinstance(report, dict) else None
