"""Shared helpers for the allos-fs tests: run a tool the way the agent does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allos_core.tools import Tool, ToolContext, ToolResult


async def _call(tool: Tool, workspace: Path, **arguments: Any) -> ToolResult:
    """Invoke ``tool`` with an arguments dict, as the agent loop does."""
    result = await tool.invoke(arguments, ToolContext(workspace=workspace))
    assert isinstance(result, ToolResult)
    return result


@pytest.fixture
def call():
    """``await call(tool, workspace, **arguments)`` -> the ToolResult the agent would get."""
    return _call


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """An empty workspace folder (with a sibling folder outside it available as tmp_path)."""
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder
