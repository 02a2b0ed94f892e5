"""allos-openai passes the provider conformance kit against the fake OpenAI server."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer

from allos_core.testing import ProviderConformance


class OpenAIScript:
    """The kit's ScriptedServer, in the Chat Completions wire format."""

    def __init__(self, server: FakeOpenAIServer) -> None:
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


class TestOpenAIConforms(ProviderConformance):
    @pytest.fixture
    def conformance_provider(self, make_provider):
        return make_provider(max_retries=0)

    @pytest.fixture
    def conformance_server(self, server):
        return OpenAIScript(server)
