"""Fixtures for the allos-shell tests: the tool as the agent gets it, and a workspace."""

from __future__ import annotations

import os
from pathlib import Path

import allos_shell
import pytest

from allos_core.plugins import create_plugin_manager
from allos_core.tools import Tool, ToolContext


@pytest.fixture(autouse=True)
def _no_plugin_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALLOS_PLUGINS", "ALLOS_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def manager():
    """A plugin manager holding only this plugin (no entry-point discovery)."""
    return create_plugin_manager([allos_shell])


@pytest.fixture
def shell(manager) -> Tool:
    """The ``shell_exec`` tool, fetched the way the agent fetches tools."""
    return manager.get_tool("shell_exec")


@pytest.fixture
def context(tmp_path: Path) -> ToolContext:
    return ToolContext(workspace=tmp_path)


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    stat_file = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            stat = stat_file.read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False
        return stat[stat.rfind(")") + 2] not in "ZX"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def is_running():
    """:func:`process_running`, as a fixture (test modules cannot import conftest by name)."""
    return process_running
