"""Fixtures for the allos-ray tests: keep away from the real user's config and sessions."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ALLOS_SESSIONS_DIR", str(home / "sessions"))
    monkeypatch.setenv("ALLOS_CONFIG_FILE", str(home / "config.toml"))
    for name in ("ALLOS_PLUGINS", "ALLOS_DISABLE_PLUGINS", "ALLOS_PROVIDER", "ALLOS_MODEL"):
        monkeypatch.delenv(name, raising=False)
