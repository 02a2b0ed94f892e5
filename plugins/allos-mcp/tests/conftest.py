"""Shared fixtures for the allos-mcp tests: isolated user folders and logs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for mcp_test_support (import mode importlib)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every test away from the real user's config, sessions and logs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ALLOS_SESSIONS_DIR", str(home / "sessions"))
    monkeypatch.setenv("ALLOS_CONFIG_FILE", str(home / "config.toml"))
    monkeypatch.setenv("ALLOS_MCP_LOG_DIR", str(home / "mcp-logs"))
    for name in ("ALLOS_PLUGINS", "ALLOS_DISABLE_PLUGINS", "ALLOS_PROVIDER", "ALLOS_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def log_dir() -> Path:
    return Path(os.environ["ALLOS_MCP_LOG_DIR"])


@pytest.fixture
def user_config() -> Path:
    return Path(os.environ["ALLOS_CONFIG_FILE"])


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder
