"""``allos mcp list``, ``allos mcp tools NAME`` and ``allos mcp serve``.

Added to the ``allos`` command line by the ``allos_cli_commands`` hook. Imports click only; the
MCP SDK loads when a command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

_WORKSPACE = click.option(
    "--workspace",
    type=click.Path(exists=True, file_okay=False, resolve_path=True),
    metavar="DIR",
    help="The project folder (default: the current directory).",
)
_TRUST = click.option(
    "--trust-workspace",
    is_flag=True,
    help="Use the workspace's .mcp.json and [mcp] tables (ignored unless trusted).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")


@click.group("mcp")
def mcp() -> None:
    """Tools from MCP servers, and Allos's tools served over MCP.

    \b
    Configure servers in allos.toml or your user config:
      [mcp.servers.time]
      command = "mcp-server-time"
    or in the project's .mcp.json (used when the workspace is trusted).
    """


def _servers(workspace: str | None, trust: bool) -> tuple[list[Any], Path]:
    from allos_core.cli.ui import print_warning
    from allos_core.config import load_settings
    from allos_mcp.config import configured_servers

    root = Path(workspace or Path.cwd())
    settings = load_settings(root, trust_workspace=trust)
    for level, message in settings.warnings():
        print_warning(level, message)
    servers, warnings = configured_servers(
        settings.plugin_settings(), root, workspace_trusted=settings.workspace_trusted
    )
    for message in warnings:
        print_warning("warning", message)
    return servers, root


def _start(servers: list[Any], root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the enabled servers, list their tools, stop them: (sources, statuses) by name."""
    from allos_core.tool_sources import list_source_tools
    from allos_mcp.source import McpServerSource

    sources = {s.name: McpServerSource(s, root) for s in servers if s.enabled and not s.problem}
    _tools, statuses = list_source_tools(sources.values())
    return sources, {status.source.name: status for status in statuses}


@mcp.command("list")
@_JSON
@_WORKSPACE
@_TRUST
def list_servers(as_json: bool, workspace: str | None, trust_workspace: bool) -> None:
    """List configured servers: transport, status, tool count, error (servers are started)."""
    servers, root = _servers(workspace, trust_workspace)
    _sources, statuses = _start(servers, root)
    rows = []
    for server in servers:
        status = statuses.get(server.name)
        if server.problem:
            state, error = "invalid", server.problem
        elif not server.enabled:
            state, error = "disabled", None
        else:
            assert status is not None
            state = "ok" if status.state in ("running", "stopped") else "failed"
            error = status.error
        rows.append(
            {
                "name": server.name,
                "transport": server.transport,
                "target": server.target,
                "origin": server.origin,
                "status": state,
                "tools": len(status.tools) if status is not None else 0,
                "error": error,
            }
        )
    failed = any(row["status"] in ("failed", "invalid") for row in rows)
    if as_json:
        click.echo(json.dumps({"servers": rows}, indent=2))
        sys.exit(1 if failed else 0)
    if not rows:
        click.echo("No MCP servers configured. Add one to allos.toml, for example:")
        click.echo('  [mcp.servers.time]\n  command = "mcp-server-time"')
        return
    from rich.table import Table
    from rich.text import Text

    from allos_core.cli.ui import out_console

    table = Table(title="MCP servers", title_justify="left")
    for column in ("server", "transport", "status", "tools", "runs"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failed": "red", "invalid": "red", "disabled": "dim"}
    for row in rows:
        status_text = Text(row["status"], style=colours.get(row["status"], "white"))
        if row["error"]:
            status_text.append("\n" + _printable(row["error"]), style="dim")
        table.add_row(
            Text(_printable(row["name"])),
            Text(row["transport"]),
            status_text,
            Text(str(row["tools"])),
            Text(_printable(row["target"])),
        )
    out_console().print(table)
    if failed:
        sys.exit(1)


@mcp.command("tools")
@click.argument("name")
@_JSON
@_WORKSPACE
@_TRUST
def list_tools(name: str, as_json: bool, workspace: str | None, trust_workspace: bool) -> None:
    """List the tools of server NAME, with their descriptions and argument schemas."""
    from allos_core.cli.ui import print_error

    servers, root = _servers(workspace, trust_workspace)
    server = next((s for s in servers if s.name == name), None)
    if server is None:
        known = ", ".join(s.name for s in servers) or "none"
        print_error(f"no MCP server named {name!r} (configured: {known})", "see `allos mcp list`")
        sys.exit(1)
    if server.problem or not server.enabled:
        print_error(
            f"MCP server {name}: {server.problem or 'disabled (enabled = false)'}",
            "fix its entry in " + (server.origin or "your config"),
        )
        sys.exit(1)
    server.enabled = True
    _sources, statuses = _start([server], root)
    status = statuses[name]
    if status.state == "failed":
        print_error(f"MCP server {name} failed: {status.error}", None)
        sys.exit(1)
    source = _sources[name]
    rows = []
    for tool in source.definitions:
        annotations = tool.annotations
        rows.append(
            {
                "name": tool.name,
                "listed_as": next(
                    (t for t in status.tools if t.endswith(tool.name)), source.prefix + tool.name
                ),
                "description": tool.description or "",
                "read_only": bool(annotations and annotations.read_only_hint),
                "destructive": bool(annotations and annotations.destructive_hint),
                "input_schema": tool.input_schema,
            }
        )
    if as_json:
        click.echo(json.dumps({"server": name, "tools": rows}, indent=2))
        return
    from rich.text import Text

    from allos_core.cli.ui import out_console

    console = out_console()
    for row in rows:
        flags = "read-only" if row["read_only"] else "asks"
        if row["destructive"]:
            flags += ", destructive"
        console.print(Text.assemble((_printable(row["listed_as"]), "bold"), f"  ({flags})"))
        if row["description"]:
            console.print(Text("  " + _printable(row["description"]).replace("\n", "\n  ")))
        schema = json.dumps(row["input_schema"], indent=2, ensure_ascii=False)
        console.print(Text("  " + _printable(schema).replace("\n", "\n  "), style="dim"))


@mcp.command("serve")
@_WORKSPACE
@_TRUST
def serve(workspace: str | None, trust_workspace: bool) -> None:
    """Serve this installation's tools as an MCP server on stdin/stdout.

    The user's permission rules apply to every call; a call that would ask is refused (nobody
    can answer over MCP). For an MCP client such as Claude Desktop:

    \b
      {"mcpServers": {"allos": {"command": "allos", "args": ["mcp", "serve"]}}}
    """
    import anyio

    from allos_mcp.serve import build_tool_server, serve_stdio

    server = build_tool_server(Path(workspace or Path.cwd()), trust_workspace=trust_workspace)
    try:
        anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        sys.exit(130)


def _printable(text: str) -> str:
    """Text from a server or config file, safe for the terminal (newlines kept)."""
    from allos_core.terminal import neutralise

    return neutralise(str(text))
