"""Fixtures for the allos-ollama tests: a fake Ollama server and providers pointed at it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from allos_ollama.provider import OllamaProvider
from fakes.ollama_server import FakeOllamaServer


@pytest.fixture(autouse=True)
def _no_ollama_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's OLLAMA_HOST / OLLAMA_API_KEY must not leak into the tests."""
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as fake:
        yield fake


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SleepRecorder:
    """Stands in for asyncio.sleep in the retry loop: records delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def make_provider(
    server: FakeOllamaServer,
) -> AsyncIterator[Callable[..., OllamaProvider]]:
    """Build providers against the fake server; each records its back-off in ``.sleeps``."""
    built: list[OllamaProvider] = []

    def make(model: str = "llama3.2", **options: Any) -> OllamaProvider:
        options.setdefault("base_url", server.base_url)
        options.setdefault("retry_base_delay", 0)
        provider = OllamaProvider(model, **options)
        provider.sleeps = SleepRecorder()  # type: ignore[attr-defined]
        provider.sleep = provider.sleeps  # type: ignore[attr-defined]
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()
