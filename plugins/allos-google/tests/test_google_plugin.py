"""The plugin: cheap to import, discovered by entry point, knows its models offline."""

from __future__ import annotations

import subprocess
import sys

from allos_google.models import context_window
from allos_google.provider import GoogleProvider

from allos_core.plugins import create_plugin_manager


def test_import_and_construction_do_not_import_the_sdk():
    code = (
        "import sys, allos_google, allos_google.provider\n"
        "[cls] = allos_google.allos_providers()\n"
        "p = cls(api_key='k')\n"
        "p.status(); p.count_tokens([])\n"
        "print(cls.name, 'google.genai' in sys.modules, 'httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["google", "False", "False"]


def test_discovered_by_entry_point():
    manager = create_plugin_manager()
    assert manager.providers()["google"] is GoogleProvider
    [info] = [i for i in manager.plugins() if i.name == "google"]
    assert info.status == "ok" and info.distribution == "allos-google"


def test_status_never_shows_the_key(monkeypatch):
    status = GoogleProvider.status()
    assert not status.configured and "GEMINI_API_KEY" in status.detail
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-SECRET")
    status = GoogleProvider.status()
    assert status.configured and "SECRET" not in status.detail
    assert "SECRET" not in repr(GoogleProvider(api_key="AIza-SECRET"))


def test_known_context_windows():
    assert context_window("gemini-2.5-pro") == 1_048_576
    assert context_window("models/gemini-3.8-flash") == 1_048_576
    assert context_window("gemini-1.5-pro-002") == 2_097_152
    assert context_window("gemma-3-27b-it") == 131_072
    assert context_window("someone-elses-model") is None
