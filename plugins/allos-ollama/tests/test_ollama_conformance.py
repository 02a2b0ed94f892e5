"""allos-ollama passes the provider conformance kit against the fake Ollama server."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.ollama_server import FakeOllamaServer

from allos_core.testing import ProviderConformance


class OllamaScript:
    """The kit's ScriptedServer, in Ollama's /api/chat wire format."""

    def __init__(self, server: FakeOllamaServer) -> None:
        self.server = server

    def queue_text(self, text: str, *, usage: tuple[int, int]) -> None:
        self.server.queue_text(text, usage=usage)

    def queue_tool_calls(
        self, calls: list[tuple[str, dict[str, Any]]], *, usage: tuple[int, int]
    ) -> None:
        self.server.queue_tool_calls(list(calls), usage=usage)

    def queue_error(self, status: int) -> None:
        self.server.queue_error(status)

    def last_tool_results(self) -> list[str]:
        messages = self.server.chat_requests[-1]["messages"]
        return [str(m.get("content")) for m in messages if m.get("role") == "tool"]


class TestOllamaConforms(ProviderConformance):
    @pytest.fixture
    def conformance_provider(self, make_provider):
        return make_provider(max_retries=0)

    @pytest.fixture
    def conformance_server(self, server):
        return OllamaScript(server)
