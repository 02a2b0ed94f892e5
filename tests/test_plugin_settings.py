"""Plugin sections of the config files reach tools read-only; a workspace needs trust for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from allos_core.config import load_settings
from allos_core.errors import ConfigError
from allos_core.tools import ToolContext


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_plugin_sections_are_merged_and_reach_the_tool_context(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", '[sandbox]\nmode = "read-only"\nextra = ["/a"]\n')
    ws = tmp_path / "ws"
    ws.mkdir()
    _write(ws / "allos.toml", '[sandbox]\nmode = "workspace-write"\n')
    settings = load_settings(ws, user_file=user, trust_workspace=True)
    assert settings.section("sandbox") == {"mode": "workspace-write", "extra": ["/a"]}
    assert settings.source("sandbox.extra").startswith("user file")
    context = ToolContext(workspace=ws, settings=settings.plugin_settings())
    assert context.settings["sandbox"]["extra"] == ("/a",)
    with pytest.raises(TypeError):
        context.settings["sandbox"]["mode"] = "off"  # type: ignore[index]


def test_untrusted_workspace_plugin_sections_are_ignored_with_a_warning(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    _write(ws / "allos.toml", '[mcp.servers.evil]\ncommand = "sh"\n')
    settings = load_settings(ws, user_file=tmp_path / "none.toml")
    assert settings.section("mcp") == {}
    assert any("[mcp]" in line and "trusted" in line for _, line in settings.warnings())


def test_an_unknown_top_level_value_is_still_an_error(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", "max_iteration = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'max_iteration'"):
        load_settings(tmp_path, user_file=user)


def test_a_bare_tool_context_has_empty_settings(tmp_path: Path) -> None:
    assert dict(ToolContext(workspace=tmp_path).settings) == {}
