"""``allos plugins list``, ``allos providers list``, ``allos tools list`` and ``--version``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from allos_core.cli.ui import first_sentence, out_console


def _manager() -> Any:
    from allos_core.plugins import create_plugin_manager

    return create_plugin_manager()


def version_lines() -> list[str]:
    import allos_core

    lines = [f"allos-core {allos_core.__version__}"]
    seen = set()
    for info in _manager().infos:
        if (
            info.distribution
            and info.distribution != "allos-core"
            and info.distribution not in seen
        ):
            seen.add(info.distribution)
            lines.append(f"{info.distribution} {info.version or '?'}")
    return lines


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable keys, for scripts.")
@click.option("-v", "--verbose", is_flag=True, help="Show the traceback of failed plugins.")
def plugins_list(as_json: bool, verbose: bool) -> None:
    """List plugins: distribution and version, group, the hooks each implements, status."""
    manager = _manager()
    infos = manager.plugins()
    if as_json:
        import json

        data = {"plugins": [i.to_dict() for i in infos], "conflicts": manager.conflicts}
        click.echo(json.dumps(data, indent=2))
        return
    from allos_core.cli.plugin_table import printable, table_lines, terminal_width, wants_colour

    colour = wants_colour()
    for line in table_lines(infos, terminal_width(), colour=colour):
        click.echo(line, color=colour)
    notes = [f"{i.name} {i.status}: {i.error}" for i in infos if i.error and i.status != "conflict"]
    notes += [f"conflict: {conflict}" for conflict in manager.conflicts]
    if notes:
        click.echo("")
    for note in notes:
        click.echo(printable(note))
    if verbose:
        for info in infos:
            if info.traceback:
                click.echo(f"\n{printable(info.name)} traceback:")
                click.echo(printable(info.traceback), nl=False)


def _configured_options() -> dict[str, dict]:
    """Each provider's options from the config files and .env keys here (empty if unreadable)."""
    try:
        from allos_core.config import resolve_settings

        settings = resolve_settings(Path.cwd())
    except Exception:  # a broken config file is reported by the commands that use it
        return {}
    return {name: settings.provider_options(name) for name in settings.providers}


@click.group()
def providers() -> None:
    """Inspect model providers."""


@providers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable keys, for scripts.")
def providers_list(as_json: bool) -> None:
    """List providers with their default model and whether each is configured."""
    manager = _manager()
    configured_options = _configured_options()
    rows = []
    for name, cls in sorted(manager.providers().items()):
        try:
            status = cls.status(**configured_options.get(name, {}))
            configured, detail = status.configured, status.detail
        except Exception as exc:  # a broken status check must not hide the others
            configured, detail = False, f"status check failed: {exc}"
        rows.append(
            {
                "name": name,
                "default_model": getattr(cls, "default_model", None),
                "description": getattr(cls, "description", ""),
                "configured": configured,
                "detail": detail,
            }
        )
    if as_json:
        import json

        click.echo(json.dumps({"providers": rows}, indent=2))
        _print_conflicts(manager)
        return
    from rich.table import Table

    from allos_core.terminal import safe_markup

    table = Table(title="Allos providers", title_justify="left")
    for column in ("provider", "default model", "configured", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = "[green]yes[/]" if row["configured"] else "[yellow]no[/]"
        table.add_row(
            row["name"],
            safe_markup(str(row["default_model"] or "-")),
            f"{mark} [dim]{safe_markup(row['detail'])}[/]",
            safe_markup(row["description"] or ""),
        )
    out_console().print(table)
    _print_conflicts(manager)


@click.group()
def tools() -> None:
    """Inspect tools."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with each tool's schema).")
def tools_list(as_json: bool) -> None:
    """List tools with their description, default permission and argument schema.

    Tools of configured tool sources (MCP servers, ...) are included: the sources are started
    for the listing and stopped after it.
    """
    manager = _manager()
    rows = []
    for name, tool in sorted({**manager.tools(), **_source_tools(manager)}.items()):
        try:
            schema = tool.parameters_schema()
        except Exception as exc:
            schema = {"error": f"schema failed: {exc}"}
        rows.append(
            {
                "name": name,
                "description": tool.description,
                "read_only": tool.read_only,
                "default_permission": tool.default_permission,
                "parameters": schema,
            }
        )
    if as_json:
        import json

        click.echo(json.dumps({"tools": rows}, indent=2))
        _print_conflicts(manager)
        return
    from rich.table import Table

    from allos_core.terminal import safe_markup

    table = Table(title="Allos tools", title_justify="left")
    for column in ("tool", "permission", "arguments", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        props = row["parameters"].get("properties", {})
        required = set(row["parameters"].get("required", []))
        args = ", ".join(p if p in required else f"{p}?" for p in props)
        table.add_row(
            row["name"],
            row["default_permission"],
            safe_markup(args),
            safe_markup(first_sentence(row["description"])),
        )
    out_console().print(table)
    _print_conflicts(manager)


def _source_tools(manager: Any) -> dict[str, Any]:
    """The tools of the configured tool sources; a failing source is one warning line."""
    from allos_core.tool_sources import configured_tool_sources, list_source_tools

    sources = configured_tool_sources(manager)
    if not sources:
        return {}
    from allos_core.cli.ui import print_warning

    def failed(source: Any, error: str) -> None:
        print_warning("warning", f"tool source {source.name}: {error}")

    tools, _statuses = list_source_tools(sources, on_failure=failed)
    return tools


def _print_conflicts(manager: Any) -> None:
    if manager.conflicts:
        from allos_core.cli.ui import err_console
        from allos_core.terminal import safe_markup

        for conflict in manager.conflicts:
            err_console().print(f"[yellow]conflict:[/] {safe_markup(conflict)}")
    failed = [i for i in manager.infos if i.status == "failed"]
    for info in failed:
        from allos_core.terminal import neutralise

        message = f"warning: plugin {info.name} failed to load: {info.error}"
        print(neutralise(message), file=sys.stderr)
