"""allos-shell: the ``shell_exec`` tool for Allos, and default deny rules for destructive commands.

Importing this module is cheap: the tool, bashlex and pydantic load only when a hook is called.

- ``allos_tools()`` offers :class:`allos_shell.tool.ShellExec` (``shell_exec(command, timeout)``).
- ``allos_check_permission(...)`` denies obviously destructive command lines (``rm -rf /``,
  ``mkfs``, ``dd of=/dev/sda``, fork bombs, ...; see :mod:`allos_shell.safety`) and abstains
  otherwise. A deny beats every allow, including "yes to all".
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
    if reason is None:
        return None
    from allos_core.permissions import PermissionDecision

    return PermissionDecision.deny(
        f"{reason}: blocked by allos-shell's default deny rules", source=SOURCE
    )


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
