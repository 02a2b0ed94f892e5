"""allos-anthropic passes the provider conformance kit against the fake Anthropic server."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.anthropic_server import FakeAnthropicServer

from allos_core.testing import ProviderConformance


class AnthropicScript:
    """The kit's ScriptedServer, in the Messages API wire format."""

    def __init__(self, server: FakeAnthropicServer) -> None:
        self.server = server

    @staticmethod
    def _usage(usage: tuple[int, int]) -> dict[str, int]:
        return {"input_tokens": usage[0], "output_tokens": usage[1]}

    def queue_text(self, text: str, *, usage: tuple[int, int]) -> None:
        self.server.queue_text(text, usage=self._usage(usage))

    def queue_tool_calls(
        self, calls: list[tuple[str, dict[str, Any]]], *, usage: tuple[int, int]
    ) -> None:
        specs = [{"name": name, "arguments": arguments} for name, arguments in calls]
        self.server.queue_tool_calls(specs, usage=self._usage(usage))

    def queue_error(self, status: int) -> None:
        self.server.queue_error(status)

    def last_tool_results(self) -> list[str]:
        found = []
        for message in self.server.message_bodies[-1]["messages"]:
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_result":
                    found.append(str(block.get("content")))
        return found


class TestAnthropicConforms(ProviderConformance):
    @pytest.fixture
    def conformance_provider(self, make_provider):
        return make_provider(max_retries=0)

    @pytest.fixture
    def conformance_server(self, server):
        return AnthropicScript(server)
