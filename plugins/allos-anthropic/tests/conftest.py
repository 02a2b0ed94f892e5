"""Fixtures: a validating fake Anthropic server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allos_anthropic.provider import AnthropicProvider
from fakes.anthropic_server import FakeAnthropicServer

API_KEY = "sk-ant-test-0123456789"

_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_CONFIG_DIR",
    "ANTHROPIC_CUSTOM_HEADERS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "no-anthropic-config"))


@pytest.fixture
def api_key() -> str:
    """The dummy key the fake server accepts."""
    return API_KEY


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
async def make_provider(server: FakeAnthropicServer):
    made: list[AnthropicProvider] = []

    def make(**options: Any) -> AnthropicProvider:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", server.base_url)
        options.setdefault("max_retries", 0)
        provider = AnthropicProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(make_provider) -> AnthropicProvider:
    return make_provider()
