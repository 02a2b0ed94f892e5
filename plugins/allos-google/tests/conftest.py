"""Fixtures: a validating fake Gemini server and providers pointed at it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from allos_google.provider import GoogleProvider
from fakes.google_server import FakeGoogleServer

API_KEY = "AIza-test-0123456789"

_ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_HTTP_CLIENT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's Google variables must not leak into the tests."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


class SleepRecorder:
    """Stands in for asyncio.sleep in the retry loop: records delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def server() -> Iterator[FakeGoogleServer]:
    with FakeGoogleServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def make_provider(server: FakeGoogleServer) -> AsyncIterator[Callable[..., GoogleProvider]]:
    """Build providers against the fake server; each records its back-off in ``.sleeps``."""
    made: list[GoogleProvider] = []

    def make(**options: Any) -> GoogleProvider:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", server.base_url)
        options.setdefault("max_retries", 0)
        options.setdefault("retry_base_delay", 0)
        provider = GoogleProvider(**options)
        provider.sleeps = SleepRecorder()  # type: ignore[attr-defined]
        provider.sleep = provider.sleeps  # type: ignore[attr-defined]
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(make_provider) -> GoogleProvider:
    return make_provider()
