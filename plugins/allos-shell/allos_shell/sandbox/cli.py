"""``allos sandbox status``: what the OS sandbox of ``shell_exec`` enforces on this machine."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("sandbox")
def sandbox() -> None:
    """The OS sandbox that confines shell commands (allos-shell)."""


@sandbox.command("status")
@click.option("--workspace", type=click.Path(exists=True, file_okay=False, resolve_path=True), metavar="DIR", help="Workspace to show (default: the current directory).")  # fmt: skip
@click.option("--trust-workspace", is_flag=True, help="Apply the workspace's allos.toml as if trusted.")  # fmt: skip
@click.option("--sandbox", "mode", type=click.Choice(["workspace-write", "read-only", "off"]), help="Show this mode instead of the configured one.")  # fmt: skip
def status(workspace: str | None, trust_workspace: bool, mode: str | None) -> None:
    """Show the mode, the Landlock ABI, what is enforced, and the environment policy."""
    from allos_core.cli.errors import handle_errors
    from allos_core.config import load_settings
    from allos_shell.environment import EnvironmentSettingsError
    from allos_shell.sandbox.notes import status_lines
    from allos_shell.sandbox.policy import SandboxSettingsError

    root = Path(workspace) if workspace else Path.cwd()
    with handle_errors(False):
        flags = {"sections": {"sandbox": {"mode": mode}}} if mode else None
        settings = load_settings(root, flags=flags, trust_workspace=trust_workspace)
        try:
            rows = status_lines(settings.plugin_settings(), root.resolve())
        except (SandboxSettingsError, EnvironmentSettingsError) as exc:
            from allos_core.errors import ConfigError

            raise ConfigError(str(exc), hint="fix it in allos.toml or the user config") from None
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
