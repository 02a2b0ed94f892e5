"""Which MCP servers are configured: ``[mcp.servers.NAME]`` tables and the project's ``.mcp.json``.

::

    [mcp]
    startup_timeout = 30                 # seconds, for every server (default 30)
    call_timeout = 300                   # seconds a tool call may take (default 300)

    [mcp.servers.time]                   # a stdio server: a program Allos starts
    command = "mcp-server-time"
    args = ["--local-timezone", "UTC"]
    env = { TZ = "UTC" }
    cwd = "/somewhere"                   # default: the workspace


    [mcp.servers.tracker]                # a streamable HTTP server
    url = "https://mcp.example.com/mcp"
    headers = { Authorization = "Bearer ${TRACKER_TOKEN}" }
    enabled = false                      # configured, but off

``${VAR}`` (and ``${VAR:-default}``) in ``args``, ``env``, ``url`` and ``headers`` is replaced by
the environment variable, so secrets stay out of files; an unset variable without a default makes
that server fail with a message naming it.

``.mcp.json`` in the workspace (``{"mcpServers": {"NAME": {...}}}``, the format other agents use)
is read too. It comes with the project, and a server starts a program on the user's machine, so
it is used only when the workspace is trusted (like the workspace's ``allow`` rules); otherwise
its servers are ignored with a warning. A ``[mcp.servers.NAME]`` table wins over a ``.mcp.json``
server of the same name.

This module imports neither the MCP SDK nor pydantic: listing configuration stays cheap.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allos_core.errors import ConfigError

#: the project file other agents read MCP servers from
MCP_JSON = ".mcp.json"
DEFAULT_STARTUP_TIMEOUT = 30.0
#: seconds a tool call may take before it is given up (an error result; the server lives on)
DEFAULT_CALL_TIMEOUT = 300.0
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_STDIO_KEYS = {"command", "args", "env", "cwd"}
_HTTP_KEYS = {"url", "headers"}
_COMMON_KEYS = {"enabled", "startup_timeout", "call_timeout", "type", "transport", "description"}


@dataclass
class ServerConfig:
    """One configured MCP server (values as written: ``${VAR}`` not yet expanded)."""

    name: str
    transport: str  # "stdio" | "http"
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    startup_timeout: float | None = None
    call_timeout: float | None = None
    #: where it was configured (``config [mcp.servers.time]``, ``/repo/.mcp.json``)
    origin: str = ""
    #: why it cannot be used (invalid entry, untrusted workspace), or None
    problem: str | None = None

    @property
    def target(self) -> str:
        """What it runs or reaches, for listings (the command line or the URL)."""
        if self.transport == "http":
            return self.url or ""
        return " ".join([self.command or "", *self.args]).strip()

    def expanded(self, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """A copy with ``${VAR}`` replaced; raises ConfigError naming an unset variable."""
        environ = os.environ if environ is None else environ

        def expand(text: str) -> str:
            def value(match: re.Match[str]) -> str:
                name, default = match.group(1), match.group(2)
                if name in environ:
                    return environ[name]
                if default is not None:
                    return default
                raise ConfigError(
                    f"MCP server {self.name}: the environment variable {name} is not set",
                    hint=f"set {name}, or change ${{{name}}} in {self.origin or 'its configuration'}",
                )

            return _VAR.sub(value, text)

        return ServerConfig(
            name=self.name,
            transport=self.transport,
            command=self.command,
            args=[expand(a) for a in self.args],
            env={k: expand(v) for k, v in self.env.items()},
            cwd=self.cwd,
            url=expand(self.url) if self.url else None,
            headers={k: expand(v) for k, v in self.headers.items()},
            enabled=self.enabled,
            startup_timeout=self.startup_timeout,
            call_timeout=self.call_timeout,
            origin=self.origin,
            problem=self.problem,
        )


def parse_server(name: str, entry: Any, origin: str) -> ServerConfig:
    """One server entry checked; an invalid one comes back with ``problem`` set (never raises)."""
    config = ServerConfig(name=name, transport="stdio", origin=origin)
    try:
        _fill(config, entry)
    except (TypeError, ValueError) as exc:
        config.problem = f"invalid entry in {origin}: {exc}"
    return config


def _fill(config: ServerConfig, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise TypeError("expected a table with `command` or `url`")
    unknown = set(entry) - _STDIO_KEYS - _HTTP_KEYS - _COMMON_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    kind = str(entry.get("type") or entry.get("transport") or "")
    if kind == "sse":
        raise ValueError("the SSE transport is not supported; use the server's streamable HTTP URL")
    if kind not in ("", "stdio", "http", "streamable-http", "streamable_http"):
        raise ValueError(f"unknown transport {kind!r} (use stdio or http)")
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        raise ValueError("give either `command` (a program) or `url` (a streamable HTTP server)")
    config.enabled = _bool(entry.get("enabled", True), "enabled")
    if entry.get("startup_timeout") is not None:
        config.startup_timeout = _seconds(entry["startup_timeout"], "startup_timeout")
    if entry.get("call_timeout") is not None:
        config.call_timeout = _seconds(entry["call_timeout"], "call_timeout")
    if has_command:
        config.command = _text(entry["command"], "command")
        if not config.command:
            raise ValueError("`command` is empty")
        config.args = [_text(a, "args") for a in _list(entry.get("args", []), "args")]
        config.env = _table(entry.get("env", {}), "env")
        if entry.get("cwd") is not None:
            config.cwd = _text(entry["cwd"], "cwd")
        return
    config.transport = "http"
    config.url = _text(entry["url"], "url")
    if not config.url.startswith(("http://", "https://", "${")):
        raise ValueError("`url` must start with http:// or https://")
    config.headers = _table(entry.get("headers", {}), "headers")


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"`{key}` must be a positive number of seconds")
    return float(value)


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError(f"`{key}` must be text")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{key}` must be true or false")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"`{key}` must be a list")
    return list(value)


def _table(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"`{key}` must be a table of text values")
    return {str(k): _text(v, key) for k, v in value.items()}


def configured_servers(
    settings: Mapping[str, Any],
    workspace: Path,
    *,
    workspace_trusted: bool,
) -> tuple[list[ServerConfig], list[str]]:
    """Every configured server (enabled or not) and warnings (one line each).

    ``settings`` are the plugin settings (the core already left out an untrusted workspace's
    tables); ``.mcp.json`` is read only when ``workspace_trusted``.
    """
    warnings: list[str] = []
    servers: dict[str, ServerConfig] = {}
    for name, entry in _from_json(workspace, workspace_trusted, warnings).items():
        servers[name] = entry
    section = settings.get("mcp") or {}
    if not isinstance(section, Mapping):
        warnings.append("[mcp] must be a table; ignored")
        section = {}
    defaults = {}
    for key in ("startup_timeout", "call_timeout"):
        if section.get(key) is None:
            continue
        try:
            defaults[key] = _seconds(section[key], key)
        except ValueError as exc:
            warnings.append(f"[mcp] {exc}; ignored")
    tables = section.get("servers") or {}
    if not isinstance(tables, Mapping):
        warnings.append("[mcp.servers] must hold one table per server; ignored")
        tables = {}
    for name, entry in tables.items():
        servers[str(name)] = parse_server(str(name), entry, f"config [mcp.servers.{name}]")
    for server in servers.values():
        if server.startup_timeout is None:
            server.startup_timeout = defaults.get("startup_timeout")
        if server.call_timeout is None:
            server.call_timeout = defaults.get("call_timeout")
    return list(servers.values()), warnings


def _from_json(workspace: Path, trusted: bool, warnings: list[str]) -> dict[str, ServerConfig]:
    path = workspace / MCP_JSON
    if not path.is_file():
        return {}
    from allos_core.tools import ToolContext

    try:
        real = ToolContext(workspace=workspace).resolve_path(MCP_JSON)  # no link out of it
        data = json.loads(real.read_text(encoding="utf-8"))
    except Exception as exc:
        warnings.append(f"{path}: ignored: {exc}".splitlines()[0])
        return {}
    entries = data.get("mcpServers") if isinstance(data, Mapping) else None
    if not isinstance(entries, Mapping) or not entries:
        return {}
    if not trusted:
        names = ", ".join(sorted(str(n) for n in entries))
        warnings.append(
            f"{path}: ignored MCP servers {names}: the workspace is not trusted (a server starts "
            "a program on your machine); pass --trust-workspace, or add this folder to "
            "trusted_workspaces in your user config"
        )
        return {}
    return {str(n): parse_server(str(n), e, str(path)) for n, e in entries.items()}
