"""Which servers are configured: tables, .mcp.json (trust), ${VAR}, invalid entries."""

from __future__ import annotations

import json
import re

import allos_mcp
import pytest
from allos_mcp.config import configured_servers, parse_server
from allos_mcp.notices import NoticeSource
from allos_mcp.source import McpServerSource, server_prefix

from allos_core.errors import ConfigError


def settings(**servers):
    return {"mcp": {"servers": servers}}


def test_tables_give_stdio_and_http_servers_and_disabled_ones_stay_off(ws):
    # given one server of each kind and one disabled
    config = settings(
        time={"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]},
        remote={"url": "https://mcp.example.com/mcp", "headers": {"X-Key": "k"}},
        off={"command": "x", "enabled": False},
    )
    # when the plugin's hook builds sources
    sources = allos_mcp.allos_tool_sources(config, ws, False)
    # then the enabled ones are sources with their transports; the disabled one is not started
    assert [(s.name, s.kind) for s in sources] == [("time", "mcp stdio"), ("remote", "mcp http")]
    assert sources[0].config.target == "mcp-server-time --local-timezone UTC"


def test_an_untrusted_workspace_mcp_json_is_ignored_with_a_warning(ws):
    # given a project .mcp.json (from a cloned repository) and an untrusted workspace
    (ws / ".mcp.json").write_text(json.dumps({"mcpServers": {"evil": {"command": "rm"}}}))
    # when the hook builds sources
    sources = allos_mcp.allos_tool_sources({}, ws, False)
    # then nothing starts; one notice says why and how to trust
    assert len(sources) == 1 and isinstance(sources[0], NoticeSource)
    (line,) = sources[0].warnings
    assert "ignored MCP servers evil" in line and "--trust-workspace" in line


def test_a_trusted_workspace_mcp_json_is_used_and_a_table_of_the_same_name_wins(ws):
    (ws / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "git": {"command": "mcp-server-git", "args": ["-r", "."]},
                    "time": {"command": "old-time"},
                    "web": {"type": "http", "url": "http://127.0.0.1:1/mcp"},
                }
            }
        )
    )
    servers, warnings = configured_servers(
        settings(time={"command": "mcp-server-time"}), ws, workspace_trusted=True
    )
    by_name = {s.name: s for s in servers}
    assert warnings == []
    assert by_name["git"].command == "mcp-server-git"
    assert by_name["time"].command == "mcp-server-time"
    assert by_name["web"].transport == "http"


def test_a_mcp_json_linking_outside_the_workspace_is_refused(ws, tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"mcpServers": {"x": {"command": "x"}}}))
    (ws / ".mcp.json").symlink_to(outside)
    servers, warnings = configured_servers({}, ws, workspace_trusted=True)
    assert servers == []
    assert "outside the workspace" in warnings[0]


def test_variables_are_expanded_from_the_environment():
    config = parse_server(
        "t",
        {
            "url": "https://${HOST:-example.com}/mcp",
            "headers": {"Authorization": "Bearer ${TOKEN}"},
        },
        "test",
    )
    expanded = config.expanded({"TOKEN": "s3cret"})
    assert expanded.url == "https://example.com/mcp"
    assert expanded.headers == {"Authorization": "Bearer s3cret"}
    assert config.headers == {"Authorization": "Bearer ${TOKEN}"}  # the secret is not kept


def test_an_unset_variable_fails_that_server_naming_the_variable():
    config = parse_server("t", {"command": "srv", "env": {"KEY": "${MISSING_KEY}"}}, "cfg")
    with pytest.raises(ConfigError, match="MISSING_KEY is not set"):
        config.expanded({})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"command": "x", "url": "http://h"}, "either `command`"),
        ({}, "either `command`"),
        ({"url": "ftp://h"}, "http:// or https://"),
        ({"type": "sse", "url": "http://h/sse"}, "SSE transport is not supported"),
        ({"command": "x", "args": "not a list"}, "`args` must be a list"),
        ({"command": "x", "env": {"A": 1}}, "`env` must be text"),
        ({"command": "x", "startup_timeout": -1}, "positive number"),
        ({"command": "x", "comand": "typo"}, "unknown key 'comand'"),
        ("just text", "expected a table"),
    ],
)
def test_invalid_entries_are_reported_not_started(entry, message):
    config = parse_server("bad", entry, "config [mcp.servers.bad]")
    assert config.problem is not None and message in config.problem


def test_library_entries_raise_on_a_bad_entry():
    with pytest.raises(ConfigError, match="either `command`"):
        allos_mcp.mcp_servers({"bad": {}})


@pytest.mark.parametrize("name", ["time", "my server/with:odd chars", "x" * 80, "ünï"])
def test_server_prefixes_make_valid_tool_names(name):
    prefix = server_prefix(name)
    assert re.match(r"^[A-Za-z0-9_-]{1,40}$", prefix)
    assert prefix.startswith("mcp__") and prefix.endswith("__")


def test_default_timeouts_apply_to_every_server_unless_it_sets_its_own(ws):
    servers = {"a": {"command": "a"}, "b": {"command": "b", "call_timeout": 9}}
    config = {"mcp": {"startup_timeout": 5, "call_timeout": 60, "servers": servers}}
    a, b = allos_mcp.allos_tool_sources(config, ws, False)
    assert isinstance(a, McpServerSource) and a.start_timeout == 5
    assert (a.config.call_timeout, b.config.call_timeout) == (60, 9)


def test_an_invalid_default_timeout_is_a_warning(ws):
    config = {"mcp": {"call_timeout": "soon", "servers": {}}}
    (notice,) = allos_mcp.allos_tool_sources(config, ws, False)
    assert "call_timeout" in notice.warnings[0] and "ignored" in notice.warnings[0]
