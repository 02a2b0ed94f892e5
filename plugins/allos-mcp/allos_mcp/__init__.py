"""allos-mcp: tools from any MCP server, and Allos's own tools served over MCP.

Configure servers in ``allos.toml`` / the user config (``[mcp.servers.NAME]``) or the project's
``.mcp.json``; their tools appear as ``mcp__SERVER__TOOL``. In a program::

    from allos_core.agent import Agent
    from allos_mcp import mcp_servers

    agent = Agent("openai", tool_sources=mcp_servers({"time": {"command": "mcp-server-time"}}))

Importing this module is cheap: the MCP SDK loads only when a server starts or a command runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from allos_mcp.source import McpServerSource

__version__ = "0.1.0"
__all__ = ["__version__", "mcp_servers"]


def mcp_servers(
    servers: Mapping[str, Mapping[str, Any]], *, workspace: str | Path | None = None
) -> list[McpServerSource]:
    """Tool sources for ``Agent(tool_sources=...)`` from ``{"NAME": {"command": ...}}`` entries.

    Each entry takes the keys of a ``[mcp.servers.NAME]`` table (``command``, ``args``, ``env``,
    ``cwd``, ``url``, ``headers``, ``enabled``, ``startup_timeout``). Raises
    :class:`~allos_core.errors.ConfigError` for an invalid entry.
    """
    from allos_core.errors import ConfigError
    from allos_mcp.config import parse_server
    from allos_mcp.source import McpServerSource

    sources = []
    for name, entry in servers.items():
        config = parse_server(str(name), entry, f"mcp_servers[{name!r}]")
        if config.problem:
            raise ConfigError(config.problem, hint="see the allos-mcp README for the keys")
        if config.enabled:
            sources.append(McpServerSource(config, workspace))
    return sources


@hookimpl
def allos_tool_sources(
    settings: Mapping[str, Any], workspace: Path, workspace_trusted: bool
) -> list[Any]:
    """A source per enabled server of ``[mcp.servers.*]`` and (trusted workspaces) ``.mcp.json``."""
    from allos_mcp.config import configured_servers
    from allos_mcp.notices import NoticeSource
    from allos_mcp.source import McpServerSource

    servers, warnings = configured_servers(settings, workspace, workspace_trusted=workspace_trusted)
    sources: list[Any] = [McpServerSource(s, workspace) for s in servers if s.enabled]
    if warnings:
        sources.insert(0, NoticeSource(warnings))
    return sources


@hookimpl
def allos_check_permission(tool: Any) -> Any:
    """Ask, saying why, before a tool its MCP server marks as destructive."""
    inner = getattr(tool, "inner", tool)
    if not getattr(inner, "destructive", False) or not hasattr(inner, "definition"):
        return None
    from allos_core.permissions import PermissionDecision

    server = getattr(getattr(inner, "source", None), "name", "?")
    return PermissionDecision(
        "ask", f"the MCP server {server} marks {inner.name} as destructive", "allos-mcp"
    )


@hookimpl
def allos_cli_commands() -> list[Any]:
    """``allos mcp list | tools NAME | serve``."""
    from allos_mcp.cli import mcp

    return [mcp]
