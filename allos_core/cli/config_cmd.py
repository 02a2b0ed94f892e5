"""``allos config show`` and ``allos config path``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from allos_core.cli.errors import handle_errors

_WORKSPACE = click.option(
    "--workspace",
    type=click.Path(file_okay=False, resolve_path=True),
    metavar="DIR",
    help="Workspace whose allos.toml is read (default: the current directory).",
)


@click.group("config")
def config() -> None:
    """Show the merged configuration and where its files are.

    Settings come from the user config file, then allos.toml in the workspace (which wins), then
    the environment (ALLOS_PROVIDER, ALLOS_MODEL, ALLOS_MAX_ITERATIONS), then command-line flags.
    A workspace allos.toml cannot set keys, tokens or server URLs, and its allow rules apply only
    to a trusted workspace (trusted_workspaces in the user file, or --trust-workspace).
    """


@config.command("show")
@_WORKSPACE
@click.option("--trust-workspace", is_flag=True, help="Show the settings as `allos run --trust-workspace` would use them.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def config_show(workspace: str | None, trust_workspace: bool, as_json: bool) -> None:
    """Print every setting with the place its value came from (secrets masked).

    Values of the workspace's allos.toml that are not used are listed too, with the reason and
    what to do instead.
    """
    from allos_core.config import resolve_settings

    with handle_errors():
        settings = resolve_settings(workspace or Path.cwd(), trust_workspace=trust_workspace)
    if as_json:
        click.echo(json.dumps(settings.to_dict(), indent=2))
        return
    from rich.table import Table

    from allos_core.cli.ui import out_console
    from allos_core.terminal import safe_markup

    title = "Allos configuration"
    if settings.workspace is not None:
        title += f" · workspace {settings.workspace}"
    table = Table(title=safe_markup(title), title_justify="left")
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")
    for key, value, source in settings.describe():
        style = "dim" if source == "default" else "yellow" if source.startswith("ignored") else ""
        table.add_row(safe_markup(key), safe_markup(value), safe_markup(source), style=style)
    console = out_console()
    console.print(table)
    warnings = settings.warnings()
    if warnings:
        console.print("\nIgnored from the workspace file:")
        for level, message in warnings:
            console.print(f"  {safe_markup(level)}: {safe_markup(message)}", soft_wrap=True)


@config.command("path")
@_WORKSPACE
def config_path(workspace: str | None) -> None:
    """Print the locations of the config files (and whether each exists)."""
    import os

    from allos_core.config import CONFIG_FILE_ENV, user_config_path, workspace_config_path

    user = user_config_path()
    note = f" (from {CONFIG_FILE_ENV})" if os.environ.get(CONFIG_FILE_ENV) else ""
    for label, path in (
        ("user", user),
        ("workspace", workspace_config_path(workspace or Path.cwd())),
    ):
        state = "exists" if path.is_file() else "not found"
        click.echo(f"{label}: {path} ({state}){note if label == 'user' else ''}")
