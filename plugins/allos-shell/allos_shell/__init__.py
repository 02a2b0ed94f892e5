"""allos-shell: the ``shell_exec`` tool for Allos, and default deny rules for destructive commands.

Importing this module is cheap: the tool, bashlex and pydantic load only when a hook is called.

- ``allos_tools()`` offers :class:`allos_shell.tool.ShellExec` (``shell_exec(command, timeout)``).
- ``allos_check_permission(...)`` denies obviously destructive command lines (``rm -rf /``,
  ``mkfs``, ``dd of=/dev/sda``, fork bombs, ...; see :mod:`allos_shell.safety`). A deny beats
  every allow, including "yes to all". With ``[sandbox] auto_allow = true`` it allows a command
  the OS sandbox confines (reason ``sandboxed``); the user's ask and deny rules still win.
  Otherwise it abstains.
- ``allos_run_notes(...)`` says once per run what the sandbox enforces (or that there is none)
  and how many secret variables commands will not see.
- ``allos_cli_commands()`` adds ``allos sandbox status``.
"""

from __future__ import annotations

from typing import Any

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"

TOOL_NAME = "shell_exec"
SOURCE = "allos-shell"


@hookimpl
def allos_tools() -> list[Any]:
    """The ``shell_exec`` tool."""
    from allos_shell.tool import ShellExec

    return [ShellExec()]


@hookimpl
def allos_check_permission(
    call: Any, tool: Any, args: Any, subject: str | None, context: Any
) -> Any:
    """Deny ``shell_exec`` calls that match a default deny rule; abstain (None) otherwise."""
    name = getattr(tool, "name", None) or getattr(call, "name", None)
    if name != TOOL_NAME:
        return None
    command = _command_of(call, args, subject)
    if not command:
        return None
    from allos_shell.safety import destructive_reason

    reason = destructive_reason(command)
    from allos_core.permissions import PermissionDecision

    if reason is not None:
        return PermissionDecision.deny(
            f"{reason}: blocked by allos-shell's default deny rules", source=SOURCE
        )
    return _sandboxed_allow(context)


def _sandboxed_allow(context: Any) -> Any:
    """``allow`` (reason ``sandboxed``) when the user opted in and the sandbox really confines."""
    from allos_core.permissions import PermissionDecision
    from allos_shell.sandbox.policy import SandboxSettings, SandboxSettingsError, sandbox_status

    try:
        sandbox = SandboxSettings.from_settings(getattr(context, "settings", None))
    except SandboxSettingsError as exc:
        return PermissionDecision.deny(f"{exc}; the command was not run", source=SOURCE)
    if not sandbox.auto_allow:
        return None
    status = sandbox_status(sandbox)
    if not status.confines:
        return None  # no protection to lean on: ask as usual
    return PermissionDecision.allow(f"sandboxed ({status.summary()})", source=SOURCE)


@hookimpl
def allos_run_notes(settings: Any, tools: Any) -> list[tuple[str, str]]:
    """One line on what the sandbox enforces for commands, when ``shell_exec`` is offered."""
    if tools is not None and TOOL_NAME not in tools:
        return []
    from allos_shell.sandbox.notes import run_notes

    return run_notes(settings)


@hookimpl
def allos_cli_commands() -> list[Any]:
    """``allos sandbox status``."""
    from allos_shell.sandbox.cli import sandbox

    return [sandbox]


def _command_of(call: Any, args: Any, subject: str | None) -> str | None:
    """The full command line, from the validated args, the raw call, or the subject."""
    for source in (args, getattr(call, "arguments", None)):
        if isinstance(source, dict):
            value = source.get("command")
        else:
            value = getattr(source, "command", None)
        if isinstance(value, str):
            return value
    return subject
