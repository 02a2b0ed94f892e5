"""What the sandbox tells the user once per run, and what ``allos sandbox status`` shows."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allos_shell.environment import EnvironmentSettingsError, command_environment
from allos_shell.sandbox.policy import (
    PROTECTED_GIT_NAMES,
    PROTECTED_ROOT_NAMES,
    SandboxSettings,
    SandboxSettingsError,
    probe_readonly_mounts,
    sandbox_status,
    shared_temp_dirs,
)


def run_notes(settings: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``(level, message)`` for the run header: the sandbox line and the withheld variables."""
    try:
        sandbox = SandboxSettings.from_settings(settings)
        withheld = command_environment(settings, os.environ).withheld
    except (SandboxSettingsError, EnvironmentSettingsError) as exc:
        return [("warning", f"{exc}: every shell command will be refused until it is fixed")]
    status = sandbox_status(sandbox)
    level = "notice" if status.confines else "warning"
    line = status.summary()
    if withheld:
        line += f"; {len(withheld)} secret variable(s) withheld from commands"
    return [(level, line)]


def _protection(sandbox: SandboxSettings, status: Any) -> str:
    if not status.filesystem or sandbox.mode != "workspace-write":
        return ""
    if sandbox.readonly_mounts and probe_readonly_mounts():
        return " (read-only for commands: refused by the kernel; changes are also put back)"
    if sandbox.root_writable:
        return " (put back after any command that changed them; no user namespaces here)"
    return " (refused by the kernel; .git/hooks and .git/config put back)"


def status_lines(settings: Mapping[str, Any] | None, workspace: Path) -> list[tuple[str, str]]:
    """``(label, value)`` rows of ``allos sandbox status``."""
    sandbox = SandboxSettings.from_settings(settings)
    status = sandbox_status(sandbox)
    env = command_environment(settings, os.environ)
    if status.filesystem:
        if sandbox.mode == "workspace-write":
            writes = (
                "enforced: the workspace"
                + ("" if sandbox.root_writable else " (its existing entries only)")
                + ", temp folders "
                f"({', '.join([*shared_temp_dirs(workspace), 'a private TMPDIR'])})"
                + (f", {', '.join(sandbox.writable_paths)}" if sandbox.writable_paths else "")
            )
        else:
            writes = "enforced: nowhere (read-only)"
    elif sandbox.mode == "off":
        writes = "not enforced (sandbox off)"
    else:
        writes = f"NOT enforced: {status.reason}"
    if sandbox.network:
        network = "allowed (network = true)"
    elif status.network:
        network = "enforced: no TCP connect or bind"
    else:
        network = "NOT blocked" + (" (Landlock ABI < 4)" if status.filesystem else "")
    rows = [
        ("mode", sandbox.mode),
        ("landlock", f"ABI {status.abi}" if status.abi else f"unavailable: {status.reason}"),
        ("file writes", writes),
        ("network", network),
        (
            "protected",
            ", ".join(sorted(PROTECTED_ROOT_NAMES - {".git"}))
            + ", "
            + ", ".join(f".git/{n}" for n in sorted(PROTECTED_GIT_NAMES))
            + _protection(sandbox, status),
        ),
        ("processes", "a child subreaper stops every process a command started when it ends"),
        (
            "auto_allow",
            "on: confined commands run without a prompt"
            if sandbox.auto_allow and status.confines
            else "off: commands ask unless a rule allows them",
        ),  # fmt: skip
        (
            "environment",
            f"{len(env.withheld)} variable(s) withheld"
            + (f": {', '.join(env.withheld)}" if env.withheld else ""),
        ),
    ]
    rows += [("note", note) for note in status.notes]
    return rows
