"""Fixtures: a validating fake OpenAI server on 127.0.0.1 and providers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer

API_KEY = "sk-test-not-a-real-key-1234"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real OpenAI settings."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_ADMIN_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api_key() -> str:
    """The key the fake server accepts (a dummy)."""
    return API_KEY


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=API_KEY) as fake:
        yield fake
    assert fake.rejections == [], f"the fake server rejected requests: {fake.rejections}"


@pytest.fixture
async def make_provider(server: FakeOpenAIServer):
    """Build an OpenAIProvider for the fake server (closed after the test)."""
    from allos_openai.provider import OpenAIProvider

    made: list[OpenAIProvider] = []

    def make(**options: Any) -> OpenAIProvider:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", server.openai_base_url)
        options.setdefault("max_retries", 0)
        provider = OpenAIProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(make_provider):
    return make_provider()
