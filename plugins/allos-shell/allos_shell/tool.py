"""The ``shell_exec`` tool: run a command with bash in the workspace."""

from __future__ import annotations

import shutil
import signal
from typing import TYPE_CHECKING, Any

from allos_core.tools import Tool, ToolContext, ToolResult
from allos_shell.commands import permission_aliases, permission_subjects
from allos_shell.limits import DEFAULT_OUTPUT_LIMIT, MAX_TIMEOUT

if TYPE_CHECKING:  # pragma: no cover
    from allos_shell.process import ProcessOutcome
    from allos_shell.runner import ShellRun


class ShellExec(Tool):
    """Run a shell command in the workspace.

    ``output_limit`` is how many bytes of stdout and of stderr are kept (the start and the end);
    ``kill_grace`` how long processes get between ``SIGTERM`` and ``SIGKILL``.
    """

    name = "shell_exec"
    description = (
        "Run a command line with bash in the workspace folder and return its exit code, stdout "
        "and stderr. Non-interactive: stdin is closed, so commands that wait for input fail or "
        "get end-of-file; pass flags such as --yes or --no-pager instead. The command and every "
        "process it starts are killed after `timeout` seconds (default 120). Long output is cut "
        "in the middle. Commands usually run in an OS sandbox: writes outside the workspace and "
        "temp folders, changes to the agent's configuration and network connections are "
        "refused, and API keys are not in the environment. Prefer the file tools for reading "
        "and editing files."
    )
    Args = "allos_shell.args:ShellExecArgs"  # imported on first use: loading plugins stays cheap
    read_only = False
    default_permission = "ask"

    def __init__(
        self,
        *,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        kill_grace: float = 2.0,
        drain_grace: float = 1.0,
    ) -> None:
        self.output_limit = output_limit
        self.kill_grace = kill_grace
        self.drain_grace = drain_grace

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        """The whole command line (what a prompt shows)."""
        return args.command

    def permission_subjects(self, args: Any, context: ToolContext) -> list[str | None]:
        """Each simple command, substitution and write redirection; see :mod:`allos_shell.commands`."""
        return list(permission_subjects(args.command))

    def permission_aliases(self, args: Any, context: ToolContext) -> list[str]:
        """Other spellings deny rules also see (``/bin/rm`` is ``rm``); see :mod:`allos_shell.subjects`."""
        return permission_aliases(args.command)

    def preview(self, args: Any, context: ToolContext) -> str | None:
        return f"$ {args.command}"

    async def run(self, args: Any, context: ToolContext) -> ToolResult:
        workspace = context.workspace
        if not workspace.is_dir():
            return ToolResult.error(
                f"the workspace {workspace} is not a folder; start allos in an existing folder"
            )
        from allos_shell.runner import run_shell  # asyncio subprocess machinery

        try:
            shell_run = await run_shell(
                [shell_program(), "-c", args.command],
                workspace=workspace,
                settings=context.settings,
                timeout=args.timeout,
                output_limit=self.output_limit,
                kill_grace=self.kill_grace,
                drain_grace=self.drain_grace,
            )
        except ValueError as exc:  # invalid [sandbox] or [shell.environment] settings
            return ToolResult.error(f"not run: {exc}; fix the setting in allos.toml")
        return format_outcome(shell_run.outcome, args.timeout, shell_run)


def shell_program() -> str:
    """bash if it is installed, else ``/bin/sh``."""
    return shutil.which("bash") or "/bin/sh"


def format_outcome(
    outcome: ProcessOutcome, timeout: int, shell_run: ShellRun | None = None
) -> ToolResult:
    """The text a model reads: status line, then the stdout and stderr sections.

    It claims only what was done: "every process it started" only when the launcher (a child
    subreaper) watched them all, "its process group" otherwise.
    """
    contained = shell_run is not None and shell_run.contained
    lines: list[str] = []
    if outcome.timed_out:
        which = "with every process it started" if contained else "with its process group"
        lines.append(
            f"timed out: killed after {timeout} s, {which} "
            f"(raise `timeout`, up to {MAX_TIMEOUT}, for longer commands)"
        )
    lines.append(f"exit code: {_exit_text(outcome.exit_code)}")
    if contained and shell_run is not None and shell_run.stopped and not outcome.timed_out:
        lines.append(
            f"note: {shell_run.stopped} background process(es) the command left running were "
            "stopped when it exited; nothing a command starts outlives it"
        )
    elif outcome.stragglers_killed:
        lines.append(
            "note: background processes still holding the output were stopped when the command "
            "exited"
        )
    if shell_run is not None and shell_run.restored:
        lines.append(
            "refused: the command changed protected configuration ("
            + ", ".join(shell_run.restored)
            + "); it was put back as it was"
        )
    stdout = outcome.stdout.text("stdout").rstrip("\n")
    stderr = outcome.stderr.text("stderr").rstrip("\n")
    if shell_run is not None and outcome.exit_code != 0 and _refused(stdout + stderr):
        lines.append(sandbox_hint(shell_run))
    if stdout:
        lines += ["stdout:", stdout]
    if stderr:
        lines += ["stderr:", stderr]
    if not stdout and not stderr:
        lines.append("(no output)")
    failed = outcome.timed_out or outcome.exit_code != 0 or bool(shell_run and shell_run.restored)
    metadata: dict[str, Any] = {
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "duration": round(outcome.duration, 3),
        "stdout_bytes": outcome.stdout.total,
        "stderr_bytes": outcome.stderr.total,
        "truncated": bool(outcome.stdout.cut or outcome.stderr.cut),
    }
    if shell_run is not None:
        metadata.update(
            sandbox=shell_run.status.summary(),
            contained=shell_run.contained,
            stopped=shell_run.stopped,
            restored=list(shell_run.restored),
            env_withheld=shell_run.withheld,
            read_only_mounts=len(shell_run.read_only_mounts),
        )
    return ToolResult("\n".join(lines), is_error=failed, metadata=metadata)


def _refused(text: str) -> bool:
    return any(
        m in text for m in ("Permission denied", "Operation not permitted", "PermissionError")
    )


def sandbox_hint(shell_run: ShellRun) -> str:
    """What the sandbox refuses, for a command that failed with a permission error."""
    status = shell_run.status
    if not status.filesystem:
        return "note: no OS sandbox is active; the permission error comes from the system"
    if status.mode == "read-only":
        return "note: the sandbox is read-only: commands cannot write files"
    net = "" if status.network_allowed else ", and network connections"
    return (
        "note: the sandbox refuses writes outside the workspace and temp folders, and to the "
        f"agent's configuration (allos.toml, AGENTS.md, .git/config, .git/hooks, ...){net}; "
        "the user can widen it in [sandbox] (see `allos sandbox status`)"
    )


def _exit_text(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"{code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"{code} (killed by signal {-code})"
    return str(code)
