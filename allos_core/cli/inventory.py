"""``allos plugins list``, ``allos providers list``, ``allos tools list`` and ``--version``."""

from __future__ import annotations

import json
import sys
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
    """List plugins: distribution, version, group, what each registers, status."""
    manager = _manager()
    infos = manager.plugins()
    if as_json:
        data = {"plugins": [i.to_dict() for i in infos], "conflicts": manager.conflicts}
        click.echo(json.dumps(data, indent=2))
        return
    # Text objects, not markup strings: no markup parsing (and no rich.markup import) on this path
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Allos plugins", title_justify="left")
    for column in ("plugin", "distribution", "version", "group", "registers", "status"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failed": "red", "conflict": "yellow", "disabled": "dim"}
    for info in infos:
        registers = ", ".join(
            [f"provider {p}" for p in info.providers]
            + [f"tool {t}" for t in info.tools]
            + [f"command {c}" for c in info.commands]
            + [f"batch backend {b}" for b in info.batch_backends]
        )
        status = Text(info.status, style=colours.get(info.status, "white"))
        if info.error:
            status.append("\n" + info.error, style="dim")
        table.add_row(
            Text(info.name),
            Text(info.distribution or "-"),
            Text(info.version or "-"),
            Text(info.group),
            Text(registers or "-"),
            status,
        )
    console = out_console()
    console.print(table)
    for conflict in manager.conflicts:
        console.print(Text.assemble(("conflict: ", "yellow"), conflict))
    if verbose:
        for info in infos:
            if info.traceback:
                console.print(Text.assemble("\n", (info.name, "bold"), " traceback:"))
                console.print(Text(info.traceback), end="")


@click.group()
def providers() -> None:
    """Inspect model providers."""


@providers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable keys, for scripts.")
def providers_list(as_json: bool) -> None:
    """List providers with their default model and whether each is configured."""
    manager = _manager()
    rows = []
    for name, cls in sorted(manager.providers().items()):
        try:
            status = cls.status()
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
        click.echo(json.dumps({"providers": rows}, indent=2))
        _print_conflicts(manager)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Allos providers", title_justify="left")
    for column in ("provider", "default model", "configured", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = "[green]yes[/]" if row["configured"] else "[yellow]no[/]"
        table.add_row(
            row["name"],
            escape(str(row["default_model"] or "-")),
            f"{mark} [dim]{escape(row['detail'])}[/]",
            escape(row["description"] or ""),
        )
    out_console().print(table)
    _print_conflicts(manager)


@click.group()
def tools() -> None:
    """Inspect tools."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with each tool's schema).")
def tools_list(as_json: bool) -> None:
    """List tools with their description, default permission and argument schema."""
    manager = _manager()
    rows = []
    for name, tool in sorted(manager.tools().items()):
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
        click.echo(json.dumps({"tools": rows}, indent=2))
        _print_conflicts(manager)
        return
    from rich.markup import escape
    from rich.table import Table

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
            escape(args),
            escape(first_sentence(row["description"])),
        )
    out_console().print(table)
    _print_conflicts(manager)


def _print_conflicts(manager: Any) -> None:
    if manager.conflicts:
        from rich.markup import escape

        from allos_core.cli.ui import err_console

        for conflict in manager.conflicts:
            err_console().print(f"[yellow]conflict:[/] {escape(conflict)}")
    failed = [i for i in manager.infos if i.status == "failed"]
    for info in failed:
        print(f"warning: plugin {info.name} failed to load: {info.error}", file=sys.stderr)
