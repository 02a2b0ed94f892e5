"""The plugin contract: cheap import, discovery, status, context windows, token counts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from allos_openai import models
from allos_openai.provider import OpenAIProvider
from allos_openai.urls import display_url, is_openai_host
from fakes.openai_server import FakeOpenAIServer

from allos_core.messages import Message
from allos_core.plugins import create_plugin_manager
from allos_core.providers import ModelRequest, ToolSchema, estimate_tokens


def test_importing_the_plugin_does_not_import_the_sdk():
    code = textwrap.dedent(
        """
        import sys
        import allos_openai
        (cls,) = allos_openai.allos_providers()
        provider = cls(api_key="sk-test")
        assert cls.status().configured is False
        assert "openai" not in sys.modules, sorted(m for m in sys.modules if "openai" in m)
        print("ok")
        """
    )
    env_free = {"PATH": "", "PYTHONNOUSERSITE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env_free
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_plugin_is_discovered_through_its_entry_point():
    manager = create_plugin_manager()

    providers = manager.providers()

    assert providers["openai"] is OpenAIProvider
    assert OpenAIProvider.name == "openai"
    assert OpenAIProvider.default_model.startswith("gpt-")


def test_status_without_key_says_what_to_set():
    status = OpenAIProvider.status()

    assert status.configured is False
    assert "OPENAI_API_KEY" in status.detail


def test_status_with_a_key_never_shows_it(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")

    status = OpenAIProvider.status()

    assert status.configured is True
    assert "sk-very" not in status.detail and "OPENAI_API_KEY" in status.detail
    assert OpenAIProvider.status(api_key="sk-config-secret").configured is True
    assert "secret" not in OpenAIProvider.status(api_key="sk-config-secret").detail


def test_status_for_a_local_compatible_server(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://admin:pw@localhost:1234/v1")

    status = OpenAIProvider.status()

    assert status.configured is True
    assert "localhost:1234" in status.detail and "pw" not in status.detail


def test_status_for_openai_itself_still_wants_a_key():
    assert OpenAIProvider.status(base_url="https://api.openai.com/v1").configured is False


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("gpt-4.1", 1_047_576),
        ("gpt-4.1-mini-2025-04-14", 1_047_576),
        ("gpt-4o", 128_000),
        ("openai/gpt-4o-mini", 128_000),
        ("gpt-5-mini", 400_000),
        ("gpt-5.4-mini", 400_000),
        ("gpt-5.5", 1_050_000),
        ("gpt-5-chat-latest", 128_000),
        ("o3-mini", 200_000),
        ("o4-mini-2025-04-16", 200_000),
        ("o1-mini", 128_000),
        ("gpt-3.5-turbo", 16_385),
        ("llama3.2", None),
        ("qwen2.5-coder:7b", None),
    ],
)
async def test_context_window_table(model, window):
    provider = OpenAIProvider(model, api_key="sk-test")

    assert await provider.context_window() == window


async def test_context_window_option_overrides_the_table():
    provider = OpenAIProvider(
        "llama3.2", base_url="http://localhost:8000/v1", context_window=32_768
    )

    assert await provider.context_window() == 32_768


def test_count_tokens_works_offline_without_tiktoken():
    provider = OpenAIProvider("gpt-4o", api_key="sk-test")
    messages = [Message.system("Be brief."), Message.user("Count the tokens of this sentence.")]
    tools = [ToolSchema("read_file", "Read a file.", {"type": "object"})]

    count = provider.count_tokens(messages, tools)

    assert count > 0
    if models._tiktoken_encoding("o200k_base") is None:  # tiktoken absent or not cached
        assert count == estimate_tokens(messages, tools)


def test_tiktoken_is_never_fetched_from_the_network(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # an empty cache
    models._tiktoken_encoding.cache_clear()
    try:
        assert models._tiktoken_encoding("o200k_base") is None
    finally:
        models._tiktoken_encoding.cache_clear()


def test_urls():
    assert is_openai_host("https://api.openai.com/v1")
    assert not is_openai_host("http://localhost:11434/v1")
    assert not is_openai_host("https://openrouter.ai/api/v1")
    assert (
        display_url("https://user:secret@example.com:8443/v1?key=abc")
        == "https://example.com:8443/v1"
    )


async def test_list_models(server, provider):
    assert await provider.list_models() == ["gpt-4.1", "gpt-5.4-mini"]


def test_a_provider_survives_a_new_event_loop():
    """``asyncio.run`` twice (a sync wrapper's pattern): the client is rebuilt for the new loop."""
    with FakeOpenAIServer() as local:
        provider = OpenAIProvider("local-model", base_url=local.openai_base_url, max_retries=0)
        request = ModelRequest([Message.user("hi")])
        first = asyncio.run(provider.complete(request))
        second = asyncio.run(provider.complete(request))

    assert first.message.text == second.message.text == local.default_text
