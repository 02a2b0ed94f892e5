"""The plugin: cheap to import, discovered by entry point, knows its models offline."""

from __future__ import annotations

import subprocess
import sys

import allos_anthropic
import pytest
from allos_anthropic.provider import AnthropicProvider

from allos_core.messages import Message
from allos_core.plugins import create_plugin_manager


def test_import_does_not_import_the_sdk():
    code = (
        "import sys, allos_anthropic, allos_anthropic.provider\n"
        "[cls] = allos_anthropic.allos_providers()\n"
        "p = cls(api_key='sk-test')\n"
        "p.status(); p.count_tokens([])\n"
        "print(cls.name, 'anthropic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["anthropic", "False"]


def test_hook_returns_the_provider_class():
    assert allos_anthropic.allos_providers() == [AnthropicProvider]


def test_discovered_by_entry_point():
    manager = create_plugin_manager()
    assert manager.providers()["anthropic"] is AnthropicProvider
    [info] = [i for i in manager.plugins() if i.name == "anthropic"]
    assert info.status == "ok"
    assert info.distribution == "allos-anthropic"


def test_class_attributes():
    assert AnthropicProvider.name == "anthropic"
    assert AnthropicProvider.default_model.startswith("claude-")
    assert AnthropicProvider.api_key_env == "ANTHROPIC_API_KEY"
    assert AnthropicProvider.base_url_env == "ANTHROPIC_BASE_URL"
    assert AnthropicProvider.capabilities.streaming and AnthropicProvider.capabilities.tools


def test_status_never_shows_the_key(monkeypatch):
    status = AnthropicProvider.status()
    assert not status.configured and "ANTHROPIC_API_KEY" in status.detail
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-SECRET")
    status = AnthropicProvider.status()
    assert status.configured and "SECRET" not in status.detail
    assert AnthropicProvider.status(api_key="sk-x").configured
    assert "SECRET" not in repr(AnthropicProvider(api_key="sk-ant-SECRET"))


def test_base_url_default_and_env(monkeypatch):
    assert AnthropicProvider(api_key="k").base_url == "https://api.anthropic.com"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://proxy.local:8080/")
    assert AnthropicProvider(api_key="k").base_url == "http://proxy.local:8080"
    assert AnthropicProvider(api_key="k", base_url="http://x").base_url == "http://x"


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("claude-sonnet-5-5", 1_000_000),
        ("claude-opus-4-8", 1_000_000),
        ("claude-sonnet-4-6", 1_000_000),
        ("claude-sonnet-4-5-20250929", 200_000),
        ("claude-sonnet-4-20250514", 200_000),
        ("claude-haiku-4-5-20251001", 200_000),
        ("claude-3-5-haiku-latest", 200_000),
        ("my-local-model", None),
    ],
)
async def test_context_window(model, window):
    assert await AnthropicProvider(model, api_key="k").context_window() == window


def test_count_tokens_offline():
    messages = [Message.system("You are helpful."), Message.user("word " * 400)]
    old = AnthropicProvider("claude-sonnet-4-5", api_key="k").count_tokens(messages)
    new = AnthropicProvider("claude-sonnet-5-5", api_key="k").count_tokens(messages)
    assert 400 < old < 700
    assert new > old  # the newer tokenizer needs more tokens for the same text
